"""Fill a chat-server database before the server starts: users, memberships, messages.

The schema is created by the store itself (`open_store(db).open()`), then rows go in
with plain SQL in the store's own schema (sql/sqlite/001_init.sql and
sql/mysql/001_init.sql): registering 5,000 users or posting 1,000,000 messages over
the protocol would take longer than the benchmark itself.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import argon2

from chat_core.names import name_key
from chat_srv.store import open_store

PASSWORD = "bench-password"
BENCH_ROOM = "Blabla"  # an open default room; members are added by prefill


def user_name(i: int) -> str:
    return f"b{i:06d}"


def password_hash(params: tuple[int, int, int]) -> str:
    """One argon2id hash of PASSWORD with these parameters (shared by every user)."""
    hasher = argon2.PasswordHasher(
        time_cost=params[0], memory_cost=params[1], parallelism=params[2], type=argon2.Type.ID
    )
    return hasher.hash(PASSWORD)


async def _create_schema(db: str) -> None:
    store = open_store(db)
    await store.open()
    await store.close()


def create_schema(db: str) -> None:
    """Create the database's schema and default rooms, as the server would."""
    asyncio.run(_create_schema(db))


@dataclass
class Prefill:
    """What was put in: the bench room's id, the user ids, the message id range."""

    room_id: int
    user_ids: list[int]
    first_msg_id: int = 0
    last_msg_id: int = 0


def mysql_connect(db: str) -> Any:
    """A pymysql connection (no autocommit) to the database of a mysql:// URL."""
    import pymysql

    url = urlsplit(db)
    return pymysql.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.path.lstrip("/") or None,
        autocommit=False,
        charset="utf8mb4",
    )


def mysql_create_database(db: str) -> None:
    """CREATE DATABASE for a mysql:// URL (dropping a leftover one of the same name)."""
    import pymysql

    url = urlsplit(db)
    name = url.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    conn = pymysql.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    finally:
        conn.close()


def mysql_drop_database(db: str) -> None:
    import pymysql

    url = urlsplit(db)
    name = url.path.lstrip("/")
    conn = pymysql.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        autocommit=True,
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def prefill(
    db: str,
    *,
    users: int,
    params: tuple[int, int, int],
    room_members: bool,
    messages: int = 0,
) -> Prefill:
    """Create `users` users (password PASSWORD); make them members of BENCH_ROOM if
    `room_members`; post `messages` 64-character messages to BENCH_ROOM from them."""
    create_schema(db)
    hashed = password_hash(params)
    now = int(time.time() * 1000)
    mysql = db.startswith("mysql://")
    conn: Any = mysql_connect(db) if mysql else sqlite3.connect(db, isolation_level=None)
    mark = "%s" if mysql else "?"
    try:
        cur = conn.cursor()
        if not mysql:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("BEGIN")
        cur.execute(f"SELECT id FROM rooms WHERE name_key = {mark}", (name_key(BENCH_ROOM),))
        room_id = int(cur.fetchone()[0])
        rows = [(user_name(i), name_key(user_name(i)), hashed, now) for i in range(users)]
        cur.executemany(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            f" VALUES ({mark}, {mark}, {mark}, {mark})",
            rows,
        )
        cur.execute(f"SELECT id FROM users WHERE name_key LIKE {mark} ORDER BY id", ("b%",))
        user_ids = [int(r[0]) for r in cur.fetchall()]
        result = Prefill(room_id, user_ids)
        if messages:
            result.first_msg_id, result.last_msg_id = _messages(
                cur, mysql, room_id, user_ids, messages, now
            )
        if room_members:
            cur.executemany(
                "INSERT INTO memberships (user_id, room_id, state, read_marker, since)"
                f" VALUES ({mark}, {mark}, 'member', {mark}, {mark})",
                [(uid, room_id, result.last_msg_id, now) for uid in user_ids],
            )
        if mysql:
            conn.commit()
        else:
            cur.execute("COMMIT")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return result
    finally:
        conn.close()


def _messages(
    cur: Any, mysql: bool, room_id: int, user_ids: list[int], count: int, now: int
) -> tuple[int, int]:
    """Insert `count` room messages server-side (no round trip per row)."""
    first_user = user_ids[0]
    # Senders rotate over the first users, whose ids are consecutive in a fresh database.
    senders = 1
    while senders < min(len(user_ids), 100) and user_ids[senders] == first_user + senders:
        senders += 1
    # 64 characters: "history message " + a zero-padded number, padded with dots.
    if mysql:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM messages")
        before = int(cur.fetchone()[0])
        # MariaDB's Sequence engine: seq_1_to_N is a table of 1..N.
        step = 100_000
        for start in range(1, count + 1, step):
            end = min(count, start + step - 1)
            cur.execute(
                "INSERT INTO messages (ts, sender_id, room_id, body)"
                f" SELECT %s + seq, %s + seq MOD %s, %s,"
                f" RPAD(CONCAT('history message ', LPAD(seq, 12, '0')), 64, '.')"
                f" FROM seq_{start}_to_{end}",
                (now - count, first_user, senders, room_id),
            )
        cur.execute("SELECT MIN(id), MAX(id) FROM messages WHERE id > %s", (before,))
    else:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM messages")
        before = int(cur.fetchone()[0])
        cur.execute(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)"
            " INSERT INTO messages (ts, sender_id, room_id, body)"
            " SELECT ? + n, ? + n % ?, ?,"
            " substr('history message ' || substr('000000000000' || n, -12, 12)"
            " || '................................................................', 1, 64)"
            " FROM seq",
            (count, now - count, first_user, senders, room_id),
        )
        cur.execute("SELECT MIN(id), MAX(id) FROM messages WHERE id > ?", (before,))
    low, high = cur.fetchone()
    return int(low), int(high)
