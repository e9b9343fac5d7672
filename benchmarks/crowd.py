"""The crowd scenarios: a reconnection storm after a restart, password logins at
once, and many idle logged-in connections in one room.

* `storm`: N members of Général log in (cheap argon2id, protocol 2: set-up only),
  the server is stopped and started again on the same database and port (with the
  command's default argon2id), and all N log in again with their session tokens at
  once. Time from the new server listening to the last login, logins/s, server CPU,
  and the presence frames and bytes the clients received, for protocol 1 or 2.
* `password_storm`: N clients (200) log in with their passwords at once against the
  default argon2id: how many the hashing pool takes and how many it refuses with
  `rate_limited` (and `retry_after_ms`), and the server's peak memory; then the
  refused ones come back when told, until everyone is in.
* `connections`: K logged-in connections, all members of Général, idle: server RSS
  and KiB per connection, time to log them all in (session tokens put in the
  database beforehand: no password hashing), and a few room messages that must
  reach all K, counted exactly, with the time to the last delivery.

Each function starts the server itself (a fresh SQLite file in a temporary
directory), measures, stops it (also on errors) and returns one flat record.
Clients run in spawned worker processes (`benchmarks.crowd_client`).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import prefill as pf
from benchmarks.common import (
    free_port,
    latency_summary,
    log,
    proc_cpu_seconds,
    proc_rss_kib,
    raise_nofile,
    self_cpu_seconds,
)
from benchmarks.crowd_client import CrowdConn, connect, crowd_worker_main
from benchmarks.scenarios import WorkerProc, run_async
from benchmarks.servers import CHEAP_ARGON2, DEFAULT_ARGON2, ServerHandle, start_chat, workdir
from chat_core import messages as m
from chat_core.names import name_key
from chat_srv.accounts import token_digest
from chat_srv.picture import DEFAULT_ROOM

FD_RESERVE = 64  # descriptors a server needs besides its clients' sockets (measured: ~20)
WARM_UP_USERS = 20


# ------------------------------------------------------------------------- workers


class CrowdPool:
    """Crowd worker processes (spawned: they share nothing with the harness)."""

    def __init__(self, count: int, nofile: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.procs: list[WorkerProc] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=crowd_worker_main, args=(theirs, nofile), daemon=True)
            process.start()
            self.procs.append(WorkerProc(process, ours))

    def ask_all(self, commands: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
        for proc, command in zip(self.procs, commands, strict=True):
            proc.pipe.send(command)
        return [proc.answer(timeout) for proc in self.procs]

    def ask_one(self, index: int, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        return self.procs[index].ask(command, timeout)

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, BrokenPipeError):
                proc.pipe.send({"cmd": "close"})
        for proc in self.procs:
            proc.process.join(10)
            if proc.process.is_alive():
                proc.process.terminate()
                proc.process.join(5)


def _shares(items: list[Any], workers: int) -> list[list[Any]]:
    return [items[w::workers] for w in range(workers)]


def _fd_limit() -> int:
    """Raise the open-files limit to the hard limit (the servers inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return raise_nofile(1 << 20 if hard == resource.RLIM_INFINITY else hard)


def open_fds(pid: int) -> int:
    """How many descriptors a process has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_peak_rss_kib(pid: int) -> int:
    """The highest resident set size of a process so far (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPSynRetrans", "TCPTimeouts")


def tcp_counters() -> dict[str, int]:
    """The machine's TCP counters that show a full accept queue (/proc/net/netstat):
    a connection whose handshake overflowed it waits for a retransmission (1 s,
    then 3 s, 7 s...). Machine-wide: other work on the machine counts too."""
    found: dict[str, int] = {}
    with open("/proc/net/netstat", encoding="ascii") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in TCP_COUNTERS:
                    found[name] = int(value)
    return found


def _tcp_delta(before: dict[str, int]) -> dict[str, int]:
    after = tcp_counters()
    return {f"tcp_{name}": after.get(name, 0) - before.get(name, 0) for name in TCP_COUNTERS}


class RssSampler:
    """The highest VmRSS of a process seen every `every` seconds, in a thread."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        self.pid = pid
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, RuntimeError):
                self.peak = max(self.peak, proc_rss_kib(self.pid))
            self._stop.wait(self.every)


# ------------------------------------------------------------------ the database


def prepare(
    db: Path,
    users: int,
    params: tuple[int, int, int],
    *,
    known_address: bool = False,
    tokens: bool = False,
) -> list[dict[str, Any]]:
    """`users` accounts (`benchmarks.prefill`), all members of Général; with
    `known_address`, each has logged in from 127.0.0.1 before; with `tokens`, each
    has a session token (its digest stored, as the server stores it).

    Returns each user's credentials (name, password, token) in user order.
    """
    pf.prefill(str(db), users=users, params=params, room_members=False)
    now = int(time.time() * 1000)
    names = [pf.user_name(i) for i in range(users)]
    credentials: list[dict[str, Any]] = [
        {"name": n, "password": pf.PASSWORD, "token": None} for n in names
    ]
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        cur = conn.cursor()
        cur.execute("BEGIN")
        cur.execute("SELECT id FROM rooms WHERE name_key = ?", (name_key(DEFAULT_ROOM),))
        room_id = int(cur.fetchone()[0])
        cur.execute("SELECT name, id FROM users")
        ids = {str(name): int(uid) for name, uid in cur.fetchall()}
        user_ids = [ids[n] for n in names]
        cur.executemany(
            "INSERT INTO memberships (user_id, room_id, state, read_marker, since)"
            " VALUES (?, ?, 'member', 0, ?)",
            [(uid, room_id, now) for uid in user_ids],
        )
        if known_address:
            cur.executemany(
                "INSERT INTO login_addresses (user_id, ip, last_login_at) VALUES (?, ?, ?)",
                [(uid, "127.0.0.1", now) for uid in user_ids],
            )
        if tokens:
            for entry in credentials:
                entry["token"] = secrets.token_urlsafe(32)
            cur.executemany(
                "INSERT INTO sessions (digest, user_id, created_at, used_at) VALUES (?, ?, ?, ?)",
                [
                    (token_digest(c["token"]), uid, now, now)
                    for c, uid in zip(credentials, user_ids, strict=True)
                ],
            )
        cur.execute("COMMIT")
    finally:
        conn.close()
    return credentials


def _stop_all(handles: list[ServerHandle]) -> int | None:
    code = None
    for handle in handles:
        code = handle.stop()
    return code


def _sum(replies: list[dict[str, Any]], key: str) -> int:
    return sum(int(r.get(key) or 0) for r in replies)


def _merge_counts(replies: list[dict[str, Any]], key: str) -> dict[str, int]:
    merged: dict[str, int] = {}
    for reply in replies:
        for name, count in (reply.get(key) or {}).items():
            merged[str(name)] = merged.get(str(name), 0) + int(count)
    return merged


def _ms_summary(values_ms: list[float], prefix: str) -> dict[str, float]:
    summary = latency_summary([int(v * 1e6) for v in values_ms])
    return {f"{prefix}_{k}": v for k, v in summary.items() if k != "samples"}


# -------------------------------------------------------------------------- storm


def storm(
    *,
    users: int = 5000,
    protocol: int = 2,
    workers: int = 2,
    concurrency: int = 0,
    settle: float = 1.0,
    seconds: float = 300.0,
) -> dict[str, Any]:
    """All `users` come back with their tokens at once after a restart.

    `concurrency`: logins in flight per worker (0: every connection at once).
    """
    nofile = _fd_limit()
    if users + FD_RESERVE > nofile:
        raise ValueError(f"{users} users need more than the open-files limit ({nofile})")
    record: dict[str, Any] = {
        "scenario": "storm",
        "server": "chat",
        "auth": "token",
        "users": users,
        "protocol": protocol,
        "workers": workers,
        "concurrency": concurrency,
    }
    with workdir("storm") as directory:
        db = directory / "chat.db"
        credentials = prepare(db, users, CHEAP_ARGON2)
        port = free_port()
        handles = [start_chat(directory, port=port, argon2=CHEAP_ARGON2)]
        pool = CrowdPool(workers, nofile)
        try:
            # Before the restart: everyone logged in once (password, cheap argon2id,
            # protocol 2 so that this set-up does not cost a version-1 storm).
            started = time.monotonic()
            setups = pool.ask_all(
                [
                    {"cmd": "login", "port": port, "users": share, "protocol": 2, "concurrency": 16}
                    for share in _shares(credentials, workers)
                ],
                timeout=900,
            )
            ready = _sum(setups, "logged_in")
            record["setup_seconds"] = time.monotonic() - started
            log(f"storm: {ready} of {users} logged in in {record['setup_seconds']:.1f} s")
            if ready != users:
                raise RuntimeError(f"only {ready} of {users} logged in before the restart")
            time.sleep(settle)
            record["rss_before_restart_kib"] = proc_rss_kib(handles[0].pid)
            # The restart: a graceful stop, then the same command with the default
            # argon2id on the same database and port.
            started = time.monotonic()
            record["first_server_exit"] = handles[0].stop()
            record["stop_seconds"] = time.monotonic() - started
            closed = pool.ask_all([{"cmd": "wait_closed", "seconds": 30.0}] * workers, 60)
            record["closed_by_restart"] = _sum(closed, "closed")
            started = time.monotonic()
            handles.append(start_chat(directory, port=port, argon2=DEFAULT_ARGON2))
            t0_ns = time.monotonic_ns()
            server = handles[-1]
            record["startup_seconds"] = time.monotonic() - started
            cpu0, gen0 = proc_cpu_seconds(server.pid), self_cpu_seconds()
            tcp0 = tcp_counters()
            results = pool.ask_all(
                [
                    {
                        "cmd": "storm",
                        "port": port,
                        "protocol": protocol,
                        "auth": "token",
                        "concurrency": concurrency,
                        "t0_ns": t0_ns,
                        "seconds": seconds,
                    }
                ]
                * workers,
                timeout=seconds + 120,
            )
            cpu1, gen1 = proc_cpu_seconds(server.pid), self_cpu_seconds()
            record.update(_tcp_delta(tcp0))
            time.sleep(settle)  # the last merged presence windows, the last frames read
            counts = pool.ask_all([{"cmd": "counts"}] * workers, 120)
            record["rss_after_kib"] = proc_rss_kib(server.pid)
            record["rss_peak_kib"] = proc_peak_rss_kib(server.pid)
        finally:
            pool.close()
            record["server_exit"] = _stop_all(handles)
    last_ns = max(int(r["last_ns"]) for r in results)
    storm_s = (last_ns - t0_ns) / 1e9 if last_ns else float("nan")
    logged_in = _sum(results, "logged_in")
    done_ms = [float(v) for r in results for v in r["done_ms"]]
    gen_cpu = sum(float(c["cpu_seconds"]) for c in counts) + (gen1 - gen0)
    record.update(
        {
            "logged_in": logged_in,
            "storm_s": storm_s,
            "logins_per_s": logged_in / storm_s if storm_s == storm_s else float("nan"),
            **_ms_summary(done_ms, "login"),
            "first": _merge_counts(results, "first"),
            "failures": _merge_counts(results, "failures"),
            "attempts": _sum(results, "attempts"),
            "connect_errors": _sum(results, "connect_errors"),
            "rate_limited": _sum(results, "rate_limited"),
            "server_cpu_s": cpu1 - cpu0,
            "server_cpu_pct": 100 * (cpu1 - cpu0) / storm_s if storm_s else float("nan"),
            "gen_cpu_s": gen_cpu,
            "gen_cpu_pct": 100 * gen_cpu / storm_s if storm_s else float("nan"),
            "presence_frames": _sum(counts, "presence_frames"),
            "presence_bytes": _sum(counts, "presence_bytes"),
            "presence_changes": _sum(counts, "presence_changes"),
            "frames": _sum(counts, "frames"),
            "bytes": _sum(counts, "bytes"),
            "other_frames": _sum(counts, "other_frames"),
            "still_open": _sum(counts, "open"),
            "disconnects": _merge_counts(counts, "reasons"),
        }
    )
    record["presence_frames_per_client"] = record["presence_frames"] / max(1, logged_in)
    record["presence_kib_per_client"] = record["presence_bytes"] / 1024 / max(1, logged_in)
    return record


# ---------------------------------------------------------------- password storm


def password_storm(
    *, users: int = 200, workers: int = 2, retry: bool = True, seconds: float = 300.0
) -> dict[str, Any]:
    """`users` clients log in with their passwords at once (default argon2id).

    Each has logged in from 127.0.0.1 before (its own budget of attempts applies,
    not the one for strangers at an address), so what bounds the storm is the
    hashing pool: its workers and its queue; beyond, `rate_limited`.
    """
    nofile = _fd_limit()
    record: dict[str, Any] = {
        "scenario": "storm",
        "server": "chat",
        "auth": "password",
        "users": users,
        "protocol": 2,
        "workers": workers,
        "concurrency": 0,
        "retry": retry,
        "argon2_params": list(DEFAULT_ARGON2),
    }
    with workdir("password-storm") as directory:
        db = directory / "chat.db"
        credentials = prepare(db, users, DEFAULT_ARGON2, known_address=True)
        port = free_port()
        handles: list[ServerHandle] = []
        pool = CrowdPool(workers, nofile)
        try:
            started = time.monotonic()
            handles.append(start_chat(directory, port=port, argon2=DEFAULT_ARGON2))
            server = handles[0]
            t0_ns = time.monotonic_ns()
            record["startup_seconds"] = time.monotonic() - started
            record["rss_before_kib"] = proc_rss_kib(server.pid)
            record["rss_peak_before_kib"] = proc_peak_rss_kib(server.pid)
            cpu0 = proc_cpu_seconds(server.pid)
            tcp0 = tcp_counters()
            with RssSampler(server.pid) as sampler:
                results = pool.ask_all(
                    [
                        {
                            "cmd": "storm",
                            "port": port,
                            "protocol": 2,
                            "auth": "password",
                            "users": share,
                            "concurrency": 0,
                            "t0_ns": t0_ns,
                            "retry": retry,
                            "seconds": seconds,
                        }
                        for share in _shares(credentials, workers)
                    ],
                    timeout=seconds + 120,
                )
            cpu1 = proc_cpu_seconds(server.pid)
            record.update(_tcp_delta(tcp0))
            record["rss_peak_kib"] = max(sampler.peak, proc_peak_rss_kib(server.pid))
            record["rss_peak_sampled_kib"] = sampler.peak
            record["rss_after_kib"] = proc_rss_kib(server.pid)
        finally:
            pool.close()
            record["server_exit"] = _stop_all(handles)
    last_ns = max(int(r["last_ns"]) for r in results)
    total_s = (last_ns - t0_ns) / 1e9 if last_ns else float("nan")
    first = _merge_counts(results, "first")
    waits = sorted(int(w) for r in results for w in r["retry_after_ms"])
    record.update(
        {
            "first": first,
            "first_ok": first.get("ok", 0),
            "first_rate_limited": first.get("rate_limited", 0),
            "first_other": users - first.get("ok", 0) - first.get("rate_limited", 0),
            "logged_in": _sum(results, "logged_in"),
            "attempts": _sum(results, "attempts"),
            "rate_limited": _sum(results, "rate_limited"),
            "retry_after_ms_min": waits[0] if waits else None,
            "retry_after_ms_median": waits[len(waits) // 2] if waits else None,
            "retry_after_ms_max": waits[-1] if waits else None,
            "failures": _merge_counts(results, "failures"),
            "all_in_s": total_s,
            "logins_per_s": _sum(results, "logged_in") / total_s if total_s else float("nan"),
            "server_cpu_s": cpu1 - cpu0,
            "server_cpu_pct": 100 * (cpu1 - cpu0) / total_s if total_s else float("nan"),
        }
    )
    record["peak_extra_mib"] = (record["rss_peak_kib"] - record["rss_before_kib"]) / 1024
    return record


# -------------------------------------------------------------------- connections


def connections(
    *,
    count: int = 5000,
    protocol: int = 2,
    workers: int = 2,
    concurrency: int = 32,
    messages: int = 5,
    settle: float = 3.0,
    later: float = 35.0,
) -> dict[str, Any]:
    """`count` logged-in connections in Général, idle; memory; one message to all.

    RSS is read `settle` seconds after the last login and, unless `later` is 0,
    again `later` seconds after it: past the server's 30 s login timeout, whose
    timer each connection holds until then (about 0.4 KiB).

    The open-files limit caps `count` (the server needs its clients' sockets and
    a few descriptors of its own under one limit): the record says what was asked
    (`requested`) and what ran (`connections`).
    """
    nofile = _fd_limit()
    requested = count
    count = min(count, nofile - FD_RESERVE)
    if count < requested:
        log(f"connections: {requested} asked, {count} fit under the open-files limit {nofile}")
    record: dict[str, Any] = {
        "scenario": "connections",
        "server": "chat",
        "requested": requested,
        "connections": count,
        "protocol": protocol,
        "workers": workers,
        "concurrency": concurrency,
        "auth": "token",
        "nofile": nofile,
    }
    with workdir("connections") as directory:
        db = directory / "chat.db"
        credentials = prepare(db, count + WARM_UP_USERS, CHEAP_ARGON2, tokens=True)
        warm, crowd = credentials[:WARM_UP_USERS], credentials[WARM_UP_USERS:]
        handles = [start_chat(directory)]
        server = handles[0]
        pool = CrowdPool(workers, nofile)
        try:
            # First-use costs (imports, the first store queries, a few presence
            # windows) go into the baseline, as in the `idle` scenario.
            run_async(_warm_up(server.port, warm, protocol))
            time.sleep(settle)
            rss0, fds0 = proc_rss_kib(server.pid), open_fds(server.pid)
            cpu0 = proc_cpu_seconds(server.pid)
            tcp0 = tcp_counters()
            started = time.monotonic()
            setups = pool.ask_all(
                [
                    {
                        "cmd": "login",
                        "port": server.port,
                        "users": share,
                        "protocol": protocol,
                        "concurrency": concurrency,
                        "seconds": 900.0,
                    }
                    for share in _shares(crowd, workers)
                ],
                timeout=1000,
            )
            login_s = time.monotonic() - started
            login_cpu = proc_cpu_seconds(server.pid) - cpu0
            record.update(_tcp_delta(tcp0))
            ready = _sum(setups, "logged_in")
            log(f"connections: {ready} of {count} logged in in {login_s:.1f} s")
            time.sleep(settle)
            rss1, fds1 = proc_rss_kib(server.pid), open_fds(server.pid)
            rss_later = None
            if later > 0:
                time.sleep(max(0.0, later - settle))
                rss_later = proc_rss_kib(server.pid)
            delivery = _deliveries(pool, workers, messages, ready)
            rss2 = proc_rss_kib(server.pid)
            counts = pool.ask_all([{"cmd": "counts"}] * workers, 120)
        finally:
            pool.close()
            record["server_exit"] = _stop_all(handles)
    record.update(
        {
            "ready": ready,
            "login_failures": _merge_counts(setups, "failures"),
            "login_s": login_s,
            "logins_per_s": ready / login_s,
            "login_server_cpu_s": login_cpu,
            "login_server_cpu_pct": 100 * login_cpu / login_s,
            "rss_before_kib": rss0,
            "rss_after_kib": rss1,
            "rss_after_messages_kib": rss2,
            "kib_per_conn": (rss1 - rss0) / max(1, ready),
            "later_s": later or None,
            "rss_later_kib": rss_later,
            "kib_per_conn_later": (rss_later - rss0) / max(1, ready) if rss_later else None,
            "fds_before": fds0,
            "fds_after": fds1,
            "presence_frames": _sum(counts, "presence_frames"),
            "presence_bytes": _sum(counts, "presence_bytes"),
            "disconnects": _merge_counts(counts, "reasons"),
            **delivery,
        }
    )
    return record


async def _warm_up(port: int, users: list[dict[str, Any]], protocol: int) -> None:
    conns: list[CrowdConn] = []
    for user in users:
        conn = await connect(port, user["name"])
        reply = await conn.request(
            m.Login(id=conn.new_id(), user=user["name"], token=user["token"], protocol=protocol)
        )
        reply.result(m.LoginOk)
        conns.append(conn)
    for conn in conns:
        conn.close()
    await asyncio.sleep(0.5)


def _deliveries(pool: CrowdPool, workers: int, messages: int, ready: int) -> dict[str, Any]:
    """`messages` room messages, one at a time, from the first worker's first
    connection: each must reach every connection (the sender's too)."""
    times_ms: list[float] = []
    acks_ms: list[float] = []
    lost = extra = 0
    for k in range(1, messages + 1):
        body = f"crowd message {k}".ljust(64, ".")
        sent = pool.ask_one(0, {"cmd": "send", "room": DEFAULT_ROOM, "body": body}, 60)
        got = pool.ask_all([{"cmd": "expect", "messages": k, "seconds": 30.0}] * workers, 60)
        # Each connection counts at most k here: what is missing so far, in all.
        lost = ready * k - _sum(got, "received")
        extra = _sum(got, "extra")
        last = max(int(g["last_ns"]) for g in got)
        times_ms.append((last - int(sent["sent_ns"])) / 1e6)
        acks_ms.append((int(sent["ok_ns"]) - int(sent["sent_ns"])) / 1e6)
    ordered = sorted(times_ms)
    return {
        "messages": messages,
        "deliveries_expected": ready * messages,
        "lost": lost,
        "extra_deliveries": extra,
        "delivery_first_ms": times_ms[0] if times_ms else float("nan"),
        "delivery_ms": ordered[len(ordered) // 2] if ordered else float("nan"),
        "delivery_max_ms": ordered[-1] if ordered else float("nan"),
        "ack_ms": sorted(acks_ms)[len(acks_ms) // 2] if acks_ms else float("nan"),
    }


__all__ = ["connections", "password_storm", "prepare", "storm"]
