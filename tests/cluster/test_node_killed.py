"""A node that dies (SIGKILL, a real process): nothing it acknowledged is lost, its
users show offline on the other nodes within 10 s (their away status ended), and come
back on another node with their session tokens."""

from __future__ import annotations

import pytest

from chat_core import messages as m
from tests.cluster.conftest import RedisServer, cluster
from tests.helpers import PASSWORD, TIMEOUT, Client, register
from tests.server.process import server_process

pytestmark = pytest.mark.mysql

SENT = 20


async def test_a_killed_node_loses_nothing_and_its_users_come_back_elsewhere(
    mysql_db: str, redis_server: RedisServer
) -> None:
    assert TIMEOUT <= 10  # each wait below is the guarantee: offline within 10 s
    async with (
        cluster(mysql_db, redis_server.url, 1) as (one,),
        server_process(mysql_db, "--cluster", redis_server.url, "--node-id", "node-2") as two,
    ):
        watcher = await register(one.port, "watcher")
        alice = await Client.connect(two.port)
        token = (await alice.call(m.Register, user="alice", password=PASSWORD)).token
        assert (await watcher.event(m.Presence, user="alice")).online
        await alice.call(m.SetStatus, away=True, text="on node 2")
        assert (await watcher.event(m.UserStatus, user="alice")).away
        acknowledged = [
            (await alice.call(m.Send, room="Général", body=f"before {n}")).msg_id
            for n in range(SENT)
        ]

        two.process.kill()
        assert await two.ended() == -9
        await alice.closed()
        # Node 2 says nothing as it dies: node 1 finds it silent and its users gone.
        assert not (await watcher.event(m.Presence, user="alice")).online
        assert not (await watcher.event(m.UserStatus, user="alice")).away  # her status ends
        members = (await watcher.call(m.Who, room="Général")).users
        assert {u.name: u.online for u in members} == {"watcher": True, "alice": False}
        assert not any(u.away for u in members)
        assert [u.name for u in (await watcher.call(m.Who)).users] == ["watcher"]

        back = await Client.connect(one.port)
        result = await back.call(m.Login, user="alice", token=token, protocol=2)
        assert result.user == "alice"
        assert (await watcher.event(m.Presence, user="alice")).online
        after = (await back.call(m.Send, room="Général", body="after")).msg_id

        # Every acknowledged message is stored, and reached the watcher once, in order.
        history = await back.call(m.History, room="Général", limit=SENT + 1)
        assert [x.msg_id for x in history.messages] == [*acknowledged, after]
        await watcher.collect(m.Message, SENT + 1)
        heard = [e.msg_id for e in watcher.events if isinstance(e, m.Message)]
        assert heard == [*acknowledged, after]
