"""The load generator: client connections as raw asyncio Protocols, run in worker
processes so that the generator is not the bottleneck.

Two wire protocols, one shape:

* chat-server (`ChatConn`): 4-byte big-endian length + MessagePack map. While setting
  up (login), every frame is decoded with chat_core. While measuring, a connection
  walks the length prefixes to find the complete frames of each read and counts
  frames of each kind with `bytes.count` over the encoded type tag (msgspec writes
  `type` first: `\\xa4type\\xa7message` is a message event, `\\xa4type\\xa2ok` a reply):
  no per-frame decoding. A sampled message carries `L<monotonic ns>` at the start of
  its 64-character body; latency receivers find it with `bytes.find`.
* IRC (`IrcConn`, ngIRCd): lines. While measuring, a connection counts ` PRIVMSG `
  in the complete lines of each read; senders pipeline PRIVMSGs and a `PING` marker
  after every batch, whose `PONG` acknowledges the batch.

`time.monotonic_ns()` is CLOCK_MONOTONIC, one clock for every process on the machine,
so a send time written by one process is comparable with a receive time in another.

A worker process (`worker_main`) holds a share of the connections and obeys commands
from the harness over a pipe: `setup`, `start`, `drain`, `close` (fan-out), or
`idle` (log in and hold).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from benchmarks.common import LOOPBACK, raise_nofile, self_cpu_seconds
from chat_core import messages as m
from chat_core.errors import ProtocolError

BODY_SIZE = 64
IRC_CHANNEL = "#bench"

MSG_MARK = b"\xa4type\xa7message"  # a `message` event
OK_MARK = b"\xa4type\xa2ok"  # an `ok` reply
ERR_MARK = b"\xa4type\xa5error"  # an `error` reply
SAMPLE_MARK = b"\xa4body\xd9\x40L"  # a 64-byte str (str8) body starting with "L"
SAMPLE_DIGITS = 19  # monotonic_ns zero-padded

IRC_MSG_MARK = b" PRIVMSG "
IRC_SAMPLE_MARK = f"PRIVMSG {IRC_CHANNEL} :L".encode()
IRC_PONG_MARK = b" PONG "

_LEN = struct.Struct(">I")
RCVBUF = 4 * 1024 * 1024  # bytes; the kernel doubles it (capped by net.core.rmem_max)
POLL_SECONDS = 0.002  # how often polled receivers read their sockets


def plain_body(seq: int) -> str:
    """A 64-character body that is not sampled."""
    return f"m{seq:015d}".ljust(BODY_SIZE, ".")


def sampled_body(now_ns: int) -> str:
    """A 64-character body carrying its send time."""
    return f"L{now_ns:0{SAMPLE_DIGITS}d}".ljust(BODY_SIZE, ".")


def collect_latencies(
    buffer: bytearray, end: int, now: int, mark: bytes, samples: list[int]
) -> None:
    """Append `now - sent` for every sampled message in `buffer[:end]`.

    A sampled body carries `mark` followed by its send time in SAMPLE_DIGITS digits.
    """
    find = buffer.find
    skip = len(mark)
    pos = find(mark, 0, end)
    while pos >= 0:
        start = pos + skip
        samples.append(now - int(buffer[start : start + SAMPLE_DIGITS]))
        pos = find(mark, start, end)


@dataclass
class Counters:
    """What one connection saw since the counters were last reset."""

    messages: int = 0  # message deliveries (events, or PRIVMSG lines)
    frames: int = 0  # every frame (chat) or line (IRC)
    acks: int = 0  # ok replies (chat) or PONGs (IRC) to our own sends
    errors: int = 0  # error replies to our sends
    last_ns: int = 0  # when the last message delivery arrived
    latencies: list[int] = field(default_factory=list)

    def reset(self) -> None:
        self.messages = self.frames = self.acks = self.errors = self.last_ns = 0
        self.latencies = []


class BenchConn(asyncio.Protocol):
    """What both kinds of connection share: a buffer, counters, sending state."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.counting = False
        self.latency_probe = False
        self.counters = Counters()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_reason: str | None = None
        # Sending (senders only).
        self.sending = False
        self.window = 0  # max-rate: requests kept in flight (0: fixed rate)
        self.sample_every = 100
        self.sent = 0  # messages written since the counters were reset
        self.unacked = 0  # messages written whose ack has not come

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.close_reason is None:
            self.close_reason = f"closed by the server ({exc!r})" if exc else "closed"
        if not self.closed.done():
            self.closed.set_result(None)

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.close_reason = self.close_reason or "closed by the generator"
            self.transport.close()

    def feed(self, data: bytes | memoryview) -> None:
        raise NotImplementedError

    def send_batch(self, count: int) -> None:
        """Write `count` messages (one write)."""
        raise NotImplementedError

    def finish(self) -> None:
        """Sending is over: whatever marks the end (IRC: a last PING)."""


