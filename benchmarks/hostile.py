"""An attacker's reproduction harness: twelve attacks on a real chat-server, one figure each.

    python -m benchmarks.hostile --server PATH/TO/chat-server [--json OUT] [SCENARIO ...]

Each scenario starts a fresh `chat-server` from the given executable (temp SQLite
`--db`, `--no-console`, `--address 127.0.0.1`, a free port, the server's defaults
unless the scenario says otherwise), attacks it over 127.0.0.1 as a stranger on the
internet would, stops it with SIGTERM and waits, and prints one line with its figure.
Every loop is bounded in count and time. Only options that exist in the unfixed
server are used, so the same harness runs against a fixed one. What each figure
measures: the scenario's docstring, and benchmarks/HOSTILE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import LOOPBACK, log, machine_info, raise_nofile
from benchmarks.hostile_kit import (
    CHEAP_ARGON2,
    PASSWORD,
    Closed,
    Conn,
    Server,
    answer,
    chat_server,
    decode_frame,
    elapsed,
    executable,
    outcome,
    proc_status_kib,
    register,
    server_options,
)
from chat_core import messages as m
from chat_core.framing import SERVER_FRAME_LIMIT, FrameDecoder

GENERAL = "Général"
SCENARIO_LIMIT = 240.0  # seconds one scenario may take in all


@dataclass
class Result:
    """One scenario's line (its figure, in words) and all its figures."""

    line: str
    figures: dict[str, Any]


@dataclass
class Context:
    """What every scenario gets: the executable, its options, the seed."""

    exe: str
    options: set[str]
    seed: int
    keep_logs: Path | None
    servers: list[Server] = field(default_factory=list)  # started by the current scenario

    @asynccontextmanager
    async def server(self, tag: str, args: Sequence[str] = ()) -> AsyncIterator[Server]:
        """A fresh server for this scenario (see `chat_server`)."""
        async with chat_server(self.exe, args, tag=tag, keep_logs=self.keep_logs) as server:
            self.servers.append(server)
            yield server


