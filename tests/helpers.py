"""Test helpers: a real server on a free port of 127.0.0.1, and a protocol client.

Every `Client` is closed when the test that made it ends, passed or failed: each
test runs inside `closing_clients()` (an autouse fixture in `tests/conftest.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.streams import read_server_frame
from chat_srv.admin import Admin
from chat_srv.clock import Clock
from chat_srv.config import Argon2Params, ServerConfig
from chat_srv.server import ChatServer

FAST_ARGON2 = Argon2Params(time_cost=1, memory_kib=64, parallelism=1)
"""Cheap hashing parameters: tests register many users."""

TIMEOUT = 10.0  # seconds any single wait in a test may take before it fails

PASSWORD = "correct horse"

E = TypeVar("E", bound=m.Event)
R = TypeVar("R", bound=m.Ok)


def test_config(db: str, **overrides: Any) -> ServerConfig:
    """A configuration for a test server: port 0, fast hashing, no admin socket."""
    settings: dict[str, Any] = {
        "address": "127.0.0.1",
        "port": 0,
        "db": db,
        "argon2": FAST_ARGON2,
        "admin_socket": "none",  # tests that want one give a path of their own
    }
    settings.update(overrides)
    return ServerConfig(**settings)


_closers: list[tuple[asyncio.AbstractEventLoop, contextlib.AsyncExitStack]] = []
"""The `closing_clients()` blocks running now, innermost last, with their loops."""


@contextlib.asynccontextmanager
async def closing_clients() -> AsyncIterator[None]:
    """Close every `Client` made in the block when it ends, even by an exception."""
    async with contextlib.AsyncExitStack() as stack:
        closer = (asyncio.get_running_loop(), stack)
        _closers.append(closer)
        try:
            yield
        finally:
            _closers.remove(closer)


class ManualClock(Clock):
    """A clock that moves only when a test says so (`advance`): expiries without waiting."""

    def __init__(self) -> None:
        self._ms = Clock().now_ms()
        self._monotonic = 1000.0

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._ms += round(seconds * 1000)
        self._monotonic += seconds


@contextlib.asynccontextmanager
async def running_server(
    db: str,
    *,
    clock: Clock | None = None,
    server_type: type[ChatServer] = ChatServer,
    **overrides: Any,
) -> AsyncIterator[ChatServer]:
    """Start a server on `db` (reading the time from `clock`) and stop it on exit."""
    server = server_type(test_config(db, **overrides), clock=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Client:
    """A protocol client for tests: typed calls, and events kept in arrival order.

    Made in a `closing_clients()` block (every test is in one), it is closed when the
    block ends; `async with` closes it sooner.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.events: list[m.Event] = []
        self._ids = itertools.count(1)
        self.name: str | None = None
        # Owned by the innermost block in this loop (a test may run a loop of its own).
        loop = asyncio.get_running_loop()
        stacks = [stack for owner, stack in _closers if owner is loop]
        if stacks:
            stacks[-1].push_async_callback(self.close)

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1", *, source: str = "") -> Client:
        """Open a connection to the server, from the address `source` if given.

        Any address of 127/8 may be a source (all of it is loopback on Linux): a
        test plays clients from several addresses while talking only to 127.0.0.1.
        """
        local = (source, 0) if source else None
        reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        return cls(reader, writer)

    async def close(self) -> None:
        """Close the connection and wait for it to be closed (closing twice is harmless)."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def send_request(self, kind: type[m.Request], **fields: Any) -> int:
        """Write a request without waiting for its reply; its id."""
        request_id = next(self._ids)
        self.writer.write(m.encode(kind(id=request_id, **fields)))
        await self.writer.drain()
        return request_id

    async def read_reply(self, request_id: int) -> m.RawReply:
        """Read frames until the reply to `request_id`, keeping events."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = await read_server_frame(self.reader)
                if frame is None:
                    raise ConnectionError("the server closed the connection")
                if isinstance(frame, m.RawReply):
                    assert frame.id == request_id, f"reply {frame.id} out of order"
                    return frame
                self.events.append(frame)

    async def call(self, kind: type[m.Request], **fields: Any) -> Any:
        """Send a request and return its typed `ok` reply (raise if it is an error)."""
        reply = await self.read_reply(await self.send_request(kind, **fields))
        return reply.result(m.RESULT_TYPES.get(kind, m.Ok))

    async def fails(self, kind: type[m.Request], **fields: Any) -> ProtocolError:
        """Send a request that must fail; the error it got."""
        reply = await self.read_reply(await self.send_request(kind, **fields))
        assert not reply.ok, f"{kind.__name__} succeeded: {reply.fields}"
        try:
            reply.result(m.Ok)
        except ProtocolError as error:
            return error
        raise AssertionError("unreachable")

    async def event(self, kind: type[E], **match: Any) -> E:
        """The first event of `kind` (whose fields equal `match`), waiting if need be."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for index, event in enumerate(self.events):
                    if isinstance(event, kind) and all(
                        getattr(event, key) == value for key, value in match.items()
                    ):
                        del self.events[index]
                        return event
                frame = await read_server_frame(self.reader)
                if frame is None:
                    raise ConnectionError(f"closed while waiting for {kind.__name__}")
                if isinstance(frame, m.RawReply):
                    raise AssertionError(f"unexpected reply {frame.fields}")
                self.events.append(frame)

    async def collect(self, kind: type[E], count: int) -> list[E]:
        """Read until `count` events of `kind` have arrived; return them (kept in `events`)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                found = [event for event in self.events if isinstance(event, kind)]
                if len(found) >= count:
                    return found
                frame = await read_server_frame(self.reader)
                if frame is None:
                    raise ConnectionError(f"closed with {len(found)} of {count} {kind.__name__}")
                if isinstance(frame, m.RawReply):
                    raise AssertionError(f"unexpected reply {frame.fields}")
                self.events.append(frame)

    async def closed(self) -> None:
        """Wait until the server closes the connection, keeping the events before it."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                try:
                    frame = await read_server_frame(self.reader)
                except ConnectionError:
                    return
                if frame is None:
                    return
                if isinstance(frame, m.Event):
                    self.events.append(frame)

    async def sync(self) -> None:
        """Round-trip a ping: every event sent before its reply has now been read."""
        await self.call(m.Ping)


async def console_heard(server: ChatServer, *clients: Client) -> None:
    """Wait until what `server`'s console has done so far has reached `clients`.

    On a cluster the console's work (a role, a membership) reaches the other nodes
    through the broker, a little later, and a role change has no event of its own to
    wait for: a notice sent after it travels the same way, in order, so a client that
    has the notice is served by a node that has the rest.
    """
    marker = f"marker {next(_markers)}"
    await Admin(server).notice(marker)
    for client in clients:
        await client.event(m.Notice, text=marker)


_markers = itertools.count(1)


async def caught_up(sender: Client, *watchers: Client) -> None:
    """Wait until every message stored so far has reached `watchers`, or never will.

    `sync` proves it for one server only: on a cluster a message stored on another
    node arrives through the broker, later. `sender` sends each watcher a direct
    message; message ids follow commit order and each node delivers in id order, so
    a watcher that has it has had whatever came before. The markers are taken out of
    the events of both sides.
    """
    for watcher in watchers:
        assert watcher.name is not None, "a watcher is logged in"
        sent = await sender.call(m.Dm, to=watcher.name, body=f"marker {next(_markers)}")
        await watcher.event(m.Message, msg_id=sent.msg_id)
        await sender.event(m.Message, msg_id=sent.msg_id)


async def register(port: int, name: str, password: str = PASSWORD, *, source: str = "") -> Client:
    """A new connection (from `source`, if given), registered and logged in as `name`."""
    client = await Client.connect(port, source=source)
    await client.call(m.Register, user=name, password=password)
    client.name = name
    return client


async def login(port: int, name: str, password: str = PASSWORD, *, source: str = "") -> Client:
    """A new connection (from `source`, if given) logged in as `name`."""
    client = await Client.connect(port, source=source)
    await client.call(m.Login, user=name, password=password)
    client.name = name
    return client
