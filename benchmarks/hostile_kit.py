"""The plumbing of `benchmarks.hostile`: a chat-server subprocess, and an attacker's client.

`chat_server` starts the given `chat-server` executable on a free port of 127.0.0.1
with a fresh SQLite file, waits until it listens and always stops it (SIGTERM, then
SIGKILL after 20 s). `Conn` speaks the protocol with `chat_core`, every wait bounded,
and reports a connection the server ended as `Closed` (how: `eof`, `reset`, `cut` for
a stream that ended inside a frame, or `disconnect:REASON`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.common import LOOPBACK, Deadline, free_port
from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.streams import read_payload

CHEAP_ARGON2 = ("--argon2-memory-kib", "64", "--argon2-time-cost", "1", "--argon2-parallelism", "1")
"""Cheap hashing: for scenarios that register many users and measure something else."""

PASSWORD = "correct horse battery staple"  # 12+ characters
WAIT = 30.0  # seconds any single reply may take (default argon2 on a busy 2-core machine)
STOP_WAIT = 20.0  # seconds the server may take to stop on SIGTERM before SIGKILL

Frame = m.Event | m.RawReply | dict[str, Any]
"""What a server sends: a known event, a reply, or (an event this harness does not know)
the decoded map."""


def server_options(exe: str) -> set[str]:
    """The long options `exe --help` lists (wide, so that none is cut short)."""
    env = {**os.environ, "COLUMNS": "300", "TERM": "dumb", "NO_COLOR": "1"}
    out = subprocess.run(
        [exe, "--help"], capture_output=True, text=True, timeout=30, env=env, check=False
    )
    return set(re.findall(r"--[a-z0-9][a-z0-9-]*", out.stdout + out.stderr))


# ------------------------------------------------------------------------- the server


@dataclass
class Server:
    """A chat-server process this harness started."""

    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log_path: Path
    command: list[str]
    log: str = ""  # the whole log (stderr), read once the process has stopped
    returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_now(self) -> str:
        """The log so far (the server is still running)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def wait_listening(self, seconds: float) -> None:
        deadline = Deadline.after(seconds)
        while not deadline.passed():
            if self.process.poll() is not None:
                raise RuntimeError(f"chat-server exited with {self.process.returncode}")
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex((LOOPBACK, self.port)) == 0:
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"chat-server did not listen on port {self.port} in {seconds:.0f} s")

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after STOP_WAIT s); keep the log. Never raises.

        Waits synchronously on purpose: it runs in `finally` blocks, where a
        cancelled task could not await.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.returncode = self.process.returncode
        with contextlib.suppress(OSError):
            self.log = self.log_now()

    def tracebacks(self) -> int:
        """How many Python tracebacks the server logged."""
        return (self.log or self.log_now()).count("Traceback (most recent call last)")


@contextlib.asynccontextmanager
async def chat_server(
    exe: str, args: Sequence[str] = (), *, tag: str, keep_logs: Path | None = None
) -> AsyncIterator[Server]:
    """A fresh chat-server: temp SQLite `--db`, `--no-console`, 127.0.0.1, a free port.

    `args` are added to that command line; everything else is the server's default.
    The server is stopped on the way out, whatever happened; with `keep_logs` its
    log is copied there as `TAG.log`.
    """
    with tempfile.TemporaryDirectory(prefix=f"chat-hostile-{tag}-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "server.log"
        port = free_port()
        command = [
            executable(exe),
            "--no-console",
            "--address",
            LOOPBACK,
            "--port",
            str(port),
            "--db",
            str(workdir / "chat.db"),
            *args,
        ]
        process = _spawn(command, log_path, workdir)
        server = Server(process, port, workdir, log_path, command)
        try:
            await server.wait_listening(60)
            yield server
        finally:
            server.stop()
            if keep_logs is not None:
                _keep_log(log_path, keep_logs / f"{tag}.log")


def executable(exe: str) -> str:
    """The absolute path of `exe` (a path, or a name on PATH): the server runs elsewhere."""
    return str(Path(shutil.which(exe) or exe).absolute())


def _spawn(command: list[str], log_path: Path, workdir: Path) -> subprocess.Popen[bytes]:
    """Start the server with its stdout and stderr going to `log_path`."""
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            cwd=workdir,
            # Its state (the admin socket, where the server has one) stays in workdir.
            env={**os.environ, "XDG_STATE_HOME": str(workdir)},
            start_new_session=True,  # a Ctrl-C on the harness is not sent to it too
        )


def _keep_log(log_path: Path, copy: Path) -> None:
    with contextlib.suppress(OSError):
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, copy)


def proc_status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc/PID/status."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(line.split()[1])
    return found


# ------------------------------------------------------------------------- the client


