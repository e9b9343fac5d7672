"""Authorization: identity comes from the login alone, and rooms guard their history."""

from __future__ import annotations

import msgspec

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_core.framing import frame
from chat_srv.server import ChatServer
from tests.helpers import Client, caught_up, register


async def test_no_room_history_without_membership(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    mallory = await register(server.port, "mallory")
    await alice.call(m.Join, room="Blabla")
    await alice.call(m.Send, room="Blabla", body="members only")
    await mallory.call(m.Join, room="Informatique")  # pending is not membership
    for room in ("Blabla", "Informatique"):
        assert (await mallory.fails(m.History, room=room)).code == ErrorCode.NOT_MEMBER
        assert (await mallory.fails(m.Who, room=room)).code == ErrorCode.NOT_MEMBER
        assert (await mallory.fails(m.Send, room=room, body="x")).code == ErrorCode.NOT_MEMBER
    await caught_up(alice, mallory)
    assert not [e for e in mallory.events if isinstance(e, m.Message)]


async def test_no_one_reads_a_conversation_between_two_others(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    await register(server.port, "bob")
    mallory = await register(server.port, "mallory")
    await alice.call(m.Dm, to="bob", body="secret")
    for peer in ("alice", "bob"):
        page = await mallory.call(m.History, peer=peer)
        assert page.messages == []
    await caught_up(alice, mallory)
    assert not [e for e in mallory.events if isinstance(e, m.Message)]


async def test_a_client_cannot_say_who_sends(server: ChatServer) -> None:
    mallory = await register(server.port, "mallory")
    bob = await register(server.port, "bob")
    forged = {"type": "send", "id": 9, "room": "Général", "body": "hi", "from": "bob"}
    mallory.writer.write(frame(msgspec.msgpack.encode(forged)))
    reply = await mallory.read_reply(9)
    assert reply.fields["code"] == ErrorCode.BAD_REQUEST
    sent = await mallory.call(m.Send, room="Général", body="honest")
    assert (await bob.event(m.Message, msg_id=sent.msg_id)).sender == "mallory"


async def test_nothing_but_register_login_ping_before_login(server: ChatServer) -> None:
    anonymous = await Client.connect(server.port)
    assert (await anonymous.fails(m.History, peer="alice")).code == ErrorCode.NOT_LOGGED_IN
    assert (await anonymous.fails(m.Dm, to="alice", body="x")).code == ErrorCode.NOT_LOGGED_IN
