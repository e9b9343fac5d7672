"""Start and stop the servers under test: chat-server and ngIRCd, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import BENCH_DIR, LOOPBACK, Deadline, free_port, log

CHEAP_ARGON2 = (1, 64, 1)  # time cost, memory KiB, lanes: the cheap parameters
DEFAULT_ARGON2 = (3, 65536, 4)  # the server's defaults (RFC 9106 low-memory profile)
MYSQL_URL = "mysql://root@127.0.0.1:3306/chat_bench"


@dataclass
class ServerHandle:
    """A server process this harness started."""

    kind: str  # "chat" or "ngircd"
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    db: str = ""
    log_path: Path = field(default_factory=Path)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (graceful), then SIGKILL after `timeout` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.kind} did not stop in {timeout:.0f} s: killing it")
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_listening(handle: ServerHandle, seconds: float) -> None:
    deadline = Deadline.after(seconds)
    while not deadline.passed():
        if not handle.alive():
            raise RuntimeError(
                f"{handle.kind} exited with {handle.process.returncode}:\n{handle.log_tail()}"
            )
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((LOOPBACK, handle.port)) == 0:
                return
        time.sleep(0.05)
    handle.stop()
    raise RuntimeError(f"{handle.kind} did not listen on port {handle.port} in {seconds} s")


def start_chat(
    workdir: Path,
    *,
    db: str | None = None,
    argon2: tuple[int, int, int] = CHEAP_ARGON2,
    log_level: str = "warning",
) -> ServerHandle:
    """Start chat-server on a free port; `db` defaults to a fresh SQLite file in `workdir`."""
    port = free_port()
    database = db if db is not None else str(workdir / "chat.db")
    log_path = workdir / f"chat-server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "benchmarks.serve_chat",
        "--address",
        LOOPBACK,
        "--port",
        str(port),
        "--db",
        database,
        "--log-level",
        log_level,
        "--argon2-time-cost",
        str(argon2[0]),
        "--argon2-memory-kib",
        str(argon2[1]),
        "--argon2-parallelism",
        str(argon2[2]),
    ]
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=BENCH_DIR.parent,
        )
    handle = ServerHandle("chat", process, port, workdir, database, log_path)
    _wait_listening(handle, 60)
    return handle


def start_ngircd(workdir: Path) -> ServerHandle:
    """Start ngIRCd in the foreground with benchmarks/ngircd.conf on a free port."""
    port = free_port()
    conf = workdir / "ngircd.conf"
    lines = []
    for line in (BENCH_DIR / "ngircd.conf").read_text().splitlines():
        if line.strip().startswith("Ports ="):
            line = f"\tPorts = {port}"
        lines.append(line)
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o644)
    log_path = workdir / f"ngircd-{port}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            ["ngircd", "-n", "-f", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    handle = ServerHandle("ngircd", process, port, workdir, "", log_path)
    _wait_listening(handle, 20)
    return handle


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A temporary directory for one run (database, logs), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"chat-bench-{prefix}-") as path:
        directory = Path(path)
        directory.chmod(0o755)
        yield directory