Scenario = Callable[[Context], Awaitable[Result]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def add(func: Scenario) -> Scenario:
        SCENARIOS[name] = func
        return func

    return add


ATTACKER = ("127.0.0.2", 0)  # the attacker's source address (127/8 is all loopback)
BYSTANDER = ("127.0.0.3", 0)  # a well-behaved user elsewhere on the internet


def spread(n: int) -> tuple[str, int]:
    """The n-th of many loopback source addresses (127.10.0.1, 127.10.1.1, ...).

    For setting up many accounts where a per-address limit is not what is measured.
    """
    return (f"127.{10 + n // 250}.{n % 250}.1", 0)


def user_name(rng: random.Random, prefix: str = "u") -> str:
    """A random valid user name."""
    return f"{prefix}{rng.randrange(16**10):010x}"


# --------------------------------------------------------------------------- 1 wedge


WEDGE = "cannot start a transaction within a transaction"
WAVES = 10  # storms of 200 at most, per server


@scenario("wedge")
async def wedge(ctx: Context) -> Result:
    """Storms of 200 connections that send `register` or `login` and close at once.

    In a storm (from 127.0.0.2), half register a random name, half log in (right
    password) to one of four accounts made first; half close by FIN, half by RST (SO_LINGER 0); each
    closes 0-5 ms after sending (seeded), 20 at a time. Whether a storm wedges the
    store is a race, so storms are repeated, up to 10, until the server log shows
    "cannot start a transaction within a transaction". Then a well-behaved client
    (from 127.0.0.3) registers, sends 5 messages to Général and reads history: 7 requests (if the
    register fails, an existing account logs in instead, one request more; what
    cannot be sent without a login counts as `not_sent`). Figure: how many of those
    did not get `ok` (and their codes), and whether the log holds that line. Run on
    two servers: default argon2 (a close lands in the ~0.1 s hash, before any SQL)
    and cheap argon2 (64 KiB, t=1, 1 lane: a close can land in the SQL).
    """
    rounds = {
        "default": await _wedge_round(ctx, "default", ()),
        "cheap": await _wedge_round(ctx, "cheap", CHEAP_ARGON2),
    }
    parts = [
        f"{label} argon2: {r['not_ok']}/{len(r['well_behaved_codes'])} not ok"
        f" {r['codes_not_ok'] or ''}"
        f" wedge-in-log={'yes' if r['wedge_in_log'] else 'no'} after {r['storms']} storm(s)"
        for label, r in rounds.items()
    ]
    return Result("; ".join(parts), rounds)


async def _wedge_round(ctx: Context, label: str, args: Sequence[str]) -> dict[str, Any]:
    rng = random.Random(ctx.seed)
    async with ctx.server(f"wedge-{label}", args) as server:
        port = server.port
        accounts = [user_name(rng, "w") for _ in range(4)]
        for n, name in enumerate(accounts):
            _, conn = await register(port, name, local_addr=spread(n))
            if conn is not None:
                await conn.close()
        gate = asyncio.Semaphore(20)

        async def hit(registers: bool, rst: bool, delay: float, name: str) -> str:
            async with gate:
                try:
                    conn = await Conn.open(port, local_addr=ATTACKER)
                except (OSError, TimeoutError):
                    return "connect-failed"
                if registers:
                    conn.send(m.Register, user=name, password=PASSWORD)
                else:
                    conn.send(m.Login, user=accounts[len(name) % 4], password=PASSWORD)
                with suppress(OSError):
                    await conn.writer.drain()
                await asyncio.sleep(delay)
                await conn.close(rst=rst)
                return "sent"

        sent: Counter[str] = Counter()
        storms = 0
        start = time.monotonic()
        while storms < WAVES and WEDGE not in server.log_now():
            plan = [
                (i % 2 == 0, (i // 2) % 2 == 1, rng.uniform(0, 0.005), user_name(rng))
                for i in range(200)
            ]
            rng.shuffle(plan)
            sent.update(await asyncio.gather(*(hit(*p) for p in plan)))
            storms += 1
            await asyncio.sleep(0.5)  # the server sees the last closes
        storm_s = elapsed(start)
        codes: list[str] = []
        history: int | None = None
        result, conn = await register(port, user_name(rng, "good"), local_addr=BYSTANDER)
        codes.append(result)
        if conn is None:  # then an existing user tries to log in instead
            conn = await Conn.open(port, local_addr=BYSTANDER)
            result, _ = await outcome(conn, m.Login, user=accounts[0], password=PASSWORD)
            codes.append(f"login:{result}")
            if result != "ok":
                await conn.close()
                conn = None
        if conn is None:
            codes += ["not_sent"] * 6
        else:
            for i in range(5):
                codes.append((await outcome(conn, m.Send, room=GENERAL, body=f"hello {i}"))[0])
            result, reply = await outcome(conn, m.History, room=GENERAL)
            codes.append(result)
            if reply is not None and reply.ok:
                history = len(reply.fields.get("messages", []))
            await conn.close()
    text = server.log
    bad = [c for c in codes if c != "ok"]
    return {
        "argon2": "server default" if not args else "cheap (64 KiB, t=1, 1 lane)",
        "storms": storms,
        "storm_connections": dict(sent),
        "storms_s": storm_s,
        "well_behaved_codes": codes,
        "not_ok": len(bad),
        "codes_not_ok": dict(Counter(bad)),
        "unavailable": codes.count("unavailable"),
        "history_messages": history,
        "wedge_in_log": WEDGE in text,
        "wedge_log_lines": text.count(WEDGE),
        "connections_logged_without_address": text.count("connection from None"),
    }


# --------------------------------------------------------------------------- 2 guess


@scenario("guess")
async def guess(ctx: Context) -> Result:
    """60 wrong-password logins for one victim, all at once, from 127.0.0.2.

    The victim registers from 127.0.0.1; 60 connections from 127.0.0.2 each send one
    `login` with a different wrong password, all written before any reply is read.
    Figure: how many replies were `auth_failed` (the password was really hashed and
    checked) vs `rate_limited` (limits today: 5 failures per account, 20 per address, a
    minute); and the server's memory: VmRSS/VmHWM from /proc before and after, VmRSS
    sampled every 20 ms during the storm. Default argon2 (64 MiB per hash).
    """
    async with ctx.server("guess") as server:
        _, victim = await register(server.port, "victim")
        if victim is not None:
            await victim.close()
        attackers = [await Conn.open(server.port, local_addr=ATTACKER) for _ in range(60)]
        before = proc_status_kib(server.pid)
        samples: list[int] = []

        async def sample() -> None:
            for _ in range(6000):  # at most 120 s
                with suppress(OSError, KeyError):
                    samples.append(proc_status_kib(server.pid)["VmRSS"])
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        start = time.monotonic()
        ids = [
            c.send(m.Login, user="victim", password=f"wrong guess {i:04d}")
            for i, c in enumerate(attackers)
        ]
        results = await asyncio.gather(
            *(answer(c, i, 120) for c, i in zip(attackers, ids, strict=True))
        )
        storm_s = elapsed(start)
        sampler.cancel()
        after = proc_status_kib(server.pid)
        for conn in attackers:
            await conn.close()
    counts = Counter(r for r, _ in results)
    peak = max(samples, default=None)
    figures = {
        "auth_failed": counts["auth_failed"],
        "rate_limited": counts["rate_limited"],
        "replies": dict(counts),
        "storm_s": storm_s,
        "rss_before_kib": before.get("VmRSS"),
        "rss_peak_sampled_kib": peak,
        "rss_after_kib": after.get("VmRSS"),
        "hwm_before_kib": before.get("VmHWM"),
        "hwm_after_kib": after.get("VmHWM"),
        "samples": len(samples),
    }
    line = (
        f"{counts['auth_failed']} auth_failed, {counts['rate_limited']} rate_limited of 60"
        f" in {storm_s:.1f} s; VmHWM {_mib(before.get('VmHWM'))} -> "
        f"{_mib(after.get('VmHWM'))} MiB (peak sampled RSS "
        f"{_mib(peak)} MiB)"
    )
    return Result(line, figures)


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f}"


# ------------------------------------------------------------------------- 3 lockout


@scenario("lockout")
async def lockout(ctx: Context) -> Result:
    """5 wrong guesses from 127.0.0.2 at the owner's password; then the owner logs in.

    The owner registers (and so logs in) from 127.0.0.1. An attacker connecting from
    127.0.0.2 sends 5 `login`s with wrong passwords. Then the owner logs in from
    127.0.0.1 with the right password. Figure: the owner's reply (`ok`, or
    `rate_limited` and its retry_after_ms).
    """
    async with ctx.server("lockout") as server:
        _, owner = await register(server.port, "owner")
        if owner is not None:
            await owner.close()
        attacker = await Conn.open(server.port, local_addr=ATTACKER)
        guesses = [
            (await outcome(attacker, m.Login, user="owner", password=f"guess number {i}"))[0]
            for i in range(5)
        ]
        await attacker.close()
        conn = await Conn.open(server.port)
        result, reply = await outcome(conn, m.Login, user="owner", password=PASSWORD)
        await conn.close()
    retry = reply.fields.get("retry_after_ms") if reply is not None else None
    line = f"owner's login: {result}" + (f" (retry_after_ms={retry})" if retry else "")
    return Result(line, {"guesses": guesses, "owner": result, "retry_after_ms": retry})


# ------------------------------------------------------------------------ 4 tls-idle


@scenario("tls-idle")
async def tls_idle(ctx: Context) -> Result:
    """300 raw TCP connections to a TLS server from 127.0.0.2 that never send a ClientHello.

    The server runs with `--max-connections 100 --limit-loopback` (so the
    per-address cap, 32 by default, applies to loopback too), a certificate from
    `trustme`. The 300 connections are opened one after the other and never send a
    byte. Figures: how many the server closed (EOF or reset) within 2 s of the last
    one opening, and how many are still open then; whether a real TLS client from
    127.0.0.1 can register and ping while they are held; and, of those still open at
    2 s, the time from opening to the first close (given up at 20 s).
    `--tls-handshake-timeout`, when the server has it, is left at its default.
    """
    import trustme

    has_option = "--tls-handshake-timeout" in ctx.options
    authority = trustme.CA()
    issued = authority.issue_cert("localhost", "127.0.0.1")
    with tempfile.TemporaryDirectory(prefix="chat-hostile-tls-") as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        issued.private_key_pem.write_to_path(str(key))
        client_tls = ssl.create_default_context()
        authority.configure_trust(client_tls)
        args = ["--tls-cert", str(cert), "--tls-key", str(key)]
        args += ["--max-connections", "100", "--limit-loopback"]
        async with ctx.server("tls-idle", args) as server:
            figures = await _hold_idle(server.port, client_tls)
    figures["tls_handshake_timeout_option"] = "present" if has_option else "option missing"
    held = figures["held_first_close_s"]
    line = (
        f"closed within 2 s: {figures['closed_2s']}, open at 2 s: {figures['open_2s']}"
        f" of {figures['opened']}; real TLS client: {figures['real_client']}; first close"
        f" of a held one after: {'>20' if held is None else held} s"
        f" (--tls-handshake-timeout: {figures['tls_handshake_timeout_option']})"
    )
    return Result(line, figures)


async def _hold_idle(port: int, client_tls: ssl.SSLContext) -> dict[str, Any]:
    opened: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []
    failed = 0
    for _ in range(300):
        try:
            async with asyncio.timeout(5):
                reader, writer = await asyncio.open_connection(LOOPBACK, port, local_addr=ATTACKER)
            opened.append((time.monotonic(), reader, writer))
        except (OSError, TimeoutError):
            failed += 1
    closed_at: dict[int, tuple[float, str]] = {}
    held_closed = asyncio.Event()
    held: set[int] = set()

    async def watch(index: int, reader: asyncio.StreamReader) -> None:
        how = "eof"
        try:
            for _ in range(1000):
                if not await reader.read(4096):
                    break
                how = "data+eof"
        except OSError:
            how = "reset"
        closed_at[index] = (time.monotonic(), how)
        if index in held:
            held_closed.set()

    watchers = [asyncio.create_task(watch(i, r)) for i, (_, r, _) in enumerate(opened)]
    try:
        last_open = opened[-1][0] if opened else time.monotonic()
        await asyncio.sleep(max(0.0, last_open + 2 - time.monotonic()))
        closed_2s = len(closed_at)
        held.update(i for i in range(len(opened)) if i not in closed_at)
        real = "no"
        result, conn = await register(port, "tlsuser", tls=client_tls)
        if conn is not None:
            ping, _ = await outcome(conn, m.Ping)
            real = "registered+ping ok" if ping == "ok" else f"ping {ping}"
            await conn.close()
        else:
            real = f"register {result}"
        give_up = (opened[0][0] if opened else time.monotonic()) + 20
        with suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, give_up - time.monotonic())):
                await held_closed.wait()
        first = min(
            (at - opened[i][0] for i, (at, _) in closed_at.items() if i in held), default=None
        )
        return {
            "opened": len(opened),
            "connect_failed": failed,
            "closed_2s": closed_2s,
            "open_2s": len(opened) - closed_2s,
            "real_client": real,
            "held_first_close_s": round(first, 2) if first is not None else None,
            "closed_by_end": len(closed_at),
            "close_kinds": dict(Counter(how for _, how in closed_at.values())),
        }
    finally:
        for task in watchers:
            task.cancel()
        for _, _, writer in opened:
            writer.transport.abort()


