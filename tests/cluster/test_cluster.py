"""Several nodes as one, on MariaDB and a private Redis: every client on every node
receives every message once, in gap-free id order, through a broker restart too."""

from __future__ import annotations

import asyncio

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from chat_srv.store import NewMessage, open_store
from chat_srv.store.base import LoggedMessage
from tests import helpers
from tests.cluster.conftest import RedisServer, cluster
from tests.console import run
from tests.helpers import PASSWORD, Client, login, register, running_server
from tests.mysql_proxy import running_proxy, through

pytestmark = pytest.mark.mysql

SENDERS = 5  # per node
MESSAGES = 10  # per sender


async def send_all(client: Client, tag: str) -> list[int]:
    ids = []
    for n in range(MESSAGES):
        ids.append((await client.call(m.Send, room="Général", body=f"{tag} {n}")).msg_id)
    return ids


def received(client: Client) -> list[int]:
    return [e.msg_id for e in client.events if isinstance(e, m.Message) and e.room == "Général"]


async def all_heard(watchers: list[Client], sent: list[list[int]]) -> None:
    """The ids acknowledged are dense, and every watcher received each once, in order."""
    ids = sorted(i for batch in sent for i in batch)
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # dense across nodes
    for watcher in watchers:
        await watcher.collect(m.Message, len(ids))
        assert received(watcher) == ids, watcher.name


def test_a_cluster_needs_mysql(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="--cluster needs a MySQL database"):
        ChatServer(helpers.test_config(f"{tmp_path}/chat.db", cluster="redis://127.0.0.1:1/0"))


async def test_every_node_delivers_every_message_once_in_order(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 3, request_rate=0) as nodes:
        watchers = [await register(node.port, f"watch{n}") for n, node in enumerate(nodes)]
        senders = [
            await register(node.port, f"s{n}x{i}")
            for n, node in enumerate(nodes)
            for i in range(SENDERS)
        ]
        await all_heard(
            watchers, await asyncio.gather(*(send_all(s, str(s.name)) for s in senders))
        )


