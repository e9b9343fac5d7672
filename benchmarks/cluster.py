"""The cluster scenario: one room's members spread over the nodes of a cluster.

`setup` is "plain" (one chat-server on MySQL, without `--cluster`) or a number of
nodes N (`--cluster redis://… --node-id node-K`, each on its own port). Every node
shares one fresh MariaDB database and a private `redis-server` on a free port of
127.0.0.1, both made for the run and removed after it. Member i connects to node
i mod N, so the members, the senders and the latency probes are spread over the
nodes round-robin; every member must receive every acknowledged message, whichever
node stored it. The generator is `benchmarks.loadgen`'s, as in `fanout`.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks import prefill as pf
from benchmarks.common import (
    LOOPBACK,
    Deadline,
    free_port,
    latency_summary,
    log,
    machine_busy_seconds,
    proc_cpu_seconds,
    raise_nofile,
    self_cpu_seconds,
)
from benchmarks.loadgen import RCVBUF, ConnSpec
from benchmarks.scenarios import Workers
from benchmarks.servers import CHEAP_ARGON2, MYSQL_URL, ServerHandle, start_chat, workdir

SETTLE = 1.5  # seconds after the nodes start: a heartbeat each, so that they know each other


def database_url(suffix: str) -> str:
    """MYSQL_URL with `suffix` added to the database's name (a database of our own,
    apart from the one `history` and `search` make and drop)."""
    url = urlsplit(MYSQL_URL)
    return urlunsplit(url._replace(path=url.path.rstrip("/") + suffix))


def setup_nodes(setup: str) -> int:
    """How many nodes a setup runs: "plain" is one, without `--cluster`."""
    return 1 if setup == "plain" else int(setup)


# ------------------------------------------------------------------------ redis


@dataclass
class RedisHandle:
    """A `redis-server` this harness started: 127.0.0.1 only, no persistence."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.process.pid)


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")
    return False


@contextlib.contextmanager
def private_redis(directory: Path, seconds: float = 10.0) -> Iterator[RedisHandle]:
    """A fresh `redis-server` on a free port for the life of the block."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("the cluster scenario needs redis-server (apt-get install redis-server)")
    port = free_port()
    with (directory / "redis.log").open("wb") as out:
        process = subprocess.Popen(
            [executable, "--bind", LOOPBACK, "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    handle = RedisHandle(process, port)
    try:
        deadline = Deadline.after(seconds)
        while not _redis_answers(port):
            if process.poll() is not None or deadline.passed():
                raise RuntimeError(f"redis-server did not answer on port {port}")
            time.sleep(0.02)
        yield handle
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


# ---------------------------------------------------------------------- MariaDB


def mysql_server_pid() -> int | None:
    """The MariaDB/MySQL server's pid on this machine, for its CPU time (None if not found)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                return int(entry.name)
    return None


STATUS = ("Com_commit", "Innodb_data_fsyncs", "Threads_connected")
"""MariaDB's counters read around the measuring window: other work on the same
database server shows in its commits and fsyncs, which its CPU time hides."""


def mysql_status(url: str) -> dict[str, int]:
    """The STATUS counters of the server of `url` (global, everyone's)."""
    conn = pf.mysql_connect(url)
    try:
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * len(STATUS))
            cur.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN ({marks})", STATUS)
            return {str(name): int(value) for name, value in cur.fetchall()}
    finally:
        conn.close()


