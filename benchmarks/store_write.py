"""What storing a batch of room messages costs the SQLite store, statement by statement.

    python -m benchmarks.store_write [--batches 8,32,128,512] [--messages 20000]
        [--busy]

Creates a fresh database with the store's schema, then writes `--messages` room
messages (64-byte bodies, each with a nonce, as the fan-out's senders send them) in
batches, through the store's own batch function (`_add_messages` in one write
transaction, as the database thread runs it), and prints the time each kind of
statement took, per message. Without the event loop or aiosqlite's thread: this is
the database's work alone, what the fan-out profile charges to `_add_messages`.

`--busy` runs a Python thread that never waits, as the event loop's thread is under
load, and writes through the store's public `add_messages` instead: the wall time a
message then costs shows what waiting for the GIL adds (the sqlite3 module lets go
of it during each step of a statement, and must take it back after).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, cast

from chat_srv.store.base import NewMessage
from chat_srv.store.sqlite import SqliteStore, _add_messages, _in_transaction

BODY = "the quick brown fox jumps over the lazy dog, message {n:>8} of the run"[:64]


def _batches(size: int, total: int, tag: str) -> list[list[NewMessage]]:
    return [
        [
            NewMessage(sender_id=1, body=BODY.format(n=n), ts=n, room_id=1, nonce=f"{tag}{n}")
            for n in range(start, start + size)
        ]
        for start in range(0, total - total % size, size)
    ]


async def _new_database(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    await store.create_user("sender", "not a hash", 0, None)
    await store.close()


class _Timed:
    """A connection that adds each statement's time (fetching its rows included)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.seconds: dict[str, float] = {}

    def _note(self, sql: str, started: float) -> None:
        words = sql.split()
        kind = " ".join(words[:3] if words[0] == "INSERT" else words[:2])
        self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - started

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Rows:
        started = time.perf_counter()
        rows = _Rows(self._conn.execute(sql, tuple(params)).fetchall())
        self._note(sql, started)
        return rows

    def executemany(self, sql: str, rows: Iterable[Any]) -> _Rows:
        started = time.perf_counter()
        self._conn.executemany(sql, rows)
        self._note(sql, started)
        return _Rows([])

    def getlimit(self, category: int) -> int:
        return self._conn.getlimit(category)


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchall(self) -> list[Any]:
        return self._rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def close(self) -> None:
        pass


def statements(size: int, total: int, autocheckpoint: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "chat.db"
        asyncio.run(_new_database(path))
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # the store's default
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
        for batch in _batches(size, total, "warm-"):  # the same number again first
            _in_transaction(conn, partial(_add_messages, batch))
        timed = _Timed(conn)
        started, cpu_started = time.perf_counter(), time.process_time()
        for batch in _batches(size, total, "run-"):
            _in_transaction(cast(sqlite3.Connection, timed), partial(_add_messages, batch))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        conn.close()
    print(
        f"batches of {size}: {wall / total * 1e6:.1f} µs wall a message in all"
        f" ({cpu / total * 1e6:.1f} µs CPU)"
    )
    for kind, seconds in sorted(timed.seconds.items(), key=lambda item: -item[1]):
        print(f"  {seconds / total * 1e6:6.1f} µs  {kind}")


async def _busy_writes(size: int, total: int, busy: bool) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "chat.db"
        await _new_database(path)
        store = SqliteStore(path)
        await store.open()
        stop = threading.Event()

        def spin() -> None:
            while not stop.is_set():
                sum(range(100))

        spinner = threading.Thread(target=spin)
        if busy:
            spinner.start()
        try:
            started = time.perf_counter()
            for batch in _batches(size, total, "run-"):
                await store.add_messages(batch)
            return (time.perf_counter() - started) / total * 1e6
        finally:
            stop.set()
            if busy:
                spinner.join()
            await store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default="8,32,128,512", help="batch sizes")
    parser.add_argument("--messages", type=int, default=20_000, help="per batch size")
    parser.add_argument("--busy", action="store_true", help="the wall time, idle and busy")
    parser.add_argument(
        "--autocheckpoint", type=int, default=1000, help="WAL pages (SQLite's default; 0: never)"
    )
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.batches.split(",")):
        if args.busy:
            idle = asyncio.run(_busy_writes(size, args.messages, busy=False))
            busy = asyncio.run(_busy_writes(size, args.messages, busy=True))
            print(f"batches of {size}: {idle:.1f} µs wall a message, {busy:.1f} with a busy thread")
        else:
            statements(size, args.messages, args.autocheckpoint)


if __name__ == "__main__":
    main()
