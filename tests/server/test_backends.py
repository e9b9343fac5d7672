"""The same conversation end to end on SQLite and on MySQL/MariaDB, and storage faults."""

from __future__ import annotations

import asyncio

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.store import NewMessage, StoredId
from chat_srv.store.mysql_connect import parse_mysql_url
from tests.databases import mysql_admin, mysql_database, mysql_server_url
from tests.helpers import login, register, running_server


async def test_the_whole_story_survives_a_restart(any_db: str) -> None:
    async with running_server(any_db) as server:
        alice = await register(server.port, "Amélie")
        bob = await register(server.port, "bob")
        assert (await bob.call(m.Join, room="Comptabilité")).state == "pending"
        await alice.call(m.Join, room="Blabla")
        sent = await alice.call(m.Send, room="Général", body="Bonjour à tous 😀")
        assert (await bob.event(m.Message, msg_id=sent.msg_id)).body == "Bonjour à tous 😀"
        dm = await bob.call(m.Dm, to="amélie", body="salut 👋", nonce="n1")
        again = await bob.call(m.Dm, to="amélie", body="salut 👋", nonce="n1")
        assert again.msg_id == dm.msg_id
        await alice.close()
        await bob.close()
    async with running_server(any_db) as server:
        bob = await login(server.port, "BOB")
        rooms = {room.name: room.state for room in (await bob.call(m.ListRooms)).rooms}
        assert rooms["Comptabilité"] == "pending"
        assert rooms["Général"] == "member"
        page = await bob.call(m.History, room="Général")
        assert [(msg.sender, msg.body) for msg in page.messages] == [
            ("Amélie", "Bonjour à tous 😀")
        ]
        dms = await bob.call(m.History, peer="Amélie")
        assert [msg.body for msg in dms.messages] == ["salut 👋"]
        alice = await login(server.port, "amélie")
        who = await alice.call(m.Who, room="Blabla")
        assert [u.name for u in who.users] == ["Amélie"]


@pytest.mark.mysql
async def test_mysql_outage_gives_unavailable_then_recovers() -> None:
    """The store's connections die and its writes wait past `db_timeout`, then all is back.

    It needs no more than the rights a test user has on its own database: LOCK TABLES
    (with SELECT) on the messages table, and killing its own connections, which any
    user may do. The rest of the MySQL server is not disturbed.
    """
    async with mysql_database(mysql_server_url()) as url:
        database = parse_mysql_url(url).database
        async with running_server(url, db_timeout=1.0) as server:
            alice = await register(server.port, "alice")
            bob = await register(server.port, "bob")
            acked = [(await alice.call(m.Send, room="Général", body="before")).msg_id]
            async with mysql_admin(url) as admin:  # no database selected: not killed below
                # Every send now waits on the lock, and the pool's connections die.
                await admin.execute(f"LOCK TABLES `{database}`.messages WRITE")
                await admin.execute(
                    "SELECT id FROM information_schema.processlist WHERE db = %s", (database,)
                )
                for (thread_id,) in await admin.fetchall():
                    await admin.execute(f"KILL {int(thread_id)}")
                error = await alice.fails(m.Send, room="Général", body="during", nonce="d1")
                assert error.code == ErrorCode.UNAVAILABLE
                await alice.call(m.Ping)  # the connection itself is fine
                await admin.execute("UNLOCK TABLES")
            # Back: the same nonce is stored at most once, whatever the failed try did.
            retried = await alice.call(m.Send, room="Général", body="during", nonce="d1")
            acked.append(retried.msg_id)
            acked.append((await alice.call(m.Send, room="Général", body="after")).msg_id)
            page = await bob.call(m.History, room="Général")
            assert [msg.msg_id for msg in page.messages] == acked
            assert len(server.hub.connections) == 2


async def test_concurrent_sends_are_committed_together(any_db: str) -> None:
    async with running_server(any_db) as server:
        clients = [await register(server.port, f"u{i}") for i in range(10)]
        batches: list[int] = []
        store_batch = server.store.add_messages

        async def counted(batch: list[NewMessage]) -> list[StoredId]:
            batches.append(len(batch))
            return await store_batch(batch)

        server.store.add_messages = counted  # type: ignore[method-assign]
        calls = [c.call(m.Send, room="Général", body=f"from {c.name}") for c in clients]
        results = await asyncio.gather(*calls)
        assert sum(batches) == len(clients)
        assert len(batches) < len(clients)  # at least two sends shared a transaction
        ids = sorted(r.msg_id for r in results)
        for client in clients:
            received = await client.collect(m.Message, len(ids))
            assert [e.msg_id for e in received] == ids
