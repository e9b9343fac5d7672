"""`chat-server admin` and `chat-server console`: the console, against a running server.

Both talk to the server's admin socket (`chat_srv.control`). `admin` runs one line
and prints its output: exit status 0, or 1 with the console's error message when
the command fails, or 2 when no server answers. `console` is the interactive
console of the server's own terminal (completion from the server, history, Ctrl-C
clears the line, Ctrl-D leaves), with the output drawn by the server for this
terminal's width.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import sys
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from chat_core import control as c
from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.streams import read_server_frame
from chat_srv.console.shell import history, read_line

OK, FAILED, NO_SERVER = 0, 1, 2  # exit statuses
CONNECT_TIMEOUT = 5.0  # seconds to reach the socket
ANSWER_TIMEOUT = 120.0  # seconds a command may take (a long `messages`, a shutdown)
WELCOME = "admin console of the server at {path}: type help; Ctrl-D leaves"
STOPPED = "server stopped"


class NoServer(Exception):
    """Nothing answers on the admin socket; the message says what was tried."""


class AdminLink:
    """One connection to a server's admin socket: requests in, replies out, in order."""

    def __init__(self, path: Path, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.path = path
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)

    @classmethod
    async def open(cls, path: Path) -> AdminLink:
        """Connect to the admin socket at `path`.

        Raises:
            NoServer: no socket there, or nobody listening on it.
        """
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_unix_connection(str(path))
        except FileNotFoundError:
            raise NoServer(f"no admin socket at {path}: is chat-server running?") from None
        except ConnectionRefusedError:
            raise NoServer(
                f"no server answers on {path} (a socket left by one that died)"
            ) from None
        except PermissionError:
            raise NoServer(f"not allowed to use {path}: run as the server's user") from None
        except (OSError, TimeoutError) as error:
            raise NoServer(f"cannot reach the server on {path}: {error}") from None
        return cls(path, reader, writer)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def ask(self, request: m.Request) -> m.RawReply:
        """Send a request and read its reply.

        Raises:
            NoServer: the server closed the socket (it stopped, perhaps by this request).
        """
        self._writer.write(m.encode(request))
        try:
            await self._writer.drain()
            async with asyncio.timeout(ANSWER_TIMEOUT):
                while True:
                    frame = await read_server_frame(self._reader)
                    if frame is None:
                        raise NoServer(f"the server closed {self.path}")
                    if isinstance(frame, m.RawReply):
                        return frame
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            raise NoServer(f"the server closed {self.path}: {error}") from None
        except TimeoutError:
            raise NoServer(f"no answer on {self.path} in {ANSWER_TIMEOUT:g} s") from None

    async def command(self, line: str, *, width: int, ansi: bool) -> list[str]:
        """The output of one console line.

        Raises:
            ProtocolError: the command failed (`bad_request`: the message holds the
                console's explanation and usage) or is not allowed (`forbidden`).
            NoServer: see `ask`.
        """
        request = c.Command(id=next(self._ids), line=line, width=width, ansi=ansi)
        return (await self.ask(request)).result(c.CommandOk).lines

    async def complete(self, line: str) -> list[c.Candidate]:
        """What Tab offers at the end of `line`."""
        reply = await self.ask(c.Complete(id=next(self._ids), line=line))
        return reply.result(c.CompleteOk).candidates


# -- chat-server admin ----------------------------------------------------------------


def run_command(socket_path: Path, line: str) -> int:
    """Run one console line on the server at `socket_path`; the exit status."""
    return asyncio.run(one_command(socket_path, line, sys.stdout, sys.stderr))


async def one_command(path: Path, line: str, out: TextIO, err: TextIO) -> int:
    """Run `line` on the server at `path`, output to `out`, trouble to `err`; the status."""
    try:
        link = await AdminLink.open(path)
    except NoServer as error:
        print(f"chat-server admin: {error}", file=err)
        return NO_SERVER
    terminal = out.isatty()
    try:
        lines = await link.command(line, width=_width(out), ansi=terminal)
    except ProtocolError as error:
        print(f"error: {error.message}", file=err)
        return FAILED
    except NoServer as error:
        if _is_shutdown(line):  # the server went away as asked, before it could answer
            print(STOPPED, file=out)
            return OK
        print(f"chat-server admin: {error}", file=err)
        return NO_SERVER
    finally:
        await link.close()
    for text in lines:
        print(text, file=out)
    return OK


def _is_shutdown(line: str) -> bool:
    return line.split() == ["shutdown"]


def _width(out: TextIO) -> int:
    if out.isatty():
        return max(20, min(1000, shutil.get_terminal_size().columns))
    return 100  # piped: a file or another program, not a screen


# -- chat-server console --------------------------------------------------------------


def run_console(socket_path: Path) -> int:
    """The interactive console on the server at `socket_path`; the exit status."""
    try:
        return asyncio.run(interactive(socket_path))
    except KeyboardInterrupt:  # Ctrl-C while a command ran: the server carries on
        return FAILED


async def interactive(path: Path) -> int:
    """Read lines, run them on the server, print their output, until Ctrl-D."""
    try:
        link = await AdminLink.open(path)
    except NoServer as error:
        print(f"chat-server console: {error}", file=sys.stderr)
        return NO_SERVER
    session: PromptSession[str] = PromptSession(
        history=history(), completer=_RemoteCompleter(link), complete_while_typing=False
    )
    print(WELCOME.format(path=path))
    try:
        while True:
            line = await read_line(session)
            if line is None:  # Ctrl-D
                return OK
            if not line.strip():
                continue
            try:
                lines = await link.command(line, width=_width(sys.stdout), ansi=True)
            except ProtocolError as error:
                lines = [_red("error: ") + error.message]
            except NoServer as error:
                if _is_shutdown(line):
                    print(STOPPED)
                    return OK
                print(f"chat-server console: {error}")
                return NO_SERVER
            _show(lines)
    finally:
        await link.close()


def _show(lines: Iterable[str]) -> None:
    for text in lines:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _red(text: str) -> str:
    return f"\x1b[1;31m{text}\x1b[0m"


class _RemoteCompleter(Completer):
    """Asks the server what Tab offers (the console's own `complete`)."""

    def __init__(self, link: AdminLink) -> None:
        self._link = link

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        return []  # only the asynchronous path is used (the prompt runs in a loop)

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        try:
            candidates = await self._link.complete(document.text_before_cursor)
        except (ProtocolError, NoServer):
            return
        for candidate in candidates:
            yield Completion(candidate.text, start_position=-candidate.replaces)