# --------------------------------------------------------------------------- 5 names

LOOKALIKES = [
    "\u0430lice",  # Cyrillic а
    "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth ａｌｉｃｅ
    "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",  # mathematical bold
    "a\u217cice",  # SMALL ROMAN NUMERAL FIFTY
    "\u0251lice",  # Latin alpha
    "al\u0131ce",  # dotless i
    "alic\u1d49",  # MODIFIER LETTER SMALL E
    "alice\u3164",  # HANGUL FILLER
    "alice\uffa0",  # HALFWIDTH HANGUL FILLER
    "\u3164",
    "\u115f",  # HANGUL CHOSEONG FILLER
    "admin",
    "root",
    "system",
    "server",
    "console",
]


@scenario("names")
async def names(ctx: Context) -> Result:
    """Register `alice`, then 16 look-alikes, invisible names and reserved-sounding names.

    Each attempt is a new connection sending `register`, each from its own loopback
    address (so that a per-address registration limit cannot be what refuses them).
    Figure: how many of the 16 registered, and the error code of each refusal.
    """
    tried: list[dict[str, str]] = []
    async with ctx.server("names") as server:
        first, conn = await register(server.port, "alice", local_addr=spread(0))
        if conn is not None:
            await conn.close()
        for n, name in enumerate(LOOKALIKES, 1):
            result, conn = await register(server.port, name, local_addr=spread(n))
            if conn is not None:
                await conn.close()
            points = " ".join(f"U+{ord(c):04X}" for c in name if not c.isascii()) or "ascii"
            tried.append({"name": name, "non_ascii": points, "result": result})
    ok = [t["name"] for t in tried if t["result"] == "ok"]
    refused = {t["name"]: t["result"] for t in tried if t["result"] != "ok"}
    shown = ", ".join(f"{n!a}: {c}" for n, c in refused.items()) or "none"
    line = f"{len(ok)}/{len(tried)} registered (alice: {first}); refused: {shown}"
    return Result(line, {"alice": first, "registered": len(ok), "tried": tried})


