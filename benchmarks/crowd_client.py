"""Crowds of chat clients for the `storm` and `connections` scenarios.

A `CrowdConn` is a chat-server connection that logs in (password or session token,
protocol 1 or 2) and then counts what it receives by kind without decoding it:
presence frames, their bytes and the user changes they name, room messages, and
everything else. Only replies and `disconnect` frames are decoded (they are few).
A version-1 storm sends millions of 40-byte presence frames; counting them one by
one in Python would make the generator, not the server, the bottleneck, so a read
made only of presence frames (the common case) is counted with `bytes.count`
after walking its length prefixes, and only mixed reads are looked at frame by
frame.

A `CrowdWorker` runs in a worker process (spawned by `benchmarks.crowd`) and holds
a share of the crowd. The harness sends it commands over a pipe:

* `login`: connect and log in its users (`concurrency` at a time; 0: all at once),
  keeping the session token each login returns.
* `wait_closed`: wait (bounded) until the server has closed every connection.
* `storm`: every user connects and logs in again at once, with its token (or its
  password), retrying what the server refuses for now (`rate_limited`: after the
  `retry_after_ms` it gives; connection errors: after a short pause).
* `counts`: what the connections received so far.
* `send` / `expect`: one room message from the first connection, and waiting until
  every connection has received it.
* `close`.

Every wait is bounded; the connections are to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from benchmarks.common import LOOPBACK, raise_nofile, self_cpu_seconds
from chat_core import messages as m
from chat_core.errors import ProtocolError

_LEN = struct.Struct(">I")

# msgspec writes `type` first, right after the map's one-byte header (fixmap: the
# frames here have fewer than 16 fields): the tag starts 5 bytes into a frame.
TAG_AT = 5
PRESENCE_TAG = b"\xa4type\xa8presence"
MESSAGE_TAG = b"\xa4type\xa7message"
OK_TAG = b"\xa4type\xa2ok"
ERROR_TAG = b"\xa4type\xa5error"
DISCONNECT_TAG = b"\xa4type\xaadisconnect"
ONLINE_KEY = b"\xa6online"  # once per user change, in either shape of `presence`

CONNECT_RETRY_SECONDS = 0.1  # pause after a refused or failed connection attempt
REQUEST_SECONDS = 60.0  # longest wait for one reply


@dataclass
class Seen:
    """What one connection has received since it connected."""

    frames: int = 0
    bytes: int = 0
    presence_frames: int = 0
    presence_bytes: int = 0
    presence_changes: int = 0  # users named, over all presence frames
    messages: int = 0  # `message` events
    last_message_ns: int = 0
    other_frames: int = 0  # events of any other kind

    def add(self, other: Seen) -> None:
        """Add another connection's counts to these."""
        self.frames += other.frames
        self.bytes += other.bytes
        self.presence_frames += other.presence_frames
        self.presence_bytes += other.presence_bytes
        self.presence_changes += other.presence_changes
        self.messages += other.messages
        self.last_message_ns = max(self.last_message_ns, other.last_message_ns)
        self.other_frames += other.other_frames


