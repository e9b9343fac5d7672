"""MySQL-only behaviour: URL parsing, clear errors on open, and recovery from faults.

Faults are made real: connections killed by the server (`KILL`), and a TCP proxy
between the store and the server that can drop every connection, refuse new ones,
or stop forwarding (a server that no longer answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from chat_srv.store import NewMessage, StoreError, StoreUnavailable, open_store
from chat_srv.store.changes import changes_query
from chat_srv.store.mysql import (
    DM_BEFORE_SQL,
    ROOM_AFTER_SQL,
    ROOM_BEFORE_SQL,
    MysqlStore,
)
from chat_srv.store.mysql_connect import MysqlUrl, parse_mysql_url
from chat_srv.store.sqlite import SqliteStore
from tests.databases import mysql_admin, mysql_server_url, with_database
from tests.mysql_proxy import Proxy

# -- URLs ------------------------------------------------------------------------


def test_parse_mysql_url() -> None:
    assert parse_mysql_url("mysql://chat:s3cret@db.example:3307/chat") == MysqlUrl(
        "db.example", 3307, "chat", "s3cret", "chat"
    )
    assert parse_mysql_url("mysql://root@127.0.0.1/test") == MysqlUrl(
        "127.0.0.1", 3306, "root", "", "test"
    )
    encoded = f"mysql://{quote('ü@s:r', safe='')}:{quote('p@ss:/w#?%', safe='')}@[::1]:3306/db"
    assert parse_mysql_url(encoded) == MysqlUrl("::1", 3306, "ü@s:r", "p@ss:/w#?%", "db")
    assert parse_mysql_url(encoded).where == "[::1]:3306"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgres://u:secretpw@h/db", "starts with mysql://"),
        ("mysql:/h/db", "no host"),
        ("mysql://u:secretpw@/db", "no host"),
        ("mysql://u:secretpw@h:port/db", "port"),
        ("mysql://u:secretpw@h:70000/db", "port"),
        ("mysql://h:3306/db", "no user"),
        ("mysql://u:secretpw@h:3306", "no database"),
        ("mysql://u:secretpw@h:3306/", "no database"),
        ("mysql://u:secretpw@h:3306/a/b", "more than one"),
        ("mysql://u:secretpw@h/db?ssl=1", "no '?'"),
        ("mysql://u:secretpw@h/" + "d" * 65, "64 characters"),
    ],
)
def test_parse_mysql_url_errors(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_mysql_url(url)
    assert "secretpw" not in str(caught.value)


def test_open_store_picks_the_backend(tmp_path: Path) -> None:
    assert isinstance(open_store("mysql://u@h/db"), MysqlStore)
    assert isinstance(open_store(str(tmp_path / "x.db")), SqliteStore)
    with pytest.raises(ValueError):
        open_store("mysql://nobody")


# -- errors on open ----------------------------------------------------------------


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_open_unreachable_server() -> None:
    store = MysqlStore(f"mysql://root@127.0.0.1:{closed_port()}/chat", timeout=2)
    async with asyncio.timeout(10):
        with pytest.raises(
            StoreUnavailable, match=r"cannot reach MySQL at 127.0.0.1:\d+ \(error 2003\)"
        ):
            await store.open()
    await store.close()


async def test_open_silent_server_does_not_hang() -> None:
    """A server that accepts connections and never answers: open gives up in time."""

    connections: list[tuple[asyncio.Task[Any], asyncio.StreamWriter]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.append((task, writer))
        await reader.read()  # until either side hangs up

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = MysqlStore(f"mysql://root@127.0.0.1:{port}/chat", timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match=r"did not answer within 0\.5 s"):
            await store.open()
        assert time.monotonic() - started < 3
    finally:
        server.close()
        for task, writer in connections:
            writer.close()
            await task
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await server.wait_closed()


@pytest.mark.mysql
async def test_open_wrong_password() -> None:
    params = parse_mysql_url(mysql_server_url())
    url = f"mysql://{quote(params.user)}:not-the-password@{params.where}/{params.database}"
    with pytest.raises(StoreError, match=r"wrong user name or password \(error 1045\)"):
        await MysqlStore(url).open()


@pytest.mark.mysql
async def test_open_unknown_database() -> None:
    url = with_database(mysql_server_url(), "chat_test_does_not_exist")
    with pytest.raises(StoreError) as caught:
        await MysqlStore(url).open()
    assert "'chat_test_does_not_exist' does not exist" in str(caught.value)
    assert "CREATE DATABASE `chat_test_does_not_exist` CHARACTER SET utf8mb4" in str(caught.value)
    assert not isinstance(caught.value, StoreUnavailable)


# -- query plans ------------------------------------------------------------------


@pytest.mark.mysql
async def test_history_queries_use_the_indexes(mysql_db: str) -> None:
    store = MysqlStore(mysql_db)
    await store.open()
    try:
        alice = await store.create_user("alice", "h", 1, None)
        general = next(r.id for r in await store.get_rooms() if r.name == "Général")
        await store.add_messages(
            [NewMessage(alice.id, f"m{i}", 1, room_id=general) for i in range(300)]
            + [NewMessage(alice.id, f"d{i}", 1, recipient_id=alice.id) for i in range(30)]
        )
    finally:
        await store.close()
    database = parse_mysql_url(mysql_db).database
    async with mysql_admin(mysql_db) as cur:
        await cur.execute(f"USE `{database}`")
        for sql, args, index in [
            (ROOM_BEFORE_SQL, (general, 200, 51), "messages_room"),
            (ROOM_AFTER_SQL, (general, 20, 51), "messages_room"),
            (DM_BEFORE_SQL, (alice.id, alice.id, 2**63 - 1, 51), "messages_dm"),
        ]:
            await cur.execute("EXPLAIN " + sql, args)
            columns = [d[0].lower() for d in cur.description]
            plan = [dict(zip(columns, row, strict=True)) for row in await cur.fetchall()]
            assert plan[0]["table"] == "m"
            assert plan[0]["key"] == index
            assert "filesort" not in (plan[0]["extra"] or "").lower()
        sql, args = changes_query(7, alice.id, [general], limit=200)
        await cur.execute("EXPLAIN " + sql.replace("?", "%s"), args)
        columns = [d[0].lower() for d in cur.description]
        plan = [dict(zip(columns, row, strict=True)) for row in await cur.fetchall()]
        assert (plan[0]["table"], plan[0]["key"]) == ("c", "PRIMARY")
        assert "filesort" not in (plan[0]["extra"] or "").lower()


# -- faults ------------------------------------------------------------------------


async def kill_connections(url: str) -> int:
    """Kill every server connection using the database of `url`; how many."""
    database = parse_mysql_url(url).database
    async with mysql_admin(url) as cur:
        await cur.execute(
            "SELECT id FROM information_schema.processlist WHERE db = %s", (database,)
        )
        ids = [row[0] for row in await cur.fetchall()]
        for connection_id in ids:
            await cur.execute(f"KILL {int(connection_id)}")
    return len(ids)


@pytest.mark.mysql
async def test_killed_connections_recover(mysql_db: str) -> None:
    store = MysqlStore(mysql_db, pool_size=4, timeout=3)
    await store.open()
    try:
        async with asyncio.timeout(30):
            alice = await store.create_user("alice", "h", 1, None)
            general = next(r.id for r in await store.get_rooms() if r.name == "Général")
            # Several idle connections in the pool, all about to die.
            await asyncio.gather(*(store.get_rooms() for _ in range(4)))
            assert await kill_connections(mysql_db) >= 2

            with contextlib.suppress(StoreUnavailable):
                await store.get_rooms()
            with contextlib.suppress(StoreUnavailable):
                await store.add_messages([NewMessage(alice.id, "maybe", 1, room_id=general)])
            # The dead connections have been thrown away: everything works again.
            assert len(await store.get_rooms()) == 5
            [stored] = await store.add_messages([NewMessage(alice.id, "sure", 2, room_id=general)])
            page, _ = await store.room_history(general, before=None, after=None, limit=5)
            assert page[-1].msg_id == stored.msg_id
    finally:
        await store.close()


@pytest.fixture
async def proxy(mysql_db: str) -> AsyncIterator[Proxy]:
    running = Proxy(parse_mysql_url(mysql_db))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.mysql
async def test_server_down_then_back(mysql_db: str, proxy: Proxy) -> None:
    params = parse_mysql_url(mysql_db)
    url = f"mysql://{quote(params.user)}:{quote(params.password)}@127.0.0.1:{proxy.port}/{params.database}"
    store = MysqlStore(url, timeout=2)
    await store.open()
    try:
        async with asyncio.timeout(30):
            alice = await store.create_user("alice", "h", 1, None)
            general = next(r.id for r in await store.get_rooms() if r.name == "Général")

            await proxy.stop()  # the server goes away
            with pytest.raises(StoreUnavailable):
                await store.get_rooms()
            with pytest.raises(StoreUnavailable):
                await store.add_messages([NewMessage(alice.id, "lost", 1, room_id=general)])

            await proxy.start()  # and comes back on the same port
            assert len(await store.get_rooms()) == 5
            await store.add_messages([NewMessage(alice.id, "back", 2, room_id=general)])

            proxy.stalled.set()  # the server stops answering
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="did not answer within 2 s"):
                await store.get_rooms()
            assert time.monotonic() - started < 4
            proxy.stalled.clear()
            page, _ = await store.room_history(general, before=None, after=None, limit=5)
            assert [m.body for m in page] == ["back"]
    finally:
        await store.close()


@pytest.mark.mysql
async def test_dead_idle_connections_are_replaced(mysql_db: str, proxy: Proxy) -> None:
    """Pooled connections that died unnoticed: reads and writes go through, once."""
    params = parse_mysql_url(mysql_db)
    url = f"mysql://{quote(params.user)}:{quote(params.password)}@127.0.0.1:{proxy.port}/{params.database}"
    store = MysqlStore(url, pool_size=3, timeout=2)
    await store.open()
    try:
        async with asyncio.timeout(30):
            alice = await store.create_user("alice", "h", 1, None)
            general = next(r.id for r in await store.get_rooms() if r.name == "Général")
            proxy.doom()
            [stored] = await store.add_messages([NewMessage(alice.id, "once", 1, room_id=general)])
            proxy.doom()
            assert len(await store.get_rooms()) == 5
            proxy.doom()
            page, _ = await store.room_history(general, before=None, after=None, limit=5)
            assert [(m.msg_id, m.body) for m in page] == [(stored.msg_id, "once")]
    finally:
        await store.close()