# ------------------------------------------------------------------- 6 registrations


@scenario("registrations")
async def registrations(ctx: Context) -> Result:
    """150 registrations in a row from one address, then 40 at once.

    Server with `--limit-loopback --max-connections-per-ip 64` (loopback not exempt).
    Each registration is a new connection, closed after its reply. Figure: how many
    succeeded, and the codes of the refusals, for each phase.
    """
    rng = random.Random(ctx.seed)
    args = ["--limit-loopback", "--max-connections-per-ip", "64"]
    async with ctx.server("registrations", args) as server:

        async def one() -> str:
            result, conn = await register(server.port, user_name(rng))
            if conn is not None:
                await conn.close()
            return result

        start = time.monotonic()
        serial = Counter([await one() for _ in range(150)])
        serial_s = elapsed(start)
        parallel = Counter(await asyncio.gather(*(one() for _ in range(40))))
    figures = {
        "serial": dict(serial),
        "serial_ok": serial["ok"],
        "serial_s": serial_s,
        "parallel": dict(parallel),
        "parallel_ok": parallel["ok"],
    }
    line = (
        f"in a row: {serial['ok']}/150 ok {_refusals(serial)} ({serial_s:.0f} s);"
        f" at once: {parallel['ok']}/40 ok {_refusals(parallel)}"
    )
    return Result(line, figures)


