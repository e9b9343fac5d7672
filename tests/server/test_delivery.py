"""Fan-out, paging, durability across restarts, slow readers and hostile bytes."""

from __future__ import annotations

import asyncio

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.server import ChatServer
from tests.helpers import Client, caught_up, login, register, running_server


async def test_every_member_gets_every_message_once_in_order(server: ChatServer) -> None:
    members = [await register(server.port, f"user{i}") for i in range(8)]
    outsider = await register(server.port, "outsider")
    await outsider.call(m.Leave, room="Général")
    for member in members:
        await member.call(m.Join, room="Blabla")
    senders = members[:4]
    per_sender = 25

    async def burst(client: Client) -> list[int]:
        return [
            (await client.call(m.Send, room="Blabla", body=f"{client.name} {i}")).msg_id
            for i in range(per_sender)
        ]

    sent = sorted(i for ids in await asyncio.gather(*map(burst, senders)) for i in ids)
    for member in members:
        received = await member.collect(m.Message, len(sent))
        assert [event.msg_id for event in received] == sent
    await caught_up(members[0], outsider)
    assert not [e for e in outsider.events if isinstance(e, m.Message)]


async def test_history_paging_gives_every_message_once(unlimited_server: ChatServer) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    total = 1000
    ids = []
    for start in range(0, total, 100):  # pipelined: 100 sends in flight at a time
        requests = [
            await alice.send_request(m.Send, room="Général", body=f"n{n}")
            for n in range(start, start + 100)
        ]
        for request_id in requests:
            ids.append((await alice.read_reply(request_id)).result(m.SentOk).msg_id)
    backwards: list[int] = []
    before = None
    for _ in range(total):  # at most a page per message: a paging bug fails, never hangs
        page = await alice.call(m.History, room="Général", before=before, limit=73)
        backwards = [msg.msg_id for msg in page.messages] + backwards
        if not page.more:
            break
        before = page.messages[0].msg_id
    assert backwards == ids
    forwards: list[int] = []
    after = 0
    for _ in range(total):
        page = await alice.call(m.History, room="Général", after=after, limit=200)
        forwards += [msg.msg_id for msg in page.messages]
        if not page.more:
            break
        after = page.messages[-1].msg_id
    assert forwards == ids


async def test_acknowledged_messages_survive_a_restart(db_path: str) -> None:
    async with running_server(db_path) as server:
        alice = await register(server.port, "alice")
        acked = [
            (await alice.call(m.Send, room="Général", body=f"keep {i}")).msg_id for i in range(20)
        ]
        await alice.call(m.Join, room="Informatique")
        stopping = asyncio.create_task(server.stop())
        await alice.closed()  # the shutdown says goodbye
        await stopping
        assert alice.events[-1] == m.Disconnect(
            reason=DisconnectReason.SHUTDOWN, text="the server is shutting down"
        )
        await alice.close()
    async with running_server(db_path) as server:
        alice = await login(server.port, "alice")
        page = await alice.call(m.History, room="Général")
        assert [msg.msg_id for msg in page.messages] == acked
        rooms = {room.name: room.state for room in (await alice.call(m.ListRooms)).rooms}
        assert rooms["Informatique"] == "pending"


async def test_a_reader_that_stops_is_dropped_and_others_go_on(db_path: str) -> None:
    async with running_server(db_path, outbound_buffer=64 * 1024, request_rate=0) as server:
        sleeper = await register(server.port, "sleeper")
        reader = await register(server.port, "reader")
        writer = await register(server.port, "writer")
        sleeper.reader._transport.pause_reading()  # type: ignore[attr-defined]
        body = "x" * 4000
        sent = 0
        for _ in range(100):  # at most 20 MB: far past any socket buffer
            requests = [
                await writer.send_request(m.Send, room="Général", body=body) for _ in range(50)
            ]
            for request_id in requests:
                (await writer.read_reply(request_id)).result(m.SentOk)
            sent += 50
            assert len(await reader.collect(m.Message, sent)) == sent  # never held back
            if len(server.hub.connections) == 2:
                break
        assert len(server.hub.connections) == 2, "the sleeper was never dropped"
        sleeper.reader._transport.resume_reading()  # type: ignore[attr-defined]
        await sleeper.closed()
        last = sleeper.events[-1]
        assert isinstance(last, m.Disconnect)
        assert last.reason == DisconnectReason.SLOW_CONSUMER
        assert len(server.hub.connections) == 2
