"""Start and stop the servers under test: chat-server and ngIRCd, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from benchmarks.common import BENCH_DIR, LOOPBACK, Deadline, free_port, log

CHEAP_ARGON2 = (1, 64, 1)  # time cost, memory KiB, lanes: the cheap parameters
DEFAULT_ARGON2 = (3, 65536, 4)  # the server's defaults (RFC 9106 low-memory profile)
# The database the MySQL runs make and drop; CHAT_BENCH_MYSQL names another
# (a private MariaDB with other settings, for instance).
MYSQL_URL = os.environ.get("CHAT_BENCH_MYSQL", "mysql://root@127.0.0.1:3306/chat_bench")


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
        _RUNNING.pop(self.process.pid, None)
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


# The line chat-server logs at INFO once it listens (chat_srv/server.py); with
# `--port 0` it is the only place the port chosen by the kernel is given.
LISTENING = re.compile(rb"listening on (\S+) port (\d+)")
SOURCE_ENV = "CHAT_BENCH_SOURCE"


def chat_command() -> tuple[list[str], dict[str, str]]:
    """How to start chat-server: the command, and the environment to start it in.

    By default the installed `chat-server` script next to this Python. With
    CHAT_BENCH_SOURCE=DIR (a git worktree of another commit, for instance), the same
    command line (`chat_srv.cli:main`) is run from the sources in DIR instead.
    """
    env = dict(os.environ)
    source = os.environ.get(SOURCE_ENV)
    if source:
        env["PYTHONPATH"] = str(Path(source).resolve())
        return [sys.executable, "-c", "from chat_srv.cli import main; main()"], env
    script = Path(sys.executable).parent / "chat-server"
    if script.exists():
        return [str(script)], env
    found = shutil.which("chat-server")
    if found:
        return [found], env
    return [sys.executable, "-c", "from chat_srv.cli import main; main()"], env


def chat_source() -> dict[str, str | None]:
    """Which chat-server code runs: the source directory and its git commit, if any."""
    source = os.environ.get(SOURCE_ENV)
    directory = Path(source).resolve() if source else BENCH_DIR.parent
    commit: str | None = None
    dirty: bool | None = None
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        commit = out.stdout.strip() or None
        status = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--", "chat_srv", "chat_core"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "chat_source": str(directory) if source else "installed",
        "chat_commit": commit,
        "chat_dirty": "yes" if dirty else ("no" if dirty is not None else None),
    }


def _drain(stream: IO[bytes], log_path: Path, port_found: queue.Queue[int]) -> None:
    """Copy the server's stderr to its log file until EOF; report the listening port.

    Runs in a daemon thread for the life of the process, so the server never blocks
    on a full pipe however much it logs.
    """
    reported = False
    with log_path.open("ab") as out:
        for line in iter(stream.readline, b""):
            out.write(line)
            out.flush()
            if not reported:
                match = LISTENING.search(line)
                if match:
                    port_found.put(int(match.group(2)))
                    reported = True
    stream.close()


# Servers started by this process and not yet stopped (for benchmarks.profile).
_RUNNING: dict[int, ServerHandle] = {}


def running(kind: str = "chat") -> list[ServerHandle]:
    """Live servers of `kind` this process started."""
    return [h for h in list(_RUNNING.values()) if h.kind == kind and h.alive()]


def start_chat(
    workdir: Path,
    *,
    db: str | None = None,
    argon2: tuple[int, int, int] = CHEAP_ARGON2,
    log_level: str = "info",
    timeout: float = 60.0,
    port: int = 0,
    command_base: list[str] | None = None,
    env_extra: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> ServerHandle:
    """Start the real `chat-server` command on a kernel-chosen port (`--port 0`).

    `port`: a fixed port instead (a restart on the same address: the `storm`
    scenario). `command_base` and `env_extra`: another way to run the same command
    line and what to add to its environment (`benchmarks.memprofile` runs it under
    tracemalloc). `extra_args`: options added to the command line (a cluster node's
    `--cluster` and `--node-id`).

    `db` defaults to a fresh SQLite file in `workdir`. The port is read from the
    "listening on 127.0.0.1 port N" line the server logs at INFO on stderr (hence
    the default log level). Benchmark settings: `--request-rate 0` (no per-connection
    request limit, so a sender may go as fast as the server takes it) and connection
    limits far above any scenario; everything else is the command's default.
    """
    database = db if db is not None else str(workdir / "chat.db")
    base, env = chat_command()
    if command_base is not None:
        base = command_base
    env.update(env_extra or {})
    command = [
        *base,
        "--no-console",
        "--address",
        LOOPBACK,
        "--port",
        str(port),
        "--db",
        database,
        "--log-level",
        log_level,
        "--request-rate",
        "0",
        "--max-connections",
        "1000000",
        "--max-connections-per-ip",
        "1000000",
        "--argon2-time-cost",
        str(argon2[0]),
        "--argon2-memory-kib",
        str(argon2[1]),
        "--argon2-parallelism",
        str(argon2[2]),
        *(extra_args or []),
    ]
    log_path = workdir / f"chat-server-{time.monotonic_ns()}.log"
    log_path.write_bytes(b"$ " + " ".join(command).encode() + b"\n")
    # Its state (the admin socket, where the server has one) stays in workdir.
    env["XDG_STATE_HOME"] = str(workdir)
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=workdir,
        env=env,
    )
    assert process.stderr is not None
    port_found: queue.Queue[int] = queue.Queue()
    threading.Thread(
        target=_drain, args=(process.stderr, log_path, port_found), daemon=True
    ).start()
    handle = ServerHandle("chat", process, 0, workdir, database, log_path)
    deadline = Deadline.after(timeout)
    while not deadline.passed():
        try:
            handle.port = port_found.get(timeout=min(0.2, max(deadline.left(), 0.01)))
            break
        except queue.Empty:
            if not handle.alive():
                raise RuntimeError(
                    f"chat-server exited with {process.returncode}:\n{handle.log_tail()}"
                ) from None
    else:
        handle.stop()
        raise RuntimeError(f"chat-server did not log its port in {timeout:.0f} s")
    _wait_listening(handle, 10)
    _RUNNING[handle.pid] = handle
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