def _refusals(counts: Counter[str]) -> str:
    other = {k: v for k, v in counts.items() if k != "ok"}
    return str(other) if other else ""


# ----------------------------------------------------------------------- 7 slowloris


@scenario("slowloris")
async def slowloris(ctx: Context) -> Result:
    """100 logged-in connections each start a frame, then send 1 byte every 3 s.

    100 users register (cheap argon2: 64 KiB, t=1, 1 lane), 10 at a time, each from
    its own loopback address and staying on that connection (so that no per-address
    limit is what is measured). Each then
    sends a length prefix announcing 1000 bytes and the first byte, then one more
    byte every 3 s; meanwhile it reads whatever the server sends. Figure: how many
    are still open after 40 s (at 40 s they are counted and closed).
    """
    rng = random.Random(ctx.seed)
    async with ctx.server("slowloris", CHEAP_ARGON2) as server:
        gate = asyncio.Semaphore(10)

        async def join(n: int) -> Conn | None:
            async with gate:
                return (await register(server.port, user_name(rng, "s"), local_addr=spread(n)))[1]

        conns = [c for c in await asyncio.gather(*(join(n) for n in range(100))) if c]
        closed: dict[int, str] = {}

        async def listen(index: int, conn: Conn) -> None:
            try:
                for _ in range(100_000):
                    await conn.frame()
            except Closed as end:
                closed[index] = end.how

        async def drip(conn: Conn) -> None:
            conn.writer.write((1000).to_bytes(4, "big") + b"\x81")
            for _ in range(14):
                await asyncio.sleep(3)
                if conn.writer.is_closing():
                    return
                conn.writer.write(b"\x00")

        tasks = [asyncio.create_task(listen(i, c)) for i, c in enumerate(conns)]
        tasks += [asyncio.create_task(drip(c)) for c in conns]
        await asyncio.sleep(40)
        still_open = len(conns) - len(closed)
        for task in tasks:
            task.cancel()
        for conn in conns:
            await conn.close(rst=True)
    figures = {
        "logged_in": len(conns),
        "open_after_40s": still_open,
        "closed": dict(Counter(closed.values())),
    }
    line = f"{still_open}/{len(conns)} still open after 40 s" + (
        f" (closed: {figures['closed']})" if closed else ""
    )
    return Result(line, figures)


