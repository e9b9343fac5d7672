"""What answers may say: a reused nonce is an error, and a room that needs approval
tells a non-member only its name, that it needs approval, and their own state."""

from __future__ import annotations

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from tests.helpers import register


async def test_a_nonce_reused_for_another_message_is_refused(both: ChatServer) -> None:
    server = both
    alice = await register(server.port, "alice")
    await register(server.port, "bob")
    await alice.call(m.Join, room="Blabla")
    first = await alice.call(m.Send, room="Général", body="A", nonce="n1")
    again = await alice.call(m.Send, room="Général", body="A", nonce="n1")
    assert again.msg_id == first.msg_id  # the same message sent again
    for kind, fields in (
        (m.Send, {"room": "Général", "body": "B"}),
        (m.Send, {"room": "Blabla", "body": "A"}),
        (m.Dm, {"to": "bob", "body": "A"}),
    ):
        error = await alice.fails(kind, nonce="n1", **fields)
        assert error.code == ErrorCode.BAD_REQUEST
        assert error.message == "nonce already used for another message"
    page = await alice.call(m.History, room="Général")
    assert [msg.body for msg in page.messages] == ["A"]


async def test_rooms_needing_approval_keep_their_activity_from_outsiders(
    server: ChatServer,
) -> None:
    insider = await register(server.port, "insider")
    await insider.call(m.Join, room="Informatique")
    await Admin(server).accept("insider", ["Informatique"])
    await insider.event(m.Member, room="Informatique", user="insider")  # its node has it
    said = await insider.call(m.Send, room="Informatique", body="budget: secret")
    waiting = await register(server.port, "waiting")
    await waiting.call(m.Join, room="Informatique")
    outsider = await register(server.port, "outsider")

    def info(rooms: list[m.RoomInfo], name: str) -> m.RoomInfo:
        return next(room for room in rooms if room.name == name)

    for client, state in ((outsider, "none"), (waiting, "pending")):
        rooms = (await client.call(m.ListRooms)).rooms
        assert info(rooms, "Informatique") == m.RoomInfo(
            name="Informatique", approval=True, state=state
        )
        open_room = info(rooms, "Blabla")  # anyone may join it: nothing to hide
        assert open_room.online == 0
        assert open_room.last_msg_id == 0
    inside = info((await insider.call(m.ListRooms)).rooms, "Informatique")
    assert (inside.online, inside.last_msg_id, inside.unread) == (1, said.msg_id, 0)