class CrowdConn(asyncio.Protocol):
    """A chat connection that logs in, then counts what it receives by kind."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.seen = Seen()
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[m.RawReply]] = {}
        self.disconnect: str | None = None  # the reason the server gave, if it did
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError(self.disconnect or "closed by the server"))
        self.waiting.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def request(self, request: m.Request, seconds: float = REQUEST_SECONDS) -> m.RawReply:
        """Send one request and wait (bounded) for its reply."""
        if self.transport is None:
            raise ConnectionError(self.disconnect or "not connected")
        future: asyncio.Future[m.RawReply] = asyncio.get_running_loop().create_future()
        self.waiting[request.id] = future
        self.transport.write(m.encode(request))
        async with asyncio.timeout(seconds):
            return await future

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- reading ----------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        size = len(buffer)
        unpack = _LEN.unpack_from
        end = frames = 0
        while size - end >= 4:
            stop = end + 4 + unpack(buffer, end)[0]
            if stop > size:
                break
            end = stop
            frames += 1
        if not frames:
            return
        seen = self.seen
        seen.frames += frames
        seen.bytes += end
        presence = buffer.count(PRESENCE_TAG, 0, end)
        if presence == frames:  # the common case in a storm: nothing else to look at
            seen.presence_frames += frames
            seen.presence_bytes += end
            seen.presence_changes += buffer.count(ONLINE_KEY, 0, end)
        else:
            self._mixed(end)
        del buffer[:end]

    def _mixed(self, end: int) -> None:
        """Look at each complete frame of `buffer[:end]` on its own."""
        buffer = self.buffer
        seen = self.seen
        pos = 0
        while pos < end:
            stop = pos + 4 + _LEN.unpack_from(buffer, pos)[0]
            tag = pos + TAG_AT
            if buffer.startswith(PRESENCE_TAG, tag):
                seen.presence_frames += 1
                seen.presence_bytes += stop - pos
                seen.presence_changes += buffer.count(ONLINE_KEY, pos, stop)
            elif buffer.startswith(MESSAGE_TAG, tag):
                seen.messages += 1
                seen.last_message_ns = time.monotonic_ns()
            elif buffer.startswith(OK_TAG, tag) or buffer.startswith(ERROR_TAG, tag):
                self._reply(bytes(buffer[pos + 4 : stop]))
            elif buffer.startswith(DISCONNECT_TAG, tag):
                self._disconnect(bytes(buffer[pos + 4 : stop]))
            else:
                seen.other_frames += 1
            pos = stop

    def _reply(self, payload: bytes) -> None:
        try:
            frame = m.decode_server_payload(payload)
        except ProtocolError:
            self.seen.other_frames += 1
            return
        if isinstance(frame, m.RawReply):
            future = self.waiting.pop(frame.id if frame.id is not None else -1, None)
            if future is not None and not future.done():
                future.set_result(frame)

    def _disconnect(self, payload: bytes) -> None:
        try:
            frame = m.decode_server_payload(payload)
        except ProtocolError:
            self.disconnect = "undecodable disconnect"
            return
        if isinstance(frame, m.Disconnect):
            self.disconnect = str(frame.reason)


async def connect(port: int, name: str) -> CrowdConn:
    """A new connection to 127.0.0.1:`port` (raises OSError if refused)."""
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: CrowdConn(name), LOOPBACK, port)
    return conn


@dataclass
class Outcome:
    """How one user's login went (in a storm: every attempt until it got in)."""

    first: str = ""  # "ok", or the error code of the first login reply, or "connect"
    attempts: int = 0  # login requests sent
    connect_errors: int = 0
    rate_limited: int = 0
    retry_after_ms: list[int] = field(default_factory=list)
    done_ns: int = 0  # when its login succeeded (0: it never did)
    failure: str | None = None  # why it gave up


@dataclass
class Credentials:
    """A user of this worker and how it logs in."""

    name: str
    password: str | None = None
    token: str | None = None


