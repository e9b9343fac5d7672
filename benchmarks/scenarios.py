"""The scenarios: fan-out, idle connections, history pages, searches, logins.

Each function starts the server under test itself (fresh SQLite file in a temporary
directory, or ngIRCd on a free port), measures, stops it, and returns one flat
record (a dict) for the JSON line and the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from benchmarks import corpus
from benchmarks import prefill as pf
from benchmarks.common import (
    latency_summary,
    log,
    machine_busy_seconds,
    proc_cpu_seconds,
    proc_rss_kib,
    raise_nofile,
    self_cpu_seconds,
)
from benchmarks.loadgen import RCVBUF, ChatConn, ConnSpec, IrcConn, open_many, worker_main
from benchmarks.servers import (
    CHEAP_ARGON2,
    DEFAULT_ARGON2,
    MYSQL_URL,
    ServerHandle,
    start_chat,
    start_ngircd,
    workdir,
)
from chat_core import messages as m

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop (as the server does) when it is installed."""
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


# ----------------------------------------------------------------------- workers


@dataclass
class WorkerProc:
    process: BaseProcess
    pipe: Pipe

    def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.pipe.send(command)
        return self.answer(timeout)

    def answer(self, timeout: float) -> dict[str, Any]:
        if not self.pipe.poll(timeout):
            raise TimeoutError(f"worker gave no answer in {timeout:.0f} s")
        reply: dict[str, Any] = self.pipe.recv()
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply


class Workers:
    """Generator worker processes (spawned, so they share nothing with this one)."""

    def __init__(self, count: int, kind: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.procs: list[WorkerProc] = []
        for _ in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=worker_main, args=(theirs, {"kind": kind}), daemon=True
            )
            process.start()
            self.procs.append(WorkerProc(process, ours))

    def ask_all(self, commands: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
        for proc, command in zip(self.procs, commands, strict=True):
            proc.pipe.send(command)
        return [proc.answer(timeout) for proc in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError, BrokenPipeError):
                proc.pipe.send({"cmd": "close"})
        for proc in self.procs:
            proc.process.join(10)
            if proc.process.is_alive():
                proc.process.terminate()
                proc.process.join(5)


def _start(kind: str, directory: Any, users: int, members: bool) -> ServerHandle:
    if kind == "chat":
        pf.prefill(
            str(directory / "chat.db"), users=users, params=CHEAP_ARGON2, room_members=members
        )
        return start_chat(directory)
    return start_ngircd(directory)


# ----------------------------------------------------------------------- fan-out


def fanout(
    server: str,
    *,
    members: int = 100,
    senders: int = 10,
    seconds: float = 10.0,
    rate: float | None = None,
    window: int = 32,
    workers: int = 2,
    probes: int = 4,
    sample_every: int | None = None,
    batch: int = 16,
    poll: bool = True,
    rcvbuf: int | None = None,
) -> dict[str, Any]:
    """`members` in one room, `senders` of them writing 64-byte messages; every member
    receives every message (on IRC, every member but the sender).

    `rcvbuf`: SO_RCVBUF of the client sockets, 0 for the kernel's autotuning. By
    default RCVBUF at max rate (a receiver process that is descheduled for a moment
    must not be dropped as a slow consumer) and autotuning at a fixed rate, as real
    clients have: a fixed large buffer changes when the receiving kernel sends its
    ACKs (no window updates as the buffer grows), and a server that writes without
    TCP_NODELAY (ngIRCd) then waits for them: its median latency at 8,100 msgs/s went
    from ~1 ms to ~4.7 ms with 4 MiB buffers; chat-server's did not move.
    """
    if rcvbuf is None:
        rcvbuf = 0 if rate else RCVBUF
    if senders > members:
        raise ValueError("more senders than members")
    if sample_every is None:
        # About 20,000 samples per probe at most, at least 1 in 100 messages.
        sample_every = 10 if rate else 100
        if rate:
            sample_every = max(1, min(100, int(rate * seconds / 20_000)))
    raise_nofile(4 * members + 1024)
    record: dict[str, Any] = {
        "scenario": "fanout",
        "server": server,
        "members": members,
        "senders": senders,
        "seconds": seconds,
        "mode": "fixed" if rate else "max",
        "offered_rate": rate,
        "window": None if rate else window,
        "workers": workers,
        "sample_every": sample_every,
        "batch": batch,
        "poll": poll,
        "rcvbuf": rcvbuf,
    }
    # Spread senders and latency probes over the workers; probes are not senders.
    specs = [
        ConnSpec(
            name=pf.user_name(i),
            sender=i < senders,
            probe=senders <= i < senders + probes,
        )
        for i in range(members)
    ]
    shares: list[list[ConnSpec]] = [specs[w::workers] for w in range(workers)]
    with workdir(f"fanout-{server}") as directory:
        handle = _start(server, directory, members, True)
        pool = Workers(workers, server)
        try:
            room = pf.BENCH_ROOM if server == "chat" else "#bench"
            started = time.monotonic()
            setups = pool.ask_all(
                [
                    {
                        "cmd": "setup",
                        "port": handle.port,
                        "conns": [vars(s) for s in share],
                        "room": room,
                        "password": pf.PASSWORD,
                        "concurrency": 16,
                        "batch": batch,
                        "poll": poll,
                        "rcvbuf": rcvbuf,
                    }
                    for share in shares
                ],
                timeout=180,
            )
            record["setup_seconds"] = time.monotonic() - started
            log(
                f"fanout {server}: {sum(s['ready'] for s in setups)} connections ready "
                f"in {record['setup_seconds']:.1f} s"
            )
            time.sleep(1.0)  # let join/presence traffic settle
            cpu0 = proc_cpu_seconds(handle.pid)
            gen_cpu0 = self_cpu_seconds()
            busy0, wall0 = machine_busy_seconds(), time.monotonic()
            t0 = time.monotonic_ns() + 300_000_000
            per_sender = rate / senders if rate else None
            starts = pool.ask_all(
                [
                    {
                        "cmd": "start",
                        "t0_ns": t0,
                        "seconds": seconds,
                        "rate_per_sender": per_sender,
                        "window": window,
                        "sample_every": sample_every,
                    }
                    for _ in shares
                ],
                timeout=seconds + 90,
            )
            if server == "chat":
                total = sum(s["acks"] for s in starts)
            else:
                total = sum(s["sent"] for s in starts)
            drains = pool.ask_all(
                [
                    {"cmd": "drain", "total_sent": total, "own_excluded": server != "chat"}
                    for _ in shares
                ],
                timeout=120,
            )
            cpu1 = proc_cpu_seconds(handle.pid)
            gen_main_cpu = self_cpu_seconds() - gen_cpu0
            busy1, wall1 = machine_busy_seconds(), time.monotonic()
        finally:
            pool.close()
            code = handle.stop()
        record["server_exit"] = code
    last_ns = max(d["last_ns"] for d in drains)
    elapsed = (last_ns - t0) / 1e9 if last_ns > t0 else float("nan")
    received = sum(d["received"] for d in drains)
    expected = sum(d["expected"] for d in drains)
    send_seconds = max(s["send_seconds"] for s in starts)
    latencies: list[int] = []
    for d in drains:
        latencies.extend(d["latencies"])
    closed: dict[str, Any] = {}
    short: dict[str, int] = {}
    for d in drains:
        closed.update(d["closed"])
        short.update(d["short"])
    record.update(
        {
            "sent": sum(s["sent"] for s in starts),
            "acked": sum(s["acks"] for s in starts) if server == "chat" else None,
            "errors": sum(s["errors"] for s in starts),
            "unacked": sum(s["unacked"] for s in starts),
            "msgs_per_s": total / send_seconds,
            "deliveries_expected": expected,
            "deliveries": received,
            "lost": expected - received,
            "deliveries_per_s": received / elapsed,
            "elapsed_s": elapsed,
            **{f"lat_{k}": v for k, v in latency_summary(latencies).items()},
            "server_cpu_s": cpu1 - cpu0,
            "server_cpu_pct": 100 * (cpu1 - cpu0) / elapsed,
            "gen_cpu_s": sum(d["cpu_seconds"] for d in drains) + gen_main_cpu,
            "gen_cpu_pct": 100 * (sum(d["cpu_seconds"] for d in drains) + gen_main_cpu) / elapsed,
            # CPU used by neither the server nor the generator over the same window
            # (the generator's workers count from their own start: an approximation).
            "other_cpu_pct": 100
            * (busy1 - busy0 - (cpu1 - cpu0) - sum(d["cpu_seconds"] for d in drains) - gen_main_cpu)
            / (wall1 - wall0),
            "closed": closed or None,
            "short_conns": len(short),
        }
    )
    return record


# --------------------------------------------------------------------------- idle


def idle(
    server: str, *, connections: int = 5000, workers: int = 2, settle: float = 3.0
) -> dict[str, Any]:
    """Log in `connections` connections that then do nothing; server RSS per connection."""
    raise_nofile(2 * connections + 1024)
    record: dict[str, Any] = {"scenario": "idle", "server": server, "connections": connections}
    warm = 20
    specs = [ConnSpec(name=pf.user_name(i)) for i in range(warm, warm + connections)]
    shares = [specs[w::workers] for w in range(workers)]
    with workdir(f"idle-{server}") as directory:
        handle = _start(server, directory, connections + warm, False)
        pool = Workers(workers, server)
        try:
            # Warm up: a few logins, closed again, so first-use costs (imports, the
            # password thread pool) are in the baseline.
            run_async(_warm_up(server, handle.port, [pf.user_name(i) for i in range(warm)]))
            time.sleep(settle)
            rss0 = proc_rss_kib(handle.pid)
            started = time.monotonic()
            setups = pool.ask_all(
                [
                    {
                        "cmd": "setup",
                        "port": handle.port,
                        "conns": [vars(s) for s in share],
                        "room": None,
                        "password": pf.PASSWORD,
                        "concurrency": 32,
                    }
                    for share in shares
                ],
                timeout=300,
            )
            ready = sum(s["ready"] for s in setups)
            record["login_seconds"] = time.monotonic() - started
            time.sleep(settle)
            rss1 = proc_rss_kib(handle.pid)
        finally:
            pool.close()
            handle.stop()
    record.update(
        {
            "ready": ready,
            "rss_before_kib": rss0,
            "rss_after_kib": rss1,
            "kib_per_conn": (rss1 - rss0) / ready,
        }
    )
    return record


async def _warm_up(server: str, port: int, names: list[str]) -> None:
    conns = await open_many(
        server, port, [ConnSpec(name=n) for n in names], None, pf.PASSWORD, concurrency=8
    )
    for conn in conns:
        conn.close()
    await asyncio.sleep(0.2)


# ------------------------------------------------------------------------ history


def history(
    db: str = "sqlite",
    *,
    messages: int = 1_000_000,
    requests: int = 1000,
    limit: int = 50,
    seed: int = 1,
) -> dict[str, Any]:
    """Pages of `limit` messages before random ids in a room of `messages` messages."""
    record: dict[str, Any] = {
        "scenario": "history",
        "server": "chat",
        "db": db,
        "messages": messages,
        "requests": requests,
        "limit": limit,
    }
    with workdir("history") as directory:
        url = str(directory / "chat.db") if db == "sqlite" else MYSQL_URL
        if db == "mysql":
            pf.mysql_create_database(url)
        try:
            started = time.monotonic()
            filled = pf.prefill(
                url, users=1, params=CHEAP_ARGON2, room_members=True, messages=messages
            )
            record["prefill_seconds"] = time.monotonic() - started
            log(f"history {db}: {messages:,} messages in {record['prefill_seconds']:.1f} s")
            handle = start_chat(directory, db=url)
            try:
                result = run_async(
                    _pages(handle.port, filled, requests, limit, random.Random(seed))
                )
                cpu = proc_cpu_seconds(handle.pid)
            finally:
                handle.stop()
        finally:
            if db == "mysql":
                pf.mysql_drop_database(url)
    record.update(result)
    record["server_cpu_s_total"] = cpu
    return record


async def _pages(
    port: int, filled: pf.Prefill, requests: int, limit: int, rng: random.Random
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        lambda: ChatConn("history", pf.BENCH_ROOM), "127.0.0.1", port
    )
    t = time.perf_counter_ns()
    await conn.login(pf.user_name(0), pf.PASSWORD)
    login_ms = (time.perf_counter_ns() - t) / 1e6
    low = filled.first_msg_id + limit
    high = filled.last_msg_id + 1
    for _ in range(20):  # warm-up: the first pages read the file from disk
        await conn.request(m.History(id=conn.new_id(), room=pf.BENCH_ROOM, limit=limit))
    samples: list[int] = []
    bad = 0
    for _ in range(requests):
        before = rng.randrange(low, high + 1)
        t = time.perf_counter_ns()
        reply = await conn.request(
            m.History(id=conn.new_id(), room=pf.BENCH_ROOM, before=before, limit=limit)
        )
        samples.append(time.perf_counter_ns() - t)
        page = reply.result(m.HistoryOk)
        ids = [message.msg_id for message in page.messages]
        # (MariaDB's bulk insert may leave gaps in the ids: check order, not adjacency.)
        if len(ids) != limit or ids != sorted(set(ids)) or ids[-1] >= before:
            bad += 1
    conn.close()
    return {
        "login_ms": login_ms,
        "bad_pages": bad,
        **{f"lat_{k}": v for k, v in latency_summary(samples).items()},
    }


# ------------------------------------------------------------------------- search

# Each kind of query: (label, queries to cycle through, narrowing). The frequencies
# are those of `benchmarks.corpus` (share of all messages holding the word).
SEARCH_KINDS: list[tuple[str, list[str], dict[str, str]]] = [
    ("common word", ["the", "les", "est"], {}),  # 52 %, 13 %, 11 %
    ("mid word", ["release", "build", "merci", "serveur"], {}),  # ~2.5 %
    ("rare word", corpus.rare_words(), {}),  # 40-150 messages each
    ("two words", ["release build", "merci demain", "bug prod", "the est"], {}),
    ("phrase", ['"mot passe"', '"the de"', '"release build"'], {}),
    ("prefix", ["dépl*", "secur*", "télé*", "merc*"], {}),
    ("short prefix", ["re*", "ba*"], {}),
    ("common, small room", ["the", "est"], {"room": corpus.SMALL_ROOM}),
    ("mid, big room", ["release", "merci"], {"room": "Blabla"}),
    ("common, one peer", ["the", "est"], {"peer": ""}),  # the peer is set from the fill
]


def search(
    db: str = "sqlite",
    *,
    messages: int = 1_000_000,
    requests: int = 200,
    seconds: float = 60.0,
    limit: int = 20,
    seed: int = 1,
) -> dict[str, Any]:
    """`search` requests of several kinds to a server holding `messages` messages."""
    record: dict[str, Any] = {
        "scenario": "search",
        "server": "chat",
        "db": db,
        "messages": messages,
        "requests": requests,
        "limit": limit,
    }
    with workdir("search") as directory:
        url = str(directory / "chat.db") if db == "sqlite" else MYSQL_URL
        if db == "mysql":
            pf.mysql_create_database(url)
        try:
            filled = corpus.fill(url, messages=messages, seed=seed)
            record["prefill_seconds"] = filled.seconds
            log(f"search {db}: {messages:,} messages in {filled.seconds['total']:.0f} s")
            handle = start_chat(directory, db=url)
            try:
                cpu0 = proc_cpu_seconds(handle.pid)
                kinds = run_async(_searches(handle.port, filled, requests, seconds, limit))
                cpu = proc_cpu_seconds(handle.pid) - cpu0
            finally:
                handle.stop()
        finally:
            if db == "mysql":
                pf.mysql_drop_database(url)
    record["kinds"] = kinds
    record["server_cpu_s"] = cpu
    return record


async def _searches(
    port: int, filled: corpus.SearchFill, requests: int, seconds: float, limit: int
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    searcher = pf.user_name(0)
    _, conn = await loop.create_connection(
        lambda: ChatConn(searcher, pf.BENCH_ROOM), "127.0.0.1", port
    )
    await conn.login(searcher, pf.PASSWORD)
    peer = filled.peers[0]
    results = []
    for label, queries, narrowing in SEARCH_KINDS:
        fields = {key: (value or peer) for key, value in narrowing.items()}
        room, peer_name = fields.get("room"), fields.get("peer")

        def ask(query: str, room: str | None = room, peer: str | None = peer_name) -> m.Search:
            return m.Search(id=conn.new_id(), query=query, limit=limit, room=room, peer=peer)

        for query in queries:  # warm-up: the first reads come from the disk
            await conn.request(ask(query))
        samples: list[int] = []
        errors: dict[str, int] = {}
        found = 0
        bad = 0
        deadline = time.monotonic() + seconds
        for i in range(requests):
            if time.monotonic() > deadline:
                break
            query = queries[i % len(queries)]
            request = ask(query)
            t = time.perf_counter_ns()
            reply = await conn.request(request, seconds=120.0)
            elapsed = time.perf_counter_ns() - t
            if not reply.ok:
                code = str(reply.fields.get("code"))
                errors[code] = errors.get(code, 0) + 1
                continue
            samples.append(elapsed)
            page = reply.result(m.SearchOk)
            ids = [message.msg_id for message in page.messages]
            found += len(ids)
            if len(ids) > limit or ids != sorted(set(ids), reverse=True):
                bad += 1
        summary = latency_summary(samples)
        results.append(
            {
                "kind": label,
                "queries": queries if len(queries) <= 4 else f"{len(queries)} words",
                **fields,
                "answered": len(samples),
                "errors": errors,
                "bad_pages": bad,
                "mean_found": found / len(samples) if samples else 0,
                **{f"lat_{k}": v for k, v in summary.items()},
            }
        )
        log(
            f"  {label}: {len(samples)} answered, p50 {summary['p50_ms']:.2f} ms,"
            f" p99 {summary['p99_ms']:.2f} ms, errors {errors or 'none'}"
        )
    conn.close()
    return results


# -------------------------------------------------------------------------- login


def login(*, params: str = "cheap", seconds: float = 10.0, concurrency: int = 8) -> dict[str, Any]:
    """Logins per second: `concurrency` clients connect, log in, close, again."""
    argon = CHEAP_ARGON2 if params == "cheap" else DEFAULT_ARGON2
    record: dict[str, Any] = {
        "scenario": "login",
        "server": "chat",
        "argon2": params,
        "argon2_params": list(argon),
        "concurrency": concurrency,
        "seconds": seconds,
    }
    with workdir("login") as directory:
        pf.prefill(str(directory / "chat.db"), users=concurrency, params=argon, room_members=True)
        handle = start_chat(directory, argon2=argon)
        try:
            cpu0 = proc_cpu_seconds(handle.pid)
            gen0 = self_cpu_seconds()
            result = run_async(_logins(handle.port, concurrency, seconds))
            cpu = proc_cpu_seconds(handle.pid) - cpu0
            gen = self_cpu_seconds() - gen0
        finally:
            handle.stop()
    record.update(result)
    record["server_cpu_pct"] = 100 * cpu / result["elapsed_s"]
    record["gen_cpu_pct"] = 100 * gen / result["elapsed_s"]
    return record


async def _logins(port: int, concurrency: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    samples: list[int] = []
    failures = 0
    start = time.monotonic()
    end = start + seconds

    async def client(i: int) -> None:
        nonlocal failures
        name = pf.user_name(i)
        while time.monotonic() < end:
            t = time.perf_counter_ns()
            try:
                _, conn = await loop.create_connection(
                    lambda: ChatConn(name, pf.BENCH_ROOM), "127.0.0.1", port
                )
                await conn.login(name, pf.PASSWORD)
            except Exception:
                failures += 1
                await asyncio.sleep(0.05)
                continue
            samples.append(time.perf_counter_ns() - t)
            conn.close()
            await conn.closed

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.monotonic() - start
    return {
        "logins": len(samples),
        "failures": failures,
        "elapsed_s": elapsed,
        "logins_per_s": len(samples) / elapsed,
        **{f"lat_{k}": v for k, v in latency_summary(samples).items()},
    }


__all__ = ["IrcConn", "fanout", "history", "idle", "login", "search"]