# ----------------------------------------------------------------------- 8 debug-log

SECRET_PASSWORD = "Hostile-Password-4f1d9c"
SECRET_BODY = "hostile body 7e3a51 meet at dawn"


@scenario("debug-log")
async def debug_log(ctx: Context) -> Result:
    """`--log-level debug`: do a password, a body and a hash end up in the log?

    Register with a known password, send a known body to Général, read history.
    Figure: how many times the body, the password and `$argon2id$` appear in the
    server's stderr once it has stopped.
    """
    async with ctx.server("debug-log", ["--log-level", "debug"]) as server:
        result, conn = await register(server.port, "scribe", SECRET_PASSWORD)
        sent = "not_sent"
        if conn is not None:
            sent, _ = await outcome(conn, m.Send, room=GENERAL, body=SECRET_BODY)
            await outcome(conn, m.History, room=GENERAL)
            await conn.close()
    text = server.log
    figures = {
        "register": result,
        "send": sent,
        "body": text.count(SECRET_BODY),
        "password": text.count(SECRET_PASSWORD),
        "argon2id": text.count("$argon2id$"),
        "log_lines": text.count("\n"),
    }
    line = (
        f"in the log: body x{figures['body']}, password x{figures['password']},"
        f" $argon2id$ x{figures['argon2id']} ({figures['log_lines']} lines)"
    )
    return Result(line, figures)


# ------------------------------------------------------------------- 9 slow-consumer


@scenario("slow-consumer")
async def slow_consumer(ctx: Context) -> Result:
    """A reader stops reading while a writer floods Général; how does its stream end?

    Server with `--request-rate 0`. The reader's socket has SO_RCVBUF 4096, set before
    connecting, and after registering it reads nothing. The writer sends 4000-character
    messages, each once the previous reply came, until it sees `presence` offline for
    the reader (at most 3000 messages or 60 s). The reader then waits 7 s (the old
    close timeout is 5 s) and reads everything (at most 15 s). Figure: whether the last
    thing it got was a complete `disconnect` frame with reason `slow_consumer`, a
    stream cut mid-frame (bytes left in the decoder) or a reset; and the bytes it read.
    """
    loop = asyncio.get_running_loop()
    async with ctx.server("slow-consumer", ["--request-rate", "0"]) as server:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            async with asyncio.timeout(10):
                await loop.sock_connect(sock, (LOOPBACK, server.port))
                await loop.sock_sendall(
                    sock, m.encode(m.Register(id=1, user="reader", password=PASSWORD))
                )
                decoder = FrameDecoder(SERVER_FRAME_LIMIT)
                registered = False
                while not registered:
                    data = await loop.sock_recv(sock, 65536)
                    if not data:
                        raise Closed("eof")
                    frames = [decode_frame(p) for p in decoder.feed(data)]
                    registered = any(isinstance(f, m.RawReply) and f.ok for f in frames)
            flood = await _flood(server.port)
            await asyncio.sleep(7)
            figures = {**flood, **await _read_rest(sock, decoder)}
        finally:
            sock.close()
    line = (
        f"{figures['verdict']}; read {figures['bytes_after_resume']} bytes"
        f" ({figures['frames_after_resume']} frames) after resuming; last frame:"
        f" {figures['last_frame']}; dropped after {figures['messages_sent']} messages"
    )
    return Result(line, figures)


async def _flood(port: int) -> dict[str, Any]:
    result, writer = await register(port, "writer")
    if writer is None:
        return {"writer": result, "messages_sent": 0, "drop_seen": False}
    body = "x" * 4000
    start = time.monotonic()
    sent = 0
    seen = False
    try:
        while sent < 3000 and time.monotonic() - start < 60 and not seen:
            result, _ = await outcome(writer, m.Send, room=GENERAL, body=body)
            if result != "ok":
                break
            sent += 1
            seen = writer.saw(m.Presence, user="reader", online=False)
            writer.events = [e for e in writer.events if not isinstance(e, m.Message)]
    finally:
        await writer.close()
    return {"writer": result, "messages_sent": sent, "drop_seen": seen, "flood_s": elapsed(start)}