class CrowdWorker:
    """One worker process's share of the crowd and its answers to the harness."""

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self.users: list[Credentials] = []
        self.conns: list[CrowdConn] = []
        self.cpu_start = self_cpu_seconds()

    async def recv(self) -> dict[str, Any]:
        message: dict[str, Any] = await asyncio.get_running_loop().run_in_executor(
            None, self.pipe.recv
        )
        return message

    async def run(self) -> None:
        handlers = {
            "login": self.login,
            "wait_closed": self.wait_closed,
            "storm": self.storm,
            "counts": self.counts,
            "send": self.send,
            "expect": self.expect,
        }
        try:
            while True:
                command = await self.recv()
                name = command["cmd"]
                if name == "close":
                    break
                handler = handlers.get(name)
                if handler is None:
                    self.pipe.send({"error": f"unknown command {name}"})
                    continue
                try:
                    reply = await handler(command)
                except Exception as error:  # reported to the harness, which raises it
                    reply = {"error": f"{name} failed: {error!r}"}
                self.pipe.send(reply)
        finally:
            for conn in self.conns:
                conn.close()
            await asyncio.sleep(0.05)

    # -- commands ---------------------------------------------------------------------

    async def login(self, command: dict[str, Any]) -> dict[str, Any]:
        """Connect and log in every user given; keep each login's token."""
        self.users = [Credentials(**u) for u in command["users"]]
        started = time.monotonic()
        outcomes, self.conns = await self._log_in_all(
            command["port"],
            command.get("protocol", 2),
            command.get("concurrency", 64),
            retry=True,
            deadline=started + command.get("seconds", 300.0),
        )
        return {"seconds": time.monotonic() - started, **_summary(outcomes, 0)}

    async def wait_closed(self, command: dict[str, Any]) -> dict[str, Any]:
        """Wait until the server has closed every connection (at most `seconds`)."""
        pending = [c.closed for c in self.conns if not c.closed.done()]
        if pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(command.get("seconds", 30.0)):
                    await asyncio.gather(*pending)
        reasons = Counter(c.disconnect or "no disconnect frame" for c in self.conns)
        return {
            "closed": sum(1 for c in self.conns if c.transport is None),
            "open": sum(1 for c in self.conns if c.transport is not None),
            "reasons": dict(reasons),
        }

    async def storm(self, command: dict[str, Any]) -> dict[str, Any]:
        """Every user comes back at once; `t0_ns` is when the server began listening."""
        for conn in self.conns:
            conn.close()
        if "users" in command:  # no earlier login: the harness gives the credentials
            self.users = [Credentials(**u) for u in command["users"]]
        auth: str = command.get("auth", "token")
        if auth == "password":
            for user in self.users:
                user.token = None
        elif any(u.token is None for u in self.users):
            raise RuntimeError("a token storm needs every user's token (log in first)")
        self.cpu_start = self_cpu_seconds()
        outcomes, self.conns = await self._log_in_all(
            command["port"],
            command.get("protocol", 2),
            command.get("concurrency", 0),
            retry=command.get("retry", True),
            deadline=time.monotonic() + command.get("seconds", 300.0),
        )
        return _summary(outcomes, command["t0_ns"])

    async def counts(self, command: dict[str, Any]) -> dict[str, Any]:
        """What every connection received since it connected, summed."""
        total = Seen()
        for conn in self.conns:
            total.add(conn.seen)
        return {
            **vars(total),
            "connections": len(self.conns),
            "open": sum(1 for c in self.conns if c.transport is not None),
            "reasons": dict(Counter(c.disconnect for c in self.conns if c.disconnect)),
            "cpu_seconds": self_cpu_seconds() - self.cpu_start,
        }

    async def send(self, command: dict[str, Any]) -> dict[str, Any]:
        """One room message from this worker's first connection; when it went and
        when its `ok` came back."""
        conn = self.conns[0]
        request = m.Send(id=conn.new_id(), room=command["room"], body=command["body"])
        sent_ns = time.monotonic_ns()
        reply = await conn.request(request)
        ok_ns = time.monotonic_ns()
        reply.result(m.SentOk)
        return {"sent_ns": sent_ns, "ok_ns": ok_ns}

    async def expect(self, command: dict[str, Any]) -> dict[str, Any]:
        """Wait until every open connection has `messages` messages (bounded)."""
        wanted: int = command["messages"]
        deadline = time.monotonic() + command.get("seconds", 30.0)
        while time.monotonic() < deadline:
            if all(c.seen.messages >= wanted or c.transport is None for c in self.conns):
                break
            await asyncio.sleep(0.002)
        short = [c for c in self.conns if c.seen.messages < wanted]
        return {
            "received": sum(min(c.seen.messages, wanted) for c in self.conns),
            "extra": sum(max(0, c.seen.messages - wanted) for c in self.conns),
            "short": len(short),
            "short_closed": sum(1 for c in short if c.transport is None),
            "last_ns": max((c.seen.last_message_ns for c in self.conns), default=0),
        }

    # -- logging in -------------------------------------------------------------------

    async def _log_in_all(
        self, port: int, protocol: int, concurrency: int, *, retry: bool, deadline: float
    ) -> tuple[list[Outcome], list[CrowdConn]]:
        gate = asyncio.Semaphore(concurrency) if concurrency > 0 else None
        outcomes = [Outcome() for _ in self.users]
        conns: list[CrowdConn | None] = [None] * len(self.users)

        async def one(i: int) -> None:
            if gate is None:
                conns[i] = await self._log_in(
                    port, self.users[i], protocol, outcomes[i], retry, deadline
                )
                return
            async with gate:
                conns[i] = await self._log_in(
                    port, self.users[i], protocol, outcomes[i], retry, deadline
                )

        await _gather_all(one(i) for i in range(len(self.users)))
        return outcomes, [c for c in conns if c is not None]

    async def _log_in(
        self,
        port: int,
        user: Credentials,
        protocol: int,
        outcome: Outcome,
        retry: bool,
        deadline: float,
    ) -> CrowdConn | None:
        """Connect and log in, again while refused for now (until `deadline`)."""
        conn: CrowdConn | None = None
        while time.monotonic() < deadline:
            if conn is None or conn.transport is None:
                try:
                    conn = await connect(port, user.name)
                except OSError:
                    outcome.connect_errors += 1
                    outcome.first = outcome.first or "connect"
                    if not retry:
                        break
                    await asyncio.sleep(CONNECT_RETRY_SECONDS)
                    continue
            request = m.Login(
                id=conn.new_id(),
                user=user.name,
                password=user.password if user.token is None else None,
                token=user.token,
                protocol=protocol,
            )
            outcome.attempts += 1
            try:
                reply = await conn.request(request, max(1.0, deadline - time.monotonic()))
            except (ConnectionError, TimeoutError) as error:
                outcome.first = outcome.first or "lost"
                outcome.failure = repr(error)
                if not retry:
                    break
                conn.close()
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
                continue
            if reply.ok:
                ok = reply.result(m.LoginOk)
                user.token = user.token or ok.token
                outcome.first = outcome.first or "ok"
                outcome.done_ns = time.monotonic_ns()
                outcome.failure = None
                return conn
            code = str(reply.fields.get("code"))
            outcome.first = outcome.first or code
            if code != "rate_limited" or not retry:
                outcome.failure = code
                break
            outcome.rate_limited += 1
            wait_ms = int(reply.fields.get("retry_after_ms") or 100)
            outcome.retry_after_ms.append(wait_ms)
            await asyncio.sleep(min(wait_ms / 1000, max(0.0, deadline - time.monotonic())))
        else:
            outcome.failure = outcome.failure or "deadline"
        if conn is not None:
            conn.close()
        return None


