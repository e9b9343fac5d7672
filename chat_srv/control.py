"""The admin socket: the console's language, for the operator, from another terminal.

A Unix socket (`--admin-socket`, by default `admin.sock` in the server's state
directory) made with mode 0600 in a directory of mode 0700: the file system's
permission is the authentication, so whoever can connect is the server's operator
and may run every command (`chat_srv.roles.ADMIN_SOCKET`). It speaks the chat
port's framing with the requests of `chat_core.control`: `command` runs one line
through the same `CommandLine` as the terminal, `complete` answers Tab.

At start, a socket file left by a server that died is replaced; one that a live
server answers on is refused, and so is a path that is not a socket at all. The
file is removed at shutdown, if it is still ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from chat_core import control as c
from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, FrameError, ProtocolError
from chat_core.framing import CLIENT_FRAME_LIMIT, FrameDecoder
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.console.completion import complete
from chat_srv.console.render import render_lines
from chat_srv.roles import ADMIN_SOCKET

if TYPE_CHECKING:
    from chat_srv.server import ChatServer

log = logging.getLogger(__name__)

_PROBE_TIMEOUT = 1.0  # seconds to wait for a live server on an existing socket
_READ_SIZE = 65536


class ControlSocketError(Exception):
    """The admin socket cannot be set up; the message says why and what to do."""


class ControlSocket:
    """The admin socket of a running server: `await start()`, then `await close()`."""

    def __init__(self, server: ChatServer, path: Path) -> None:
        self.path = path
        self._server = server
        self._listener: asyncio.AbstractServer | None = None
        self._inode: int | None = None  # of the socket file we made
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Make the socket file and listen on it.

        Raises:
            ControlSocketError: a live server answers there, the path is not a
                socket, or the file cannot be made.
        """
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise ControlSocketError(f"cannot make the folder of {self.path}: {error}") from None
        await self._clear_stale()
        # The mode is set by the umask at bind time: no moment where others may connect.
        umask = os.umask(0o177)
        try:
            self._listener = await asyncio.start_unix_server(self._serve, path=str(self.path))
        except OSError as error:
            raise ControlSocketError(f"cannot listen on {self.path}: {error}") from None
        finally:
            os.umask(umask)
        self._inode = self.path.stat().st_ino
        log.info("admin socket at %s", self.path)

    async def _clear_stale(self) -> None:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ControlSocketError(
                f"{self.path} exists and is not a socket: remove it or choose another"
                " --admin-socket"
            )
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT):
                _, writer = await asyncio.open_unix_connection(str(self.path))
        except (ConnectionRefusedError, FileNotFoundError, TimeoutError):
            log.info("replacing the stale admin socket %s", self.path)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        except OSError as error:
            raise ControlSocketError(f"cannot check {self.path}: {error}") from None
        writer.close()
        raise ControlSocketError(
            f"another chat-server answers on {self.path}: stop it first, or give this one"
            " another --admin-socket"
        )

    async def close(self) -> None:
        """Stop listening, close the connections, remove the file if it is still ours."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(OSError):
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        self._inode = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
        try:
            while data := await reader.read(_READ_SIZE):
                for payload in decoder.feed(data):
                    writer.write(m.encode(await self._answer(payload)))
                await writer.drain()
        except FrameError as error:
            goodbye = m.Disconnect(reason=DisconnectReason.PROTOCOL_ERROR, text=error.message)
            writer.write(m.encode(goodbye))
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, payload: bytes) -> m.Reply:
        try:
            request = c.decode_control_request(payload)
        except ProtocolError as error:
            return m.ErrorReply.from_exception(error)
        admin = Admin(self._server, ADMIN_SOCKET)
        if isinstance(request, c.Complete):
            found = complete(request.line, admin.user_names(), admin.room_names())
            candidates = [c.Candidate(text=f.text, replaces=f.replaces) for f in found]
            return c.CompleteOk(id=request.id, candidates=candidates)
        outcome = await CommandLine(admin).run(request.line)
        if outcome.failed:
            code = ErrorCode.FORBIDDEN if outcome.forbidden else ErrorCode.BAD_REQUEST
            return m.ErrorReply(id=request.id, code=code, message=outcome.explanation)
        lines = render_lines(outcome.shown, request.width, ansi=request.ansi)
        return c.CommandOk(id=request.id, lines=lines)