class ChatConn(BenchConn):
    """A chat-server connection."""

    def __init__(self, name: str, room: str) -> None:
        super().__init__(name)
        self.room = room
        self.next_id = 1
        self.waiting: dict[int, asyncio.Future[m.RawReply]] = {}
        self.events = 0  # events decoded while setting up

    # -- setting up: decode everything ------------------------------------------

    async def request(self, request: m.Request, seconds: float = 30.0) -> m.RawReply:
        future: asyncio.Future[m.RawReply] = asyncio.get_running_loop().create_future()
        self.waiting[request.id] = future
        self.write(m.encode(request))
        async with asyncio.timeout(seconds):
            return await future

    def new_id(self) -> int:
        self.next_id = (self.next_id + 1) & 0x7FFFFFFF
        return self.next_id

    async def login(self, user: str, password: str) -> m.LoginOk:
        reply = await self.request(m.Login(id=self.new_id(), user=user, password=password))
        return reply.result(m.LoginOk)

    def _setup_frames(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            try:
                frame = m.decode_server_payload(payload)
            except ProtocolError as error:
                self.close_reason = f"undecodable frame: {error}"
                self.close()
                return
            if isinstance(frame, m.RawReply):
                future = self.waiting.pop(frame.id if frame.id is not None else -1, None)
                if future is not None and not future.done():
                    future.set_result(frame)
            elif isinstance(frame, m.Disconnect):
                self.close_reason = f"disconnect {frame.reason}: {frame.text}"
            else:
                self.events += 1

    # -- data ---------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.feed(data)

    def feed(self, data: bytes | memoryview) -> None:
        """Take bytes read from the socket (by the transport, or by a poller)."""
        buffer = self.buffer
        buffer += data
        size = len(buffer)
        unpack = _LEN.unpack_from
        end = 0
        frames = 0
        while size - end >= 4:
            stop = end + 4 + unpack(buffer, end)[0]
            if stop > size:
                break
            end = stop
            frames += 1
        if not frames:
            return
        if not self.counting:
            payloads = []
            pos = 0
            while pos < end:
                length = unpack(buffer, pos)[0]
                payloads.append(bytes(buffer[pos + 4 : pos + 4 + length]))
                pos += 4 + length
            del buffer[:end]
            self._setup_frames(payloads)
            return
        now = time.monotonic_ns()
        counters = self.counters
        counters.frames += frames
        messages = buffer.count(MSG_MARK, 0, end)
        if messages:
            counters.messages += messages
            counters.last_ns = now
            if self.latency_probe:
                self._latencies(end, now)
        if self.window or self.unacked:
            acks = buffer.count(OK_MARK, 0, end)
            errors = buffer.count(ERR_MARK, 0, end) if acks + messages < frames else 0
            del buffer[:end]
            if acks or errors:
                counters.acks += acks
                counters.errors += errors
                self.unacked -= acks + errors
                if self.sending and self.window:
                    self.send_batch(self.window - self.unacked)
            return
        del buffer[:end]

    def _latencies(self, end: int, now: int) -> None:
        collect_latencies(self.buffer, end, now, SAMPLE_MARK, self.counters.latencies)

    # -- sending --------------------------------------------------------------------

    def send_batch(self, count: int) -> None:
        if count <= 0 or self.transport is None:
            return
        frames = []
        room = self.room
        every = self.sample_every
        seq = self.sent
        for _ in range(count):
            seq += 1
            body = sampled_body(time.monotonic_ns()) if seq % every == 0 else plain_body(seq)
            frames.append(m.encode(m.Send(id=seq & 0x7FFFFFFF, room=room, body=body)))
        self.sent = seq
        self.unacked += count
        self.transport.writelines(frames)


def _command(line: bytes) -> bytes:
    """The command or numeric of an IRC line (after the optional :prefix)."""
    parts = line.split(b" ", 2)
    if line.startswith(b":"):
        return parts[1] if len(parts) > 1 else b""
    return parts[0]


class IrcConn(BenchConn):
    """An IRC client connection (ngIRCd)."""

    def __init__(self, name: str, batch: int = 8) -> None:
        super().__init__(name)
        self.batch = batch  # PRIVMSGs per PING marker
        self.lines: list[bytes] = []  # setup: lines received
        self.line_event = asyncio.Event()
        self.pending_in_batch = 0
        self.pings = 0

    async def wait_line(self, predicate: Callable[[bytes], bool], seconds: float = 30.0) -> bytes:
        async with asyncio.timeout(seconds):
            while True:
                for i, line in enumerate(self.lines):
                    if predicate(line):
                        del self.lines[: i + 1]
                        return line
                self.lines.clear()
                self.line_event.clear()
                if self.transport is None:
                    raise ConnectionError(self.close_reason or "closed")
                await self.line_event.wait()

    async def register(self, nick: str) -> None:
        self.write(f"NICK {nick}\r\nUSER {nick} 0 * :bench {nick}\r\n".encode())
        # End of MOTD (376), no MOTD (422), or the nick is taken (433).
        line = await self.wait_line(lambda s: _command(s) in (b"376", b"422", b"433"))
        if _command(line) == b"433":
            raise ConnectionError(f"nick {nick} in use")

    async def join(self, channel: str) -> None:
        self.write(f"JOIN {channel}\r\n".encode())
        await self.wait_line(lambda s: _command(s) == b"366")  # end of NAMES

    def data_received(self, data: bytes) -> None:
        self.feed(data)

    def feed(self, data: bytes | memoryview) -> None:
        """Take bytes read from the socket (by the transport, or by a poller)."""
        buffer = self.buffer
        buffer += data
        end = buffer.rfind(b"\n") + 1
        if not end:
            return
        if not self.counting:
            for line in bytes(buffer[:end]).split(b"\r\n"):
                if line.startswith(b"PING "):
                    self.write(b"PONG " + line[5:] + b"\r\n")
                elif line:
                    self.lines.append(line)
            del buffer[:end]
            self.line_event.set()
            return
        now = time.monotonic_ns()
        counters = self.counters
        counters.frames += buffer.count(b"\n", 0, end)
        messages = buffer.count(IRC_MSG_MARK, 0, end)
        if messages:
            counters.messages += messages
            counters.last_ns = now
            if self.latency_probe:
                self._latencies(end, now)
        if self.window or self.unacked:
            pongs = buffer.count(IRC_PONG_MARK, 0, end)
            if pongs:
                counters.acks += pongs
                self.unacked -= pongs
                if self.sending and self.window:
                    in_flight = self.unacked * self.batch
                    self.send_batch(self.window - in_flight)
        if b"PING " in buffer[:end]:
            for line in bytes(buffer[:end]).split(b"\r\n"):
                if line.startswith(b"PING "):
                    self.write(b"PONG " + line[5:] + b"\r\n")
        del buffer[:end]

    def _latencies(self, end: int, now: int) -> None:
        collect_latencies(self.buffer, end, now, IRC_SAMPLE_MARK, self.counters.latencies)

    def send_batch(self, count: int) -> None:
        """Max rate: whole batches, each closed by a PING; fixed rate: any count."""
        if count <= 0 or self.transport is None:
            return
        out = []
        every = self.sample_every
        seq = self.sent
        head = f"PRIVMSG {IRC_CHANNEL} :"
        if self.window:
            count = (count // self.batch) * self.batch
        for _ in range(count):
            seq += 1
            body = sampled_body(time.monotonic_ns()) if seq % every == 0 else plain_body(seq)
            out.append(f"{head}{body}\r\n")
            self.pending_in_batch += 1
            if self.pending_in_batch == self.batch:
                self.pending_in_batch = 0
                self.pings += 1
                self.unacked += 1
                out.append(f"PING :b{self.pings}\r\n")
        self.sent = seq
        if out:
            self.transport.write("".join(out).encode())

    def finish(self) -> None:
        if self.pending_in_batch and self.transport is not None:
            self.pending_in_batch = 0
            self.pings += 1
            self.unacked += 1
            self.transport.write(f"PING :b{self.pings}\r\n".encode())


# --------------------------------------------------------------------------- workers


@dataclass
class ConnSpec:
    name: str
    sender: bool = False
    probe: bool = False  # measures latency
    port: int = 0  # the server to connect to, if not the worker's (a cluster's nodes)


async def _connect(
    kind: str, port: int, spec: ConnSpec, room: str, batch: int, rcvbuf: int
) -> BenchConn:
    loop = asyncio.get_running_loop()
    factory: Callable[[], BenchConn]
    if kind == "chat":
        factory = lambda: ChatConn(spec.name, room)  # noqa: E731
    else:
        factory = lambda: IrcConn(spec.name, batch)  # noqa: E731
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # A large fixed receive buffer (set before connect, so the window scale
        # allows it): a receiver process that is descheduled for a while must not
        # make the server see a slow consumer. Autotuning would not grow the buffer
        # of a reader that is behind.
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, (LOOPBACK, port))
        _, protocol = await loop.create_connection(factory, sock=sock)
    except BaseException:
        sock.close()
        raise
    return protocol


async def _open(
    kind: str,
    port: int,
    spec: ConnSpec,
    room: str | None,
    password: str,
    batch: int,
    nick: str,
    rcvbuf: int,
) -> BenchConn:
    conn = await _connect(kind, port, spec, room or "", batch, rcvbuf)
    try:
        if isinstance(conn, ChatConn):
            await conn.login(spec.name, password)
        elif isinstance(conn, IrcConn):
            await conn.register(nick)
            if room is not None:
                await conn.join(room)
    except BaseException:
        conn.close()
        raise
    conn.latency_probe = spec.probe
    return conn


async def open_many(
    kind: str,
    port: int,
    specs: list[ConnSpec],
    room: str | None,
    password: str,
    *,
    concurrency: int = 64,
    batch: int = 8,
    rcvbuf: int = RCVBUF,
) -> list[BenchConn]:
    """Connect and log in every spec, `concurrency` at a time, in spec order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(spec: ConnSpec) -> BenchConn:
        async with gate:
            for attempt in range(3):
                # IRC: a retry takes another nick, the failed one may linger a moment.
                nick = spec.name if attempt == 0 else f"{spec.name}_{attempt}"
                try:
                    to = spec.port or port
                    return await _open(kind, to, spec, room, password, batch, nick, rcvbuf)
                except (OSError, ConnectionError, TimeoutError) as error:
                    if attempt == 2:
                        raise
                    print(f"retrying {spec.name} after {error!r}", file=sys.stderr)
                    await asyncio.sleep(0.2 * (attempt + 1))
            raise AssertionError("unreachable")

    return list(await asyncio.gather(*(one(s) for s in specs)))


class Poller:
    """Reads a set of receivers' sockets every POLL_SECONDS instead of on each event.

    At a fixed, moderate rate every message would otherwise arrive in a read of its
    own: one wake-up, one system call and one Python callback per delivery, which
    makes the generator, not the server, the CPU hog. A polled receiver's transport
    is paused and a duplicate of its socket is read in bulk. The server sees no
    difference: the kernel acknowledges and buffers the data either way (the receive
    buffer is RCVBUF). Senders and latency probes stay event-driven.
    """

    def __init__(self) -> None:
        self.entries: list[tuple[BenchConn, socket.socket]] = []
        self.task: asyncio.Task[None] | None = None
        self.buffer = bytearray(1 << 20)

    def add(self, conn: BenchConn) -> None:
        transport = conn.transport
        if transport is None:
            return
        raw = transport.get_extra_info("socket")
        transport.pause_reading()
        sock = socket.socket(fileno=os.dup(raw.fileno()))
        sock.setblocking(False)
        self.entries.append((conn, sock))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())

    def read_all(self) -> None:
        view = memoryview(self.buffer)
        size = len(self.buffer)
        for conn, sock in self.entries:
            if conn.transport is None:
                continue
            while True:
                try:
                    n = sock.recv_into(view)
                except BlockingIOError:
                    break
                except OSError as error:
                    self._lost(conn, f"read failed: {error!r}")
                    break
                if n == 0:
                    self._lost(conn, "closed by the server (EOF)")
                    break
                conn.feed(view[:n])
                if n < size:
                    break

    @staticmethod
    def _lost(conn: BenchConn, reason: str) -> None:
        conn.close_reason = reason
        if conn.transport is not None:
            conn.transport.abort()

    async def run(self) -> None:
        while True:
            self.read_all()
            await asyncio.sleep(POLL_SECONDS)

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        for _, sock in self.entries:
            sock.close()
        self.entries.clear()


class Worker:
    """One worker process's connections and its answers to the harness's commands."""

    def __init__(self, pipe: Pipe, config: dict[str, Any]) -> None:
        self.pipe = pipe
        self.config = config
        self.kind: str = config["kind"]
        self.conns: list[BenchConn] = []
        self.senders: list[BenchConn] = []
        self.cpu_start = 0.0
        self.t0 = 0
        self.poller = Poller()
        self.polled: set[str] = set()

    async def recv(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        message: dict[str, Any] = await loop.run_in_executor(None, self.pipe.recv)
        return message

    def reply(self, message: dict[str, Any]) -> None:
        self.pipe.send(message)

    async def run(self) -> None:
        try:
            while True:
                command = await self.recv()
                name = command["cmd"]
                if name == "setup":
                    await self.setup(command)
                elif name == "start":
                    await self.start(command)
                elif name == "drain":
                    await self.drain(command)
                elif name == "close":
                    break
                else:
                    self.reply({"error": f"unknown command {name}"})
        finally:
            self.poller.close()
            for conn in self.conns:
                conn.close()
            await asyncio.sleep(0.05)

    async def setup(self, command: dict[str, Any]) -> None:
        specs = [ConnSpec(**s) for s in command["conns"]]
        started = time.monotonic()
        try:
            self.conns = await open_many(
                self.kind,
                command["port"],
                specs,
                command.get("room"),
                command.get("password", ""),
                concurrency=command.get("concurrency", 64),
                batch=command.get("batch", 8),
                rcvbuf=command.get("rcvbuf", RCVBUF),
            )
        except Exception as error:
            self.reply({"error": f"setup failed: {error!r}"})
            return
        self.senders = [c for c, s in zip(self.conns, specs, strict=True) if s.sender]
        if command.get("poll", True):
            self.polled = {s.name for s in specs if not (s.sender or s.probe)}
        self.reply({"ready": len(self.conns), "seconds": time.monotonic() - started})

    async def start(self, command: dict[str, Any]) -> None:
        """Reset the counters, send from t0 for `seconds`, wait for every ack."""
        for conn in self.conns:
            conn.counting = True
            conn.counters.reset()
            conn.sent = conn.unacked = 0
            if conn.name in self.polled:
                self.poller.add(conn)
        self.polled = set()
        self.cpu_start = self_cpu_seconds()
        self.t0 = t0 = command["t0_ns"]
        seconds: float = command["seconds"]
        rate: float | None = command.get("rate_per_sender")
        window: int = command.get("window", 32)
        for conn in self.senders:
            conn.sample_every = command.get("sample_every", 100)
            conn.window = 0 if rate else window
        await asyncio.sleep(max(0.0, (t0 - time.monotonic_ns()) / 1e9))
        for conn in self.senders:
            conn.sending = True
        end_ns = t0 + int(seconds * 1e9)
        if rate:
            await self._fixed_rate(rate, t0, end_ns)
        else:
            for conn in self.senders:
                conn.send_batch(window)
            await asyncio.sleep(max(0.0, (end_ns - time.monotonic_ns()) / 1e9))
        stopped_ns = time.monotonic_ns()
        for conn in self.senders:
            conn.sending = False
            conn.finish()
        # Every ack, bounded.
        deadline = time.monotonic() + command.get("ack_timeout", 30.0)
        while any(c.unacked > 0 and c.transport for c in self.senders):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        self.reply(
            {
                "sent": sum(c.sent for c in self.senders),
                "sent_by": {c.name: c.sent for c in self.senders},
                "acks": sum(c.counters.acks for c in self.senders),
                "errors": sum(c.counters.errors for c in self.senders),
                "unacked": sum(max(0, c.unacked) for c in self.senders),
                "send_seconds": (stopped_ns - t0) / 1e9,
            }
        )

    async def _fixed_rate(self, rate: float, t0: int, end_ns: int) -> None:
        """Open loop: each sender writes what is due every millisecond or so."""
        senders = self.senders
        max_burst = max(1, int(rate * 0.05))  # never more than 50 ms' worth at once
        while True:
            now = time.monotonic_ns()
            if now >= end_ns:
                break
            due = int((now - t0) * rate / 1e9)
            for conn in senders:
                behind = due - conn.sent
                if behind > 0:
                    conn.send_batch(min(behind, max_burst))
            await asyncio.sleep(0.001)  # uvloop timers have 1 ms resolution

    async def drain(self, command: dict[str, Any]) -> None:
        """Wait until every connection has every message it should (bounded)."""
        total: int = command["total_sent"]
        own_excluded: bool = command.get("own_excluded", False)
        quiet = command.get("quiet_timeout", 5.0)
        hard = time.monotonic() + command.get("drain_timeout", 30.0)

        def expected(conn: BenchConn) -> int:
            return total - conn.sent if own_excluded else total

        last_progress = time.monotonic()
        last_total = -1
        while True:
            got = sum(c.counters.messages for c in self.conns)
            if all(c.counters.messages >= expected(c) or c.transport is None for c in self.conns):
                break
            now = time.monotonic()
            if got != last_total:
                last_total, last_progress = got, now
            if now - last_progress > quiet or now > hard:
                break
            await asyncio.sleep(0.01)
        cpu = self_cpu_seconds() - self.cpu_start
        latencies: list[int] = []
        for conn in self.conns:
            latencies.extend(conn.counters.latencies)
        self.reply(
            {
                "received": sum(c.counters.messages for c in self.conns),
                "expected": sum(expected(c) for c in self.conns),
                "frames": sum(c.counters.frames for c in self.conns),
                "short": {
                    c.name: expected(c) - c.counters.messages
                    for c in self.conns
                    if c.counters.messages != expected(c)
                },
                "closed": {c.name: c.close_reason for c in self.conns if c.transport is None},
                "last_ns": max((c.counters.last_ns for c in self.conns), default=0),
                "latencies": latencies,
                "cpu_seconds": cpu,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )


def worker_main(pipe: Pipe, config: dict[str, Any]) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    raise_nofile(config.get("nofile", 65536))
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner, contextlib.suppress(KeyboardInterrupt, EOFError):
        runner.run(Worker(pipe, config).run())