async def _read_rest(sock: socket.socket, decoder: FrameDecoder) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    total = frames = 0
    last: Any = None
    ended = "still open at 15 s"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                data = await loop.sock_recv(sock, 65536)
        except TimeoutError:
            break
        except OSError as error:
            ended = "reset" if isinstance(error, ConnectionResetError) else repr(error)
            break
        if not data:
            ended = "eof"
            break
        total += len(data)
        for payload in decoder.feed(data):
            frames += 1
            last = decode_frame(payload)
    if isinstance(last, m.Disconnect):
        last_frame = f"disconnect({last.reason})"
    else:
        last_frame = type(last).__name__ if last is not None else "none"
    clean = ended == "eof" and decoder.pending == 0 and last_frame == "disconnect(slow_consumer)"
    if clean:
        verdict = "complete disconnect(slow_consumer) then EOF"
    elif ended == "reset":
        verdict = f"reset ({decoder.pending} bytes of a frame left)"
    elif decoder.pending:
        verdict = f"cut mid-frame ({decoder.pending} bytes left), {ended}"
    else:
        verdict = f"{ended}, no disconnect frame last"
    return {
        "verdict": verdict,
        "ended_by": ended,
        "bytes_after_resume": total,
        "frames_after_resume": frames,
        "pending_bytes": decoder.pending,
        "last_frame": last_frame,
    }


# --------------------------------------------------------------------------- 10 nonce


@scenario("nonce")
async def nonce(ctx: Context) -> Result:
    """The same nonce twice with different bodies.

    `send` to Général with nonce `n1` body `A`, then with nonce `n1` body `B`. Figure:
    the second reply (`ok` with the first msg_id, ok with a new one, or an error code)
    and the bodies history holds.
    """
    async with ctx.server("nonce") as server:
        result, conn = await register(server.port, "noncer")
        if conn is None:
            return Result(f"register {result}", {"register": result})
        first, r1 = await outcome(conn, m.Send, room=GENERAL, body="A", nonce="n1")
        second, r2 = await outcome(conn, m.Send, room=GENERAL, body="B", nonce="n1")
        _, page = await outcome(conn, m.History, room=GENERAL)
        await conn.close()
    id1 = r1.fields.get("msg_id") if r1 is not None else None
    id2 = r2.fields.get("msg_id") if r2 is not None else None
    bodies = [x.get("body") for x in page.fields.get("messages", [])] if page else None
    if second == "ok":
        said = "ok, same msg_id as the first" if id1 == id2 else f"ok, new msg_id {id2}"
    else:
        said = second
    line = f"second send: {said} (first {first} msg_id {id1}); history bodies: {bodies}"
    return Result(
        line,
        {
            "first": first,
            "first_msg_id": id1,
            "second": second,
            "second_msg_id": id2,
            "history_bodies": bodies,
        },
    )


# ---------------------------------------------------------------------- 11 rooms-leak


@scenario("rooms-leak")
async def rooms_leak(ctx: Context) -> Result:
    """What `rooms` tells a user about rooms they are not a member of.

    An insider joins Blabla (open) and posts there, and stays online; an outsider
    (member of Général only) sends `rooms`. Approval rooms can have no members without
    the console, so for them only the fields are shown. Figure: for each room the
    outsider is not a member of, which of `online` and `last_msg_id` it sees, with
    their values.
    """
    async with ctx.server("rooms-leak") as server:
        _, insider = await register(server.port, "insider")
        _, outsider = await register(server.port, "outsider")
        if insider is None or outsider is None:
            return Result("could not register", {})
        await outcome(insider, m.Join, room="Blabla")
        await outcome(insider, m.Send, room="Blabla", body="members only, I thought")
        result, reply = await outcome(outsider, m.ListRooms)
        await insider.close()
        await outsider.close()
    seen: dict[str, dict[str, Any]] = {}
    for info in reply.fields.get("rooms", []) if reply is not None else []:
        if info.get("state") != "member":
            seen[info["name"]] = {k: info[k] for k in ("online", "last_msg_id") if k in info}
            seen[info["name"]]["approval"] = info.get("approval")
    shown = "; ".join(
        f"{name}: " + (", ".join(f"{k}={v}" for k, v in f.items() if k != "approval") or "-")
        for name, f in seen.items()
    )
    return Result(f"non-member sees {shown}" if seen else f"rooms: {result}", {"rooms": seen})


# ----------------------------------------------------------------------- 12 user-rate