async def test_accounts_and_memberships_reach_the_other_nodes(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        bob = await register(two.port, "bob")
        await bob.call(m.Join, room="Blabla")
        alice = await register(one.port, "alice")  # after node 2 started: known through it
        joined = await bob.event(m.Member, room="Général", user="alice")
        assert joined.joined
        sent = await bob.call(m.Dm, to="alice", body="hi from node 2")
        assert (await alice.event(m.Message, msg_id=sent.msg_id)).body == "hi from node 2"
        await alice.call(m.Join, room="Blabla")  # on node 1
        assert (await bob.event(m.Member, room="Blabla", user="alice")).joined
        said = await alice.call(m.Send, room="Blabla", body="salut Blabla")
        assert (await bob.event(m.Message, msg_id=said.msg_id)).sender == "alice"
        # The same user on both nodes: a join on one reaches the other's connections.
        alice_two = await login(two.port, "alice")
        await alice.call(m.Leave, room="Blabla")
        assert not (await alice_two.event(m.Member, room="Blabla", user="alice")).joined


async def test_a_broker_restart_loses_and_repeats_nothing(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 2, request_rate=0) as (one, two):
        watchers = [await register(one.port, "w1"), await register(two.port, "w2")]
        senders = [await register(one.port, "s1"), await register(two.port, "s2")]
        first = await asyncio.gather(*(send_all(s, "before") for s in senders))
        await redis_server.stop()
        during = await asyncio.gather(*(send_all(s, "during") for s in senders))
        for watcher in watchers:  # read from MySQL while the broker is away
            await watcher.collect(m.Message, 4 * MESSAGES)
        await redis_server.start()
        after = await asyncio.gather(*(send_all(s, "after") for s in senders))
        await all_heard(watchers, [*first, *during, *after])


async def test_killed_subscriptions_and_a_paused_broker_lose_and_repeat_nothing(
    mysql_db: str, redis_server: RedisServer
) -> None:
    """The broker drops every subscriber (`CLIENT KILL TYPE pubsub`), then stops
    answering for a while (`CLIENT PAUSE`): the nodes subscribe again and catch up
    from MySQL, and every watcher still gets every message once, in order."""
    async with cluster(mysql_db, redis_server.url, 2, request_rate=0) as (one, two):
        watchers = [await register(one.port, "w1"), await register(two.port, "w2")]
        senders = [await register(one.port, "s1"), await register(two.port, "s2")]
        batches = [await asyncio.gather(*(send_all(s, "before") for s in senders))]
        killed = await redis_server.command("CLIENT", "KILL", "TYPE", "pubsub")
        assert killed.startswith(b":"), killed
        assert int(killed[1:]) >= 2, killed  # each node's subscription at least
        batches.append(await asyncio.gather(*(send_all(s, "unsubscribed") for s in senders)))
        assert (await redis_server.command("CLIENT", "PAUSE", "1500", "ALL")) == b"+OK\r\n"
        batches.append(await asyncio.gather(*(send_all(s, "paused") for s in senders)))
        batches.append(await asyncio.gather(*(send_all(s, "after") for s in senders)))
        await all_heard(watchers, [sent for batch in batches for sent in batch])


async def test_a_database_restart_loses_and_repeats_nothing(
    mysql_db: str, redis_server: RedisServer
) -> None:
    """MySQL goes away (every connection cut, new ones refused) and comes back on the
    same port: what was refused meanwhile is said to the sender, and every watcher
    gets every acknowledged message once, in order."""
    async with (
        running_proxy(mysql_db) as proxy,
        cluster(through(proxy, mysql_db), redis_server.url, 2, request_rate=0, db_timeout=1.0) as (
            one,
            two,
        ),
    ):
        watchers = [await register(one.port, "w1"), await register(two.port, "w2")]
        senders = [await register(one.port, "s1"), await register(two.port, "s2")]
        before = await asyncio.gather(*(send_all(s, "before") for s in senders))
        await proxy.stop()
        for sender in senders:
            refused = await sender.fails(m.Send, room="Général", body="while down")
            assert refused.code is ErrorCode.UNAVAILABLE
        await proxy.start()
        after = await asyncio.gather(*(send_all(s, "after") for s in senders))
        await all_heard(watchers, [*before, *after])  # nothing refused got an id


async def console(server: ChatServer, line: str) -> str:
    return await run(CommandLine(Admin(server)), line)


async def test_moderation_acts_on_every_node(mysql_db: str, redis_server: RedisServer) -> None:
    async with cluster(mysql_db, redis_server.url, 3) as (one, two, three):
        await register(one.port, "troll")
        elsewhere = [await login(node.port, "troll") for node in (two, three)]
        assert "kicked troll" in await console(one, "kick troll 10m flooding")
        for client in elsewhere:
            goodbye = await client.event(m.Disconnect)
            assert (goodbye.reason, goodbye.until is not None) == ("kicked", True)
            await client.closed()
        refused = await Client.connect(three.port)
        assert (await refused.fails(m.Login, user="troll", password=PASSWORD)).code is (
            ErrorCode.KICKED
        )
        await console(two, "unkick troll")
        back = await login(three.port, "troll")
        await console(three, "kill troll enough")
        assert (await back.event(m.Disconnect)).reason == "killed"
        # An address banned on one node is closed and refused on the others.
        far = await Client.connect(two.port, source="127.0.0.2")
        await far.call(m.Register, user="faraway", password=PASSWORD)
        await console(one, "ban ip 127.0.0.2 brute force")
        assert (await far.event(m.Disconnect)).reason == "banned"


async def test_presence_and_who_are_cluster_wide(mysql_db: str, redis_server: RedisServer) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        watcher = await register(one.port, "watcher")
        alice = await register(two.port, "alice")
        assert (await watcher.event(m.Presence, user="alice")).online
        who = {u.name: u.online for u in (await watcher.call(m.Who, room="Général")).users}
        assert who == {"watcher": True, "alice": True}
        rooms = {r.name: r for r in (await watcher.call(m.ListRooms)).rooms}
        assert rooms["Général"].online == 2
        also = await login(one.port, "alice")  # online on both nodes: no news
        await alice.close()  # still online on node 1
        await also.close()
        assert not (await watcher.event(m.Presence, user="alice")).online
        assert [e for e in watcher.events if isinstance(e, m.Presence)] == []
        # A node that dies says nothing: its users go offline when it falls silent.
        bob = await register(two.port, "bob")
        assert (await watcher.event(m.Presence, user="bob")).online
        assert two.cluster is not None
        assert one.cluster is not None
        await two.cluster.close()  # stops hearing and speaking, clients stay
        assert one.cluster.forget_silent(asyncio.get_running_loop().time() + 60) == ["node-2"]
        assert not (await watcher.event(m.Presence, user="bob")).online
        assert [u.name for u in (await watcher.call(m.Who)).users] == ["watcher"]
        await bob.close()


async def test_the_nodes_command(
    mysql_db: str, redis_server: RedisServer, tmp_path: object
) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        watcher = await register(one.port, "watcher")
        await register(two.port, "alice")
        await watcher.event(m.Presence, user="alice")  # node 1 has heard from node 2
        table = await console(one, "nodes")
        assert "2 nodes" in table
        assert "this node" in table
        assert "node-2" in table
    async with running_server(f"{tmp_path}/alone.db") as alone:
        assert await console(alone, "nodes") == "this server runs alone (no --cluster)\n"


async def test_changes_topics_and_notices_reach_every_node(
    mysql_db: str, redis_server: RedisServer
) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        alice = await register(one.port, "alice")
        bob = await register(two.port, "bob")
        sent = await alice.call(m.Send, room="Général", body="helo")
        await bob.event(m.Message, msg_id=sent.msg_id)
        edited = await alice.call(m.Edit, msg_id=sent.msg_id, body="hello")
        event = await bob.event(m.Edited, msg_id=sent.msg_id)
        assert (event.change_id, event.body) == (edited.change_id, "hello")
        await bob.call(m.React, msg_id=sent.msg_id, emoji="👍", on=True)
        assert (await alice.event(m.Reaction, msg_id=sent.msg_id)).user == "bob"
        await console(one, "topic Général All things general")
        assert (await bob.event(m.Topic, room="Général")).topic == "All things general"
        rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
        assert rooms["Général"].topic == "All things general"
        await console(two, "notice maintenance at noon")
        assert (await alice.event(m.Notice)).text == "maintenance at noon"
        late = await Client.connect(two.port)
        assert (await late.call(m.Login, user="bob", password=PASSWORD)).last_change_id == 2


async def test_rooms_and_roles_reach_every_node(mysql_db: str, redis_server: RedisServer) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        mia = await register(two.port, "mia")
        await console(one, "add room Jeux open")
        assert (await mia.event(m.RoomAdded, room="Jeux")).approval is False
        assert (await mia.call(m.Join, room="Jeux")).state == "member"
        await console(one, "op mia moderator")
        await console(one, "notice roles are out")  # published after the role
        await mia.event(m.Notice)
        done = await mia.call(m.Moderate, command="rooms")  # run on node 2
        assert any("Jeux" in line for line in done.lines)


async def test_typing_and_status_reach_every_node(mysql_db: str, redis_server: RedisServer) -> None:
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        alice = await register(one.port, "alice")
        alice_two = await login(two.port, "alice")
        bob = await register(two.port, "bob")
        await alice.call(m.Typing, room="Général")
        assert (await bob.event(m.UserTyping, user="alice")).room == "Général"
        await alice.call(m.SetStatus, away=True, text="lunch")
        assert (await bob.event(m.UserStatus, user="alice")).text == "lunch"
        assert (await alice_two.event(m.UserStatus, user="alice")).away  # her other node
        await alice_two.sync()
        assert not [e for e in alice_two.events if isinstance(e, m.UserTyping)]  # not her own


async def test_a_token_from_one_node_logs_in_on_another(
    mysql_db: str, redis_server: RedisServer
) -> None:
    """A client whose node went away comes back on another with its session token."""
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        first = await Client.connect(one.port)
        token = (await first.call(m.Register, user="alice", password=PASSWORD)).token
        await first.close()
        again = await Client.connect(two.port)
        result = await again.call(m.Login, user="alice", token=token, protocol=2)
        assert (result.user, result.token) == ("alice", token)
        assert [r.name for r in result.rooms if r.state == "member"] == ["Général"]
        # A node that has not heard of the account yet finds it in the store.
        assert two.cluster is not None
        await two.cluster.close()  # deaf from now on
        newer = await Client.connect(one.port)
        token = (await newer.call(m.Register, user="bob", password=PASSWORD)).token
        late = await Client.connect(two.port)
        assert (await late.call(m.Login, user="bob", token=token)).user == "bob"


async def test_a_relayed_change_waits_for_the_message_it_changes(
    mysql_db: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message node 2 holds while it fills a gap from the log, and an edit of it
    relayed meanwhile: node 2's clients get the edit after the message, not before."""
    async with cluster(mysql_db, redis_server.url, 2) as (one, two):
        alice = await register(one.port, "alice")
        bob = await register(two.port, "bob")
        # A message stored and never published (as if its node died at once): node 2
        # fills the gap from the log, which waits until the test says.
        lost = await _stored_unpublished(mysql_db, "alice", "lost")
        gate = asyncio.Event()
        message_log = two.service.store.message_log

        async def slow_log(after: int, limit: int) -> list[LoggedMessage]:
            await gate.wait()
            return await message_log(after, limit)

        monkeypatch.setattr(two.service.store, "message_log", slow_log)
        sent = await alice.call(m.Send, room="Général", body="helo")
        assert sent.msg_id == lost + 1
        await alice.event(m.Message, msg_id=sent.msg_id)  # node 1 filled its gap
        await alice.call(m.Edit, msg_id=sent.msg_id, body="hello")
        await helpers.console_heard(one, bob)  # what node 1 published has reached node 2
        assert not [e for e in bob.events if isinstance(e, m.Message | m.Edited)]
        gate.set()
        await bob.collect(m.Edited, 1)
        heard = [
            (type(e).__name__, e.msg_id) for e in bob.events if isinstance(e, m.Message | m.Edited)
        ]
        assert heard == [("Message", lost), ("Message", sent.msg_id), ("Edited", sent.msg_id)]


async def _stored_unpublished(db: str, sender: str, body: str) -> int:
    """Store a message in Général through a store of its own, told to no node."""
    store = open_store(db)
    await store.open()
    try:
        user = await store.get_user(sender)
        assert user is not None
        general = next(r.id for r in await store.get_rooms() if r.name == "Général")
        (stored,) = await store.add_messages([NewMessage(user.id, body, 1, room_id=general)])
        return stored.msg_id
    finally:
        await store.close()