def _cpu(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        return proc_cpu_seconds(pid)
    except OSError:
        return float("nan")


# ----------------------------------------------------------------------- fan-out


def cluster_fanout(
    setup: str,
    *,
    members: int = 100,
    senders: int = 10,
    seconds: float = 10.0,
    rate: float | None = None,
    window: int = 128,
    workers: int = 2,
    probes: int = 4,
    rcvbuf: int | None = None,
) -> dict[str, Any]:
    """`fanout` with the members spread over the nodes of `setup` (see the module)."""
    nodes = setup_nodes(setup)
    if rcvbuf is None:
        rcvbuf = 0 if rate else RCVBUF
    if senders + probes > members:
        raise ValueError("more senders and probes than members")
    sample_every = 100
    if rate:
        sample_every = max(1, min(100, int(rate * seconds / 20_000)))
    raise_nofile(4 * members + 1024)
    record: dict[str, Any] = {
        "scenario": "cluster",
        "server": "chat",
        "setup": setup,
        "nodes": nodes,
        "cluster": setup != "plain",
        "members": members,
        "senders": senders,
        "probes": probes,
        "seconds": seconds,
        "mode": "fixed" if rate else "max",
        "offered_rate": rate,
        "window": None if rate else window,
        "workers": workers,
        "sample_every": sample_every,
        "rcvbuf": rcvbuf,
    }
    url = database_url("_cluster")
    with workdir(f"cluster-{setup}") as directory, contextlib.ExitStack() as stack:
        pf.mysql_create_database(url)
        stack.callback(pf.mysql_drop_database, url)
        pf.prefill(url, users=members, params=CHEAP_ARGON2, room_members=True)
        redis = stack.enter_context(private_redis(directory)) if setup != "plain" else None
        handles: list[ServerHandle] = []
        for n in range(1, nodes + 1):
            node_dir = directory / f"node-{n}"
            node_dir.mkdir()
            extra = [] if redis is None else ["--cluster", redis.url, "--node-id", f"node-{n}"]
            handles.append(start_chat(node_dir, db=url, extra_args=extra))
            stack.callback(handles[-1].stop)
        if redis is not None:
            time.sleep(SETTLE)
        ports = [h.port for h in handles]
        record["ports"] = ports
        # Member i on node i mod N: senders, probes and the rest spread alike.
        specs = [
            ConnSpec(
                name=pf.user_name(i),
                sender=i < senders,
                probe=senders <= i < senders + probes,
                port=ports[i % nodes],
            )
            for i in range(members)
        ]
        record["senders_per_node"] = [sum(s.sender for s in specs[n::nodes]) for n in range(nodes)]
        record["probes_per_node"] = [sum(s.probe for s in specs[n::nodes]) for n in range(nodes)]
        shares = [specs[w::workers] for w in range(workers)]
        pool = Workers(workers, "chat")
        stack.callback(pool.close)
        started = time.monotonic()
        # One login at a time: concurrent first logins on MySQL may be refused
        # (`unavailable`: deadlocks between their sessions' DELETE and INSERT).
        setups = [
            proc.ask(
                {
                    "cmd": "setup",
                    "port": ports[0],
                    "conns": [vars(s) for s in share],
                    "room": pf.BENCH_ROOM,
                    "password": pf.PASSWORD,
                    "concurrency": 1,
                    "rcvbuf": rcvbuf,
                },
                timeout=180,
            )
            for proc, share in zip(pool.procs, shares, strict=True)
        ]
        record["setup_seconds"] = time.monotonic() - started
        log(
            f"cluster {setup}: {sum(s['ready'] for s in setups)} connections ready on"
            f" {nodes} node(s) in {record['setup_seconds']:.1f} s"
        )
        time.sleep(1.0)  # let join/presence traffic settle
        db_pid = mysql_server_pid()
        status0 = mysql_status(url)
        node_cpu0 = [proc_cpu_seconds(h.pid) for h in handles]
        redis_cpu0 = redis.cpu_seconds() if redis else 0.0
        db_cpu0 = _cpu(db_pid)
        gen_cpu0 = self_cpu_seconds()
        busy0, wall0 = machine_busy_seconds(), time.monotonic()
        t0 = time.monotonic_ns() + 300_000_000
        starts = pool.ask_all(
            [
                {
                    "cmd": "start",
                    "t0_ns": t0,
                    "seconds": seconds,
                    "rate_per_sender": rate / senders if rate else None,
                    "window": window,
                    "sample_every": sample_every,
                }
                for _ in shares
            ],
            timeout=seconds + 90,
        )
        total = sum(s["acks"] for s in starts)
        drains = pool.ask_all([{"cmd": "drain", "total_sent": total} for _ in shares], timeout=120)
        node_cpu = [proc_cpu_seconds(h.pid) - c for h, c in zip(handles, node_cpu0, strict=True)]
        redis_cpu = (redis.cpu_seconds() if redis else 0.0) - redis_cpu0
        db_cpu = _cpu(db_pid) - db_cpu0
        gen_cpu = sum(d["cpu_seconds"] for d in drains) + self_cpu_seconds() - gen_cpu0
        busy1, wall1 = machine_busy_seconds(), time.monotonic()
        status1 = mysql_status(url)
        record["node_exits"] = [h.stop() for h in handles]
    last_ns = max(d["last_ns"] for d in drains)
    elapsed = (last_ns - t0) / 1e9 if last_ns > t0 else float("nan")
    received = sum(d["received"] for d in drains)
    expected = sum(d["expected"] for d in drains)
    latencies = [sample for d in drains for sample in d["latencies"]]
    closed: dict[str, Any] = {}
    for d in drains:
        closed.update(d["closed"])
    known_db_cpu = 0.0 if db_cpu != db_cpu else db_cpu
    record.update(
        {
            "sent": sum(s["sent"] for s in starts),
            "acked": total,
            "errors": sum(s["errors"] for s in starts),
            "unacked": sum(s["unacked"] for s in starts),
            "msgs_per_s": total / max(s["send_seconds"] for s in starts),
            "deliveries_expected": expected,
            "deliveries": received,
            "lost": expected - received,
            "deliveries_per_s": received / elapsed,
            "elapsed_s": elapsed,
            **{f"lat_{k}": v for k, v in latency_summary(latencies).items()},
            "node_cpu_pct": [100 * c / elapsed for c in node_cpu],
            "server_cpu_pct": 100 * sum(node_cpu) / elapsed,
            "redis_cpu_pct": 100 * redis_cpu / elapsed,
            "mysql_cpu_pct": 100 * db_cpu / elapsed,
            "gen_cpu_pct": 100 * gen_cpu / elapsed,
            # Busy time of the machine that none of the above used (other work);
            # tick-sampled, as in `fanout` (about -20 % quiet at a fixed rate).
            "other_cpu_pct": 100
            * (busy1 - busy0 - sum(node_cpu) - redis_cpu - known_db_cpu - gen_cpu)
            / (wall1 - wall0),
            # Everyone's, ours included; the connections include the nodes' pools.
            "mysql_commits_per_s": (status1["Com_commit"] - status0["Com_commit"])
            / (wall1 - wall0),
            "mysql_fsyncs_per_s": (status1["Innodb_data_fsyncs"] - status0["Innodb_data_fsyncs"])
            / (wall1 - wall0),
            "mysql_connections": status0["Threads_connected"],
            "closed": closed or None,
            "short_conns": sum(len(d["short"]) for d in drains),
        }
    )
    return record


__all__ = ["cluster_fanout", "database_url", "mysql_server_pid", "mysql_status", "private_redis"]
