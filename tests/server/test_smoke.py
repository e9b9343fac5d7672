"""The first conversation: register, send, receive, history."""

from __future__ import annotations

from chat_core import messages as m
from chat_srv.server import ChatServer
from tests.helpers import register


async def test_two_users_chat_in_general(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    sent = await alice.call(m.Send, room="Général", body="bonjour")
    got = await bob.event(m.Message, msg_id=sent.msg_id)
    assert (got.sender, got.body, got.room) == ("alice", "bonjour", "Général")
    page = await bob.call(m.History, room="général")
    assert [msg.body for msg in page.messages] == ["bonjour"]