@scenario("user-rate")
async def user_rate(ctx: Context) -> Result:
    """One user on 32 connections, each pinging as fast as its replies come, for 3 s.

    Default `--request-rate 10`, `--request-burst 30` per connection. Each connection
    sends a `ping` as soon as the previous reply came; after a `rate_limited` it
    waits the reply's retry_after_ms (at most 1 s) so that it is not closed as a
    flood. Figure: accepted pings per second across the 32 connections, and the count
    of `rate_limited`.
    """
    async with ctx.server("user-rate") as server:
        result, first = await register(server.port, "rater")
        if first is None:
            return Result(f"register {result}", {"register": result})

        async def login() -> Conn | None:
            conn = await Conn.open(server.port)
            for _ in range(20):  # logins in flight count: wait as told, then try again
                got, reply = await outcome(conn, m.Login, user="rater", password=PASSWORD)
                if got != "rate_limited" or reply is None:
                    break
                await asyncio.sleep(min(1.0, int(reply.fields.get("retry_after_ms", 100)) / 1000))
            if got == "ok":
                return conn
            await conn.close()
            return None

        more = await asyncio.gather(*(login() for _ in range(31)))
        conns = [first, *(c for c in more if c is not None)]
        counts: Counter[str] = Counter()

        async def pinger(conn: Conn, until: float) -> None:
            while time.monotonic() < until:
                got, reply = await outcome(conn, m.Ping)
                counts[got] += 1
                if got.startswith("closed") or got == "timeout":
                    return
                if got == "rate_limited" and reply is not None:
                    wait = min(1.0, int(reply.fields.get("retry_after_ms", 100)) / 1000)
                    await asyncio.sleep(min(wait, max(0.0, until - time.monotonic())))

        start = time.monotonic()
        await asyncio.gather(*(pinger(c, start + 3) for c in conns))
        seconds = time.monotonic() - start
        for conn in conns:
            await conn.close()
    rate = counts["ok"] / seconds
    figures = {
        "connections": len(conns),
        "accepted": counts["ok"],
        "accepted_per_s": round(rate, 1),
        "rate_limited": counts["rate_limited"],
        "replies": dict(counts),
        "seconds": round(seconds, 2),
    }
    line = (
        f"{rate:.0f} accepted pings/s across {len(conns)} connections of one user"
        f" ({counts['ok']} in {seconds:.1f} s), {counts['rate_limited']} rate_limited"
    )
    return Result(line, figures)


# ------------------------------------------------------------------------------ main


async def run(ctx: Context, chosen: list[str]) -> dict[str, Any]:
    """Run the scenarios one after the other; print each line as it is known."""
    figures: dict[str, Any] = {}
    for name in chosen:
        log(f"hostile: {name}")
        ctx.servers = []
        start = time.monotonic()
        try:
            async with asyncio.timeout(SCENARIO_LIMIT):
                result = await SCENARIOS[name](ctx)
        except Exception as error:
            result = Result(f"FAILED: {error!r}", {"error": repr(error)})
        result.figures["seconds"] = elapsed(start)
        result.figures["server_tracebacks"] = sum(s.tracebacks() for s in ctx.servers)
        result.figures["server_exit_codes"] = [s.returncode for s in ctx.servers]
        tracebacks = result.figures["server_tracebacks"]
        note = f" [server log: {tracebacks} tracebacks]" if tracebacks else ""
        print(f"{name:<14} {result.line}{note}", flush=True)
        figures[name] = result.figures
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hostile",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--server", required=True, help="the chat-server executable")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of every RNG")
    parser.add_argument("--logs", type=Path, help="copy each server's log to this directory")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    args = parser.parse_args(argv)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    exe = executable(args.server)
    if not Path(exe).is_file():
        parser.error(f"no executable {args.server}")
    raise_nofile(4096)
    ctx = Context(exe, server_options(exe), args.seed, args.logs)
    start = time.monotonic()
    figures = asyncio.run(run(ctx, args.scenarios or list(SCENARIOS)))
    total = elapsed(start)
    print(f"{'total':<14} {total:.0f} s", flush=True)
    if args.json is not None:
        record = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "server": ctx.exe,
            "seed": ctx.seed,
            "machine": machine_info(),
            "total_s": total,
            "scenarios": figures,
        }
        args.json.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