async def _gather_all(coros: Any) -> None:
    """Run every coroutine; the first exception is raised once all have ended."""
    tasks: list[Awaitable[None]] = [asyncio.ensure_future(c) for c in coros]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _summary(outcomes: list[Outcome], t0_ns: int) -> dict[str, Any]:
    """What the harness needs of a worker's outcomes (times in ms after `t0_ns`)."""
    done = [o.done_ns for o in outcomes if o.done_ns]
    return {
        "users": len(outcomes),
        "logged_in": len(done),
        "first": dict(Counter(o.first for o in outcomes)),
        "attempts": sum(o.attempts for o in outcomes),
        "connect_errors": sum(o.connect_errors for o in outcomes),
        "rate_limited": sum(o.rate_limited for o in outcomes),
        "retry_after_ms": [w for o in outcomes for w in o.retry_after_ms],
        "failures": dict(Counter(o.failure for o in outcomes if o.failure)),
        "done_ms": [(d - t0_ns) / 1e6 for d in done] if t0_ns else [],
        "last_ns": max(done, default=0),
    }


def crowd_worker_main(pipe: Pipe, nofile: int) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    raise_nofile(nofile)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner, contextlib.suppress(KeyboardInterrupt, EOFError):
        runner.run(CrowdWorker(pipe).run())


__all__ = ["CrowdConn", "CrowdWorker", "Seen", "crowd_worker_main"]
