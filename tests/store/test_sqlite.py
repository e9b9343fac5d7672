"""SQLite-only behaviour: file settings, query plans, durability across SIGKILL."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest

import chat_srv
from chat_srv.store import NewMessage, StoreError, StoreUnavailable
from chat_srv.store.base import StoredMessage
from chat_srv.store.changes import changes_query, reactions_query
from chat_srv.store.migrations import load_migrations, split_statements, sql_dir
from chat_srv.store.sqlite import (
    DM_BEFORE_SQL,
    ROOM_AFTER_SQL,
    ROOM_BEFORE_SQL,
    ROOM_UNREAD_SQL,
    SqliteStore,
)

REPO = Path(chat_srv.__file__).parent.parent


def test_sql_files_are_found_and_split() -> None:
    assert sql_dir("sqlite") == REPO / "sql" / "sqlite"
    for backend in ("sqlite", "mysql"):
        migrations = load_migrations(backend)
        assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
        first, second, third, fourth, fifth = migrations[:5]
        assert any(s.startswith("CREATE TABLE messages") for s in first.statements)
        assert any(s.startswith("CREATE TABLE login_addresses") for s in second.statements)
        assert any(s.startswith("ALTER TABLE users ADD COLUMN role") for s in third.statements)
        assert any(s.startswith("CREATE TABLE reactions") for s in fourth.statements)
        assert any(s.startswith("CREATE TABLE mentions") for s in fifth.statements)
        assert any("messages_fts" in s or "FULLTEXT" in s for s in migrations[7].statements)
        for migration in migrations:
            assert migration.statements[-1].startswith("INSERT INTO schema_version")
    with pytest.raises(StoreError, match="missing"):
        sql_dir("oracle")


def test_split_statements() -> None:
    text = (
        "-- a comment; not a statement\nCREATE TABLE a (\n  x INT -- why\n);\n\nSELECT 1;\nSELECT 2"
    )
    assert split_statements(text) == ["CREATE TABLE a (\n  x INT -- why\n)", "SELECT 1", "SELECT 2"]
    trigger = (
        "CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n    INSERT INTO b VALUES (1);\n"
        "    INSERT INTO c VALUES (2);\nEND;\nSELECT 3;\n"
    )
    assert split_statements(trigger) == [
        "CREATE TRIGGER t AFTER INSERT ON a\nBEGIN\n    INSERT INTO b VALUES (1);\n"
        "    INSERT INTO c VALUES (2);\nEND",
        "SELECT 3",
    ]


def test_schema_applies_by_hand(tmp_path: Path) -> None:
    """What a DBA would do: run the file through sqlite3 as a script."""
    with sqlite3.connect(tmp_path / "by-hand.db") as conn:
        conn.executescript((REPO / "sql" / "sqlite" / "001_init.sql").read_text("utf-8"))
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
    conn.close()


def test_every_schema_file_applies_by_hand(tmp_path: Path) -> None:
    """Every file in turn through sqlite3 as a script, as the server splits them too."""
    files = sorted((REPO / "sql" / "sqlite").glob("*.sql"))
    with sqlite3.connect(tmp_path / "by-hand.db") as conn:
        for path in files:
            conn.executescript(path.read_text("utf-8"))
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, len(files) + 1))
    conn.close()


async def test_store_on_a_database_made_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "by-hand.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((REPO / "sql" / "sqlite" / "001_init.sql").read_text("utf-8"))
    conn.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert len(await store.get_rooms()) == 5
    finally:
        await store.close()


async def test_file_settings(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # kept in the file
    conn.close()


async def test_the_log_is_copied_into_the_database_beside_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = SqliteStore(path)
    await store.open()
    try:
        alice = await store.create_user("alice", "hash", 0, None)
        general = next(r.id for r in await store.get_rooms() if r.name == "Général")
        checkpointer = store._checkpointer
        assert checkpointer is not None
        checkpointed = asyncio.create_task(checkpointer.checkpointed())
        batch = [NewMessage(alice.id, f"m{n}", 0, room_id=general) for n in range(100)]
        await store.add_messages(batch)
        await asyncio.wait_for(checkpointed, 10)
        # The database file alone, without its log: the messages are in it, far
        # below the writer's own checkpoint threshold.
        with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as conn:
            assert conn.execute("SELECT COUNT(*) FROM messages").fetchone() == (100,)
        conn.close()
    finally:
        await store.close()
    assert store._checkpointer is None


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.close()
    with pytest.raises(StoreError, match="upgrade the server"):
        await SqliteStore(path).open()


async def test_unopenable_file(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="cannot open"):
        await SqliteStore(tmp_path / "no" / "such" / "dir" / "chat.db").open()


async def test_memory_database() -> None:
    store = SqliteStore(":memory:")
    await store.open()
    try:
        assert len(await store.get_rooms()) == 5
    finally:
        await store.close()


async def test_queries_use_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        for sql, args, index in [
            (ROOM_BEFORE_SQL, (1, 100, 51), "messages_room"),
            (ROOM_AFTER_SQL, (1, 100, 51), "messages_room"),
            (DM_BEFORE_SQL, (1, 2, 100, 51), "messages_dm"),
            (ROOM_UNREAD_SQL, (1,), "messages_room"),
        ]:
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert f"INDEX {index} " in plan, plan
            assert "SCAN m" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        # Changes after an id: a range of the primary key, in its order.
        sql, args = changes_query(7, 1, [1, 2], limit=200)
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "SEARCH c USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        # A page's reactions: one look-up of the primary key per message of the page.
        page = [StoredMessage(msg_id, 0, "a", "b", room="r") for msg_id in (3, 4)]
        query = reactions_query(page)
        assert query is not None
        plan = " | ".join(
            row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + query[0], query[1])
        )
        assert "SEARCH r USING PRIMARY KEY (msg_id=?)" in plan, plan
    conn.close()


_WRITER = """
import asyncio, sys
from chat_srv.store import NewMessage
from chat_srv.store.sqlite import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    await store.open()
    alice = await store.create_user("alice", "h", 1, None)
    room = (await store.get_rooms())[0].id
    for start in range(0, 500, 100):
        stored = await store.add_messages(
            [NewMessage(alice.id, f"m{i}", 1, room_id=room) for i in range(start, start + 100)]
        )
    print(stored[-1].msg_id, flush=True)  # acknowledged
    await asyncio.Event().wait()  # never closes: killed

asyncio.run(main())
"""


async def test_acknowledged_messages_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WRITER,
        str(path),
        cwd=REPO,
        env={"PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(30):
            line = await process.stdout.readline() if process.stdout else b""
    finally:
        process.kill()
        await process.communicate()
    last_id = int(line)

    store = SqliteStore(path)
    await store.open()
    try:
        room = (await store.get_rooms())[0].id
        page, more = await store.room_history(room, before=None, after=None, limit=200)
        assert (page[-1].msg_id, page[-1].body, more) == (last_id, "m499", True)
        [again] = await store.add_messages([NewMessage(1, "after the crash", 2, room_id=room)])
        assert again.msg_id == last_id + 1
    finally:
        await store.close()
