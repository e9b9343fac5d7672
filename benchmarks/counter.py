"""What the message counter row costs: batches of messages stored on MySQL/MariaDB.

On MySQL the store always takes a batch's ids from the one-row `message_counter`,
locked (`SELECT … FOR UPDATE`) until the transaction ends, with or without
`--cluster` (chat_srv/store/mysql.py, `add_messages`; schema 7): it cannot be
turned off from the command line. So its cost is measured here, on the store's
own schema in a fresh database, by `writers` concurrent writers (one connection
each, as one node's store writes one batch at a time) storing batches of `batch`
room messages for `seconds`, in three ways:

* `store`: the store's own `add_messages` (a `MysqlStore` per writer): the counter,
  the multi-row INSERT with its ids, the counter's UPDATE, the search words.
* `counter`: the same transaction by hand without the search words: `SELECT
  last_id … FOR UPDATE`, the multi-row INSERT with the ids, the counter's UPDATE,
  COMMIT.
* `auto`: the multi-row INSERT without ids (the table's AUTO_INCREMENT gives them,
  the first in `lastrowid`), COMMIT: what the store did before schema 7.

`counter` minus `auto` is the counter's cost; `store` puts it beside the rest of
what storing a batch does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import aiomysql

from benchmarks import prefill as pf
from benchmarks.cluster import database_url, mysql_server_pid, mysql_status
from benchmarks.common import latency_summary, log, proc_cpu_seconds
from benchmarks.loadgen import plain_body
from benchmarks.scenarios import run_async
from benchmarks.servers import CHEAP_ARGON2
from chat_srv.store import open_store
from chat_srv.store.base import NewMessage
from chat_srv.store.migrations import MESSAGE_COLUMNS, message_row

VARIANTS = ("store", "counter", "auto")
SENDERS = 10  # users the messages rotate over
_MARKS = ", ".join(["%s"] * len(MESSAGE_COLUMNS.split(",")))


def _batch(room_id: int, user_ids: list[int], writer: int, seq: int, size: int) -> list[NewMessage]:
    now = int(time.time() * 1000)
    return [
        NewMessage(
            sender_id=user_ids[(writer + i) % len(user_ids)],
            body=plain_body(seq + i),
            ts=now,
            room_id=room_id,
        )
        for i in range(size)
    ]


async def _connect(url: str) -> Any:
    """A connection as the store makes them: utf8mb4, autocommit off."""
    parts = urlsplit(url)
    return await aiomysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        db=parts.path.lstrip("/"),
        charset="utf8mb4",
        autocommit=False,
        init_command="SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
    )


async def _by_hand(cur: Any, rows: list[tuple[object, ...]], counter: bool) -> int:
    """One batch as `counter` or `auto` stores it; the first id."""
    if not counter:
        await cur.executemany(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES ({_MARKS})", rows)
        return int(cur.lastrowid)
    await cur.execute("SELECT last_id FROM message_counter WHERE one = 1 FOR UPDATE")
    (last,) = await cur.fetchone()
    first = int(last) + 1
    ids = range(first, first + len(rows))
    await cur.executemany(
        f"INSERT INTO messages (id, {MESSAGE_COLUMNS}) VALUES (%s, {_MARKS})",
        [(i, *row) for i, row in zip(ids, rows, strict=True)],
    )
    await cur.execute("UPDATE message_counter SET last_id = %s WHERE one = 1", (ids[-1],))
    return first


async def _writers(
    variant: str, url: str, room_id: int, user_ids: list[int], writers: int, batch: int,
    seconds: float, max_batches: int,
) -> dict[str, Any]:  # fmt: skip
    samples: list[int] = []
    stored = 0
    # Opened before the clock starts (a store migrates and checks its schema at open).
    stores = [open_store(url) for _ in range(writers)] if variant == "store" else []
    conns = [] if stores else [await _connect(url) for _ in range(writers)]
    for store in stores:
        await store.open()
    deadline = time.monotonic() + seconds

    async def writer(n: int) -> None:
        nonlocal stored
        for k in range(max_batches):
            if time.monotonic() > deadline:
                break
            messages = _batch(room_id, user_ids, n, k * batch, batch)
            t = time.perf_counter_ns()
            if stores:
                await stores[n].add_messages(messages)
            else:
                async with conns[n].cursor() as cur:
                    await _by_hand(cur, [message_row(m) for m in messages], variant == "counter")
                await conns[n].commit()
            samples.append(time.perf_counter_ns() - t)
            stored += batch

    try:
        started = time.monotonic()
        await asyncio.gather(*(writer(n) for n in range(writers)))
        elapsed = time.monotonic() - started
    finally:
        for store in stores:
            await store.close()
        for conn in conns:
            conn.close()
    return {
        "batches": len(samples),
        "messages": stored,
        "elapsed_s": elapsed,
        "msgs_per_s": stored / elapsed,
        **{f"tx_{k}": v for k, v in latency_summary(samples).items()},
    }


def counter_cost(
    variant: str, *, writers: int = 1, batch: int = 10, seconds: float = 5.0,
    max_batches: int = 100_000,
) -> dict[str, Any]:  # fmt: skip
    """`writers` writers storing batches of `batch` messages for `seconds` (see the module)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    record: dict[str, Any] = {
        "scenario": "counter",
        "server": "chat",
        "variant": variant,
        "writers": writers,
        "batch": batch,
        "seconds": seconds,
    }
    url = database_url("_counter")
    pf.mysql_create_database(url)
    try:
        filled = pf.prefill(url, users=SENDERS, params=CHEAP_ARGON2, room_members=True)
        db_pid = mysql_server_pid()
        db_cpu0 = proc_cpu_seconds(db_pid) if db_pid else float("nan")
        status0 = mysql_status(url)
        result = run_async(
            _writers(
                variant, url, filled.room_id, filled.user_ids, writers, batch, seconds, max_batches
            )
        )
        db_cpu = (proc_cpu_seconds(db_pid) if db_pid else float("nan")) - db_cpu0
        status1 = mysql_status(url)
        conn = pf.mysql_connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*), MIN(id), MAX(id) FROM messages")
                count, low, high = cur.fetchone()
        finally:
            conn.close()
    finally:
        pf.mysql_drop_database(url)
    record.update(result)
    record["mysql_cpu_pct"] = 100 * db_cpu / result["elapsed_s"]
    # Everyone's (ours: about one commit per batch); more means other work on MariaDB.
    elapsed = result["elapsed_s"]
    record["mysql_commits_per_s"] = (status1["Com_commit"] - status0["Com_commit"]) / elapsed
    record["mysql_fsyncs_per_s"] = (
        status1["Innodb_data_fsyncs"] - status0["Innodb_data_fsyncs"]
    ) / elapsed
    record["batches_per_s"] = result["batches"] / elapsed
    record["mysql_connections"] = status0["Threads_connected"]
    # Every batch stored, and (but for `auto`, whose ids may have gaps) densely.
    record["rows"] = int(count)
    record["dense"] = bool(count) and int(high) - int(low) + 1 == int(count)
    if record["rows"] != result["messages"]:
        log(f"counter {variant}: {result['messages']} stored but {count} rows")
    return record


__all__ = ["VARIANTS", "counter_cost"]