class Closed(Exception):
    """The server ended the connection: `how` is eof, reset, cut or disconnect:REASON."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


def decode_frame(payload: bytes) -> Frame:
    """A server frame; an event this harness does not know stays a plain map."""
    try:
        return m.decode_server_payload(payload)
    except ProtocolError:
        try:
            raw = msgspec.msgpack.decode(payload)
        except msgspec.DecodeError:
            return {"type": "?", "undecodable": len(payload)}
        return raw if isinstance(raw, dict) else {"type": "?", "value": raw}


def set_rst_on_close(sock: Any) -> None:
    """SO_LINGER on with a zero timeout: closing the socket sends RST, not FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class Conn:
    """One client connection: requests with ids, replies awaited, events kept."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: list[Frame] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    disconnect: m.Disconnect | None = None  # the goodbye, if the server said one

    @classmethod
    async def open(
        cls,
        port: int,
        *,
        local_addr: tuple[str, int] | None = None,
        tls: ssl.SSLContext | None = None,
        within: float = 10.0,
    ) -> Conn:
        """Connect to 127.0.0.1:`port` (from `local_addr`, over TLS with `tls`)."""
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(
                LOOPBACK,
                port,
                local_addr=local_addr,
                ssl=tls,
                server_hostname="localhost" if tls is not None else None,
            )
        return cls(reader, writer)

    def send(self, kind: type[m.Request], **fields: Any) -> int:
        """Write a request (not waiting for the reply); its id."""
        request_id = next(self.ids)
        self.writer.write(m.encode(kind(id=request_id, **fields)))
        return request_id

    async def frame(self) -> Frame:
        """The next frame from the server; `Closed` if there is none."""
        try:
            payload = await read_payload(self.reader)
        except asyncio.IncompleteReadError:
            raise Closed("cut") from None
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("reset") from None
        if payload is None:
            why = f"disconnect:{self.disconnect.reason}" if self.disconnect else "eof"
            raise Closed(why)
        frame = decode_frame(payload)
        if isinstance(frame, m.Disconnect):
            self.disconnect = frame
        return frame

    async def reply(self, request_id: int, within: float = WAIT) -> m.RawReply:
        """Read frames until the reply to `request_id`, keeping the events."""
        async with asyncio.timeout(within):
            while True:
                frame = await self.frame()
                if isinstance(frame, m.RawReply) and frame.id == request_id:
                    return frame
                self.events.append(frame)

    async def request(
        self, kind: type[m.Request], *, within: float = WAIT, **fields: Any
    ) -> m.RawReply:
        """Send a request and wait for its reply."""
        request_id = self.send(kind, **fields)
        try:
            await self.writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            raise Closed("reset") from None
        return await self.reply(request_id, within)

    async def close(self, *, rst: bool = False) -> None:
        """Close by FIN (waiting a little for it to go), or at once by RST."""
        if rst:
            with contextlib.suppress(OSError):
                set_rst_on_close(self.writer.get_extra_info("socket"))
            self.writer.transport.abort()
            return
        self.writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(2):
                await self.writer.wait_closed()

    def saw(self, kind: type[m.Event], **match: Any) -> bool:
        """Whether an event of `kind` with these field values has arrived."""
        return any(
            isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())
            for e in self.events
        )


def code(reply: m.RawReply) -> str:
    """`ok`, or the error code of the reply."""
    return "ok" if reply.ok else str(reply.fields.get("code"))


async def outcome(
    conn: Conn, kind: type[m.Request], **fields: Any
) -> tuple[str, m.RawReply | None]:
    """A request's result as a word: ok, an error code, closed:HOW or timeout; the reply."""
    request_id = conn.send(kind, **fields)
    return await answer(conn, request_id)


async def answer(
    conn: Conn, request_id: int, within: float = WAIT
) -> tuple[str, m.RawReply | None]:
    """The result of a request already sent, as `outcome` gives it."""
    try:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            await conn.writer.drain()
        reply = await conn.reply(request_id, within)
    except Closed as closed:
        return f"closed:{closed.how}", None
    except TimeoutError:
        return "timeout", None
    except OSError as error:
        return f"oserror:{error.__class__.__name__}", None
    return code(reply), reply


async def register(
    port: int, user: str, password: str = PASSWORD, **open_args: Any
) -> tuple[str, Conn | None]:
    """A new connection that registers `user`: (outcome, the connection if it is ok).

    A refused registration's connection is closed.
    """
    try:
        conn = await Conn.open(port, **open_args)
    except (OSError, TimeoutError) as error:
        return f"connect:{error.__class__.__name__}", None
    result, _ = await outcome(conn, m.Register, user=user, password=password)
    if result != "ok":
        await conn.close()
        return result, None
    return result, conn


def elapsed(start: float) -> float:
    """Seconds since `start` (a `time.monotonic()`), rounded to the millisecond."""
    return round(time.monotonic() - start, 3)
