"""The network client: requests as awaitables, events as an async iterator.

`ChatClient` knows sockets and `chat_core`, never widgets. One reader loop
(`events()`) owns the connection: it resolves each reply's future by `id` and yields
every event. When it ends, for whatever reason, every pending request fails with
`ConnectionError` at once and `lost` says why, so the caller can tell the user and
reconnect. Writing a request never waits for the reply to an earlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
import uuid
from collections.abc import AsyncGenerator
from typing import Any, TypeVar

from chat_core import messages as m
from chat_core.errors import FrameError, ProtocolError
from chat_core.streams import read_server_frame

log = logging.getLogger(__name__)

R = TypeVar("R", bound=m.Ok)

CONNECT_TIMEOUT = 10.0  # seconds to open the connection (and the TLS handshake)
PROBE_TIMEOUT = 3.0  # seconds for the TLS handshake of `speaks_tls`
REQUEST_TIMEOUT = 30.0  # seconds a reply may take before the request fails
PROTOCOL = 2  # the version said at login: presence comes merged
_MAX_ID = 2**31 - 1


def new_nonce() -> str:
    """A fresh nonce for `send` or `dm`: the same one on a resend makes it idempotent."""
    return uuid.uuid4().hex


class ChatClient:
    """One connection to a chat server.

    Call `connect()`, then iterate `events()` in a long-lived task (nothing is read
    otherwise), then make requests from anywhere. `close()` ends it all.

    Args:
        host: The server's name or address.
        port: Its TCP port.
        ssl_context: Wrap the connection in TLS with this context.
    """

    def __init__(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.lost: BaseException | None = None
        """Why the connection ended (None for a clean close by either side)."""
        self.closed = False
        """True once the connection has ended or `close()` was called."""
        self.goodbye: m.Disconnect | None = None
        """The server's `disconnect` event, if it sent one before closing."""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[m.RawReply]] = {}
        self._ids = itertools.count(1)

    @property
    def address(self) -> str:
        """`host:port`, as a user would type it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def connect(self) -> None:
        """Open the connection.

        Raises:
            OSError: the server cannot be reached (refused, unreachable, timeout, TLS).
        """
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                self._reader, self._writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.ssl_context,
                    server_hostname=self.host if self.ssl_context is not None else None,
                )
        except TimeoutError:
            raise OSError(f"no answer from {self.address}") from None
        sock = self._writer.get_extra_info("socket")
        if sock is not None:  # let the system notice a peer that vanished without a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    async def speaks_tls(self) -> bool:
        """Whether the server answers a TLS handshake (asked when a plain connection was
        closed before any answer: the usual sign of a TLS-only server)."""
        if self.ssl_context is not None:
            return False
        probe = ssl.create_default_context()
        probe.check_hostname = False
        probe.verify_mode = ssl.CERT_NONE  # only the handshake is of interest, not whose
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                _, writer = await asyncio.open_connection(self.host, self.port, ssl=probe)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def events(self) -> AsyncGenerator[m.Event, None]:
        """Read the connection until it ends, yielding events and resolving replies.

        Ends (rather than raising) when the connection is lost; `lost` says why and
        every request still waiting has failed with `ConnectionError`.
        """
        reader = self._reader
        if reader is None:
            raise RuntimeError("connect() first")
        try:
            while True:
                try:
                    frame = await read_server_frame(reader)
                except FrameError as error:
                    self.lost = error
                    break
                except ProtocolError as error:  # a frame from a newer server: skip it
                    log.warning("ignored a frame: %s", error.message)
                    continue
                except (OSError, EOFError) as error:
                    self.lost = error
                    break
                if frame is None:
                    break
                if isinstance(frame, m.RawReply):
                    self._resolve(frame)
                    continue
                if isinstance(frame, m.Disconnect):
                    self.goodbye = frame
                yield frame
        finally:
            await self._shut(ConnectionError("connection lost"))

    def _resolve(self, reply: m.RawReply) -> None:
        request_id = reply.id
        if request_id is None:
            # Replies come in request order: an error without an id answers the oldest.
            request_id = next(iter(self._pending), None)
        future = self._pending.pop(request_id, None) if request_id is not None else None
        if future is not None and not future.done():
            future.set_result(reply)

    def _next_id(self) -> int:
        request_id = next(self._ids)
        if request_id > _MAX_ID:
            self._ids = itertools.count(2)
            request_id = 1
        return request_id

    async def request(self, kind: type[m.Request], result: type[R], **fields: Any) -> R:
        """Send a request and wait for its reply.

        Args:
            kind: The request's type.
            result: The `ok` reply's type (see `chat_core.messages.RESULT_TYPES`).
            **fields: The request's fields.

        Raises:
            ProtocolError: the server answered with an error.
            ConnectionError: the connection is (or got) lost.
            TimeoutError: no reply in `REQUEST_TIMEOUT` seconds.
        """
        writer = self._writer
        if writer is None or self.closed:
            raise ConnectionError("not connected")
        request_id = self._next_id()
        future: asyncio.Future[m.RawReply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(m.encode(kind(id=request_id, **fields)))
            async with asyncio.timeout(REQUEST_TIMEOUT):
                await writer.drain()
                reply = await future
        except OSError as error:
            raise ConnectionError(str(error)) from error
        finally:
            self._pending.pop(request_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved, even when drain() failed first
        return reply.result(result)

    async def close(self) -> None:
        """Close the connection (idempotent); pending requests fail."""
        await self._shut(ConnectionError("connection closed"))

    async def _shut(self, error: ConnectionError) -> None:
        self.closed = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await writer.wait_closed()

    # -- typed requests ---------------------------------------------------------------

    async def register(self, user: str, password: str) -> m.LoginOk:
        """Create an account and log in (speaking version 2: presence comes merged)."""
        return await self.request(
            m.Register, m.LoginOk, user=user, password=password, protocol=PROTOCOL
        )

    async def login(
        self, user: str, password: str | None = None, *, token: str | None = None
    ) -> m.LoginOk:
        """Log in with the password, or with the token of an earlier login (version 2)."""
        secret = {"password": password} if token is None else {"token": token}
        return await self.request(m.Login, m.LoginOk, user=user, protocol=PROTOCOL, **secret)

    async def rooms(self) -> list[m.RoomInfo]:
        """Every room, with this user's state in each."""
        return (await self.request(m.ListRooms, m.RoomsOk)).rooms

    async def join(self, room: str) -> str:
        """Join a room or ask to; `member` or `pending`."""
        return (await self.request(m.Join, m.JoinOk, room=room)).state

    async def leave(self, room: str) -> None:
        """Leave a room (or withdraw a pending request)."""
        await self.request(m.Leave, m.Ok, room=room)

    async def send(
        self, room: str, body: str, nonce: str, *, reply_to: int | None = None, action: bool = False
    ) -> m.SentOk:
        """Post to a room (a reply to `reply_to`, a `/me` line if `action`); the nonce
        makes a resend idempotent."""
        fields = {"reply_to": reply_to, "action": action}  # left out when unset (version 1)
        return await self.request(m.Send, m.SentOk, room=room, body=body, nonce=nonce, **fields)

    async def dm(
        self, to: str, body: str, nonce: str, *, reply_to: int | None = None, action: bool = False
    ) -> m.SentOk:
        """Send a direct message (as `send`); the nonce makes a resend idempotent."""
        fields = {"reply_to": reply_to, "action": action}
        return await self.request(m.Dm, m.SentOk, to=to, body=body, nonce=nonce, **fields)

    async def edit(self, msg_id: int, body: str) -> int:
        """Replace the body of one's own message; the change's id."""
        return (await self.request(m.Edit, m.ChangedOk, msg_id=msg_id, body=body)).change_id

    async def delete(self, msg_id: int) -> int:
        """Delete a message; the change's id."""
        return (await self.request(m.Delete, m.ChangedOk, msg_id=msg_id)).change_id

    async def react(self, msg_id: int, emoji: str, *, on: bool) -> int:
        """Put a reaction on a message (`on`) or take it back; the change's id."""
        reply = await self.request(m.React, m.ChangedOk, msg_id=msg_id, emoji=emoji, on=on)
        return reply.change_id

    async def changes(self, since: int, limit: int = m.CHANGES_LIMIT_DEFAULT) -> m.ChangesOk:
        """A page of the changes to readable messages after `since`, oldest first."""
        return await self.request(m.Changes, m.ChangesOk, since=since, limit=limit)

    async def history(
        self,
        *,
        room: str | None = None,
        peer: str | None = None,
        before: int | None = None,
        after: int | None = None,
        limit: int = m.HISTORY_LIMIT_DEFAULT,
    ) -> m.HistoryOk:
        """A page of a room's (or a conversation's) messages, oldest first."""
        fields: dict[str, Any] = {"room": room, "peer": peer, "before": before, "after": after}
        given = {key: value for key, value in fields.items() if value is not None}
        return await self.request(m.History, m.HistoryOk, limit=limit, **given)

    async def search(
        self,
        query: str,
        *,
        room: str | None = None,
        peer: str | None = None,
        before: int | None = None,
        limit: int = m.SEARCH_LIMIT_DEFAULT,
    ) -> m.SearchOk:
        """A page of the readable messages that match `query`, newest first."""
        fields: dict[str, Any] = {"room": room, "peer": peer, "before": before}
        given = {key: value for key, value in fields.items() if value is not None}
        return await self.request(m.Search, m.SearchOk, query=query, limit=limit, **given)

    async def who(self, room: str | None = None) -> list[m.UserInfo]:
        """The members of a room, or every online user."""
        fields = {} if room is None else {"room": room}
        return (await self.request(m.Who, m.WhoOk, **fields)).users

    async def mark_read(
        self, msg_id: int, *, room: str | None = None, peer: str | None = None
    ) -> None:
        """Move the read marker of a room or a conversation."""
        fields = {"room": room} if room is not None else {"peer": peer}
        await self.request(m.MarkRead, m.Ok, msg_id=msg_id, **fields)

    async def typing(self, *, room: str | None = None, peer: str | None = None) -> None:
        """Say the user is typing in a room or to a peer (the server may drop it)."""
        fields = {"room": room} if room is not None else {"peer": peer}
        await self.request(m.Typing, m.Ok, **fields)

    async def set_status(self, away: bool, text: str | None = None) -> None:
        """Set the user away (with an away message) or back."""
        await self.request(m.SetStatus, m.Ok, away=away, text=text)

    async def set_topic(self, room: str, topic: str) -> None:
        """Set a room's topic ("" clears it): moderators and admins."""
        await self.request(m.SetTopic, m.Ok, room=room, topic=topic)

    async def ping(self) -> None:
        """Check the connection."""
        await self.request(m.Ping, m.Ok)

    async def moderate(self, command: str, width: int | None = None) -> list[str]:
        """Run a line of the server's console (moderators and admins); its output."""
        fields = {} if width is None else {"width": width}
        return (await self.request(m.Moderate, m.ModerateOk, command=command, **fields)).lines

    async def logout(self, *, everywhere: bool = False) -> None:
        """Log out, revoking this session's token (`everywhere`: every token of the
        user); the server closes the connection after the reply."""
        await self.request(m.Logout, m.Ok, all=everywhere)
