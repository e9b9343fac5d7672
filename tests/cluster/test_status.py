"""Away status across nodes: every node keeps it, it ends when the user's last
connection anywhere closes (or their node falls silent), and each client hears of
that end once."""

from __future__ import annotations

import asyncio

import pytest

from chat_core import messages as m
from chat_srv.server import ChatServer
from tests.cluster.conftest import RedisServer, cluster
from tests.helpers import PASSWORD, Client, console_heard, login, register

pytestmark = pytest.mark.mysql


def statuses(client: Client) -> list[tuple[str, bool, str | None]]:
    """The status events a client has read and no test has taken yet."""
    return [(e.user, e.away, e.text) for e in client.events if isinstance(e, m.UserStatus)]


async def heard_everything(nodes: list[ChatServer], clients: list[Client]) -> None:
    """Wait until what every node published so far has reached `clients`: a notice
    from each node's console comes after it, through the same channel, in order."""
    for node in nodes:
        await console_heard(node, *clients)


async def who(client: Client, name: str) -> tuple[bool, bool, str | None]:
    """(online, away, text) of `name` as `client`'s node sees it."""
    users = {u.name: u for u in (await client.call(m.Who, room="Général")).users}
    return users[name].online, bool(users[name].away), users[name].text


async def test_away_status_is_the_clusters_and_ends_with_the_last_connection_anywhere(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 3) as nodes:
        one, two, three = nodes
        alice = await register(one.port, "alice")
        alice_two = await login(two.port, "alice")
        bob = await register(one.port, "bob")  # each shares Général with her
        carol = await register(two.port, "carol")
        dave = await register(three.port, "dave")
        erin = await register(three.port, "erin")  # shares only a conversation
        await erin.call(m.Leave, room="Général")
        await erin.call(m.Dm, to="alice", body="hi")
        await alice.event(m.Message, body="hi")
        watchers = [bob, carol, dave, erin]
        await heard_everything(nodes, [*watchers, alice_two])
        for client in (*watchers, alice_two):
            client.events.clear()

        await alice.call(m.SetStatus, away=True, text="lunch")
        await heard_everything(nodes, [*watchers, alice_two])
        for client in (*watchers, alice_two):
            assert statuses(client) == [("alice", True, "lunch")], client.name
            client.events.clear()
        for client in (bob, carol, dave):  # on each node
            assert await who(client, "alice") == (True, True, "lunch")
        later = await Client.connect(three.port)  # a login on a third node
        dms = (await later.call(m.Login, user="erin", password=PASSWORD)).dms
        assert [(d.peer, d.away, d.text) for d in dms] == [("alice", True, "lunch")]
        await later.close()

        # Her connection on node 1 closes: she is still online on node 2, still away.
        await alice.close()
        await heard_everything(nodes, [*watchers, alice_two])
        assert [statuses(c) for c in (*watchers, alice_two)] == [[]] * 5
        for client in (bob, carol, dave):
            assert await who(client, "alice") == (True, True, "lunch")

        # Her last one closes: every client hears, once, that she is back.
        await alice_two.close()
        for client in watchers:
            await client.event(m.UserStatus, user="alice", away=False)
        await heard_everything(nodes, watchers)
        assert [statuses(c) for c in watchers] == [[]] * 4
        for client in (bob, carol, dave):
            assert await who(client, "alice") == (False, False, None)
        back = await login(three.port, "alice")
        assert not (await back.call(m.Who)).users[0].away


async def test_a_silent_nodes_users_lose_their_away_status_once(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        alice = await register(two.port, "alice")
        bob = await register(one.port, "bob")
        carol = await register(one.port, "carol")
        await alice.call(m.SetStatus, away=True, text="gone fishing")
        for client in (bob, carol):
            assert (await client.event(m.UserStatus, user="alice")).away
        assert one.cluster is not None
        assert two.cluster is not None
        await two.cluster.close()  # stops hearing and speaking: as if it died
        later = asyncio.get_running_loop().time() + 60
        assert one.cluster.forget_silent(later) == ["node-2"]
        for client in (bob, carol):
            event = await client.event(m.UserStatus, user="alice")
            assert (event.away, event.text) == (False, None)
        await heard_everything([one], [bob, carol])
        assert statuses(bob) == statuses(carol) == []
        assert await who(bob, "alice") == (False, False, None)
        await alice.close()
