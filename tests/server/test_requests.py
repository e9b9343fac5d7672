"""Every request over a real socket: its success and every error code it can give."""

from __future__ import annotations

from typing import Any

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from tests.helpers import PASSWORD, Client, login, register


async def test_register_joins_general_and_logs_in(server: ChatServer) -> None:
    client = await Client.connect(server.port)
    result = await client.call(m.Register, user="Zoé", password=PASSWORD)
    assert result.user == "Zoé"
    states = {room.name: room.state for room in result.rooms}
    assert states == {
        "Blabla": "none",
        "Comptabilité": "none",
        "Général": "member",
        "Informatique": "none",
        "Marketing": "none",
    }
    general = next(room for room in result.rooms if room.name == "Général")
    assert general.unread == 0
    assert all(room.unread is None for room in result.rooms if room.state != "member")
    joined = await client.event(m.Member, room="Général")
    assert (joined.user, joined.joined) == ("Zoé", True)


async def test_register_errors(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    other = await Client.connect(server.port)
    assert (await other.fails(m.Register, user="ALICE", password=PASSWORD)).code == (
        ErrorCode.USER_EXISTS
    )
    assert (await other.fails(m.Register, user="a b", password=PASSWORD)).code == (
        ErrorCode.INVALID_NAME
    )
    assert (await other.fails(m.Register, user="x" * 33, password=PASSWORD)).code == (
        ErrorCode.INVALID_NAME
    )
    assert (await other.fails(m.Register, user="bob", password="short")).code == (
        ErrorCode.INVALID_PASSWORD
    )
    assert (await alice.fails(m.Register, user="carol", password=PASSWORD)).code == (
        ErrorCode.ALREADY_LOGGED_IN
    )


async def test_login_matches_names_case_insensitively(server: ChatServer) -> None:
    await (await register(server.port, "Général_fan")).close()
    client = await Client.connect(server.port)
    result = await client.call(m.Login, user="GÉNÉRAL_FAN", password=PASSWORD)
    assert result.user == "Général_fan"
    assert (await client.fails(m.Login, user="Général_fan", password=PASSWORD)).code == (
        ErrorCode.ALREADY_LOGGED_IN
    )


async def test_login_failure_does_not_say_which_part_was_wrong(server: ChatServer) -> None:
    await (await register(server.port, "alice")).close()
    client = await Client.connect(server.port)
    wrong_password = await client.fails(m.Login, user="alice", password="not the password")
    unknown_user = await client.fails(m.Login, user="nobody", password=PASSWORD)
    assert wrong_password.code == unknown_user.code == ErrorCode.AUTH_FAILED
    assert wrong_password.message == unknown_user.message


async def test_only_register_login_and_ping_before_login(server: ChatServer) -> None:
    client = await Client.connect(server.port)
    await client.call(m.Ping)
    requests: list[tuple[type[m.Request], dict[str, Any]]] = [
        (m.ListRooms, {}),
        (m.Logout, {}),
        (m.Join, {"room": "Blabla"}),
        (m.Leave, {"room": "Blabla"}),
        (m.Send, {"room": "Général", "body": "hi"}),
        (m.Dm, {"to": "alice", "body": "hi"}),
        (m.History, {"room": "Général"}),
        (m.Who, {}),
        (m.MarkRead, {"room": "Général", "msg_id": 1}),
    ]
    for kind, fields in requests:
        assert (await client.fails(kind, **fields)).code == ErrorCode.NOT_LOGGED_IN, kind


async def test_logout_replies_then_closes(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Logout)
    await alice.closed()


async def test_join_open_room_pending_room_and_errors(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    assert (await alice.call(m.Join, room="blabla")).state == "member"
    heard = await bob.event(m.Member, room="Blabla", user="alice")
    assert heard.joined
    await alice.event(m.Member, room="Blabla", user="alice")  # the joiner hears it too
    assert (await alice.call(m.Join, room="Informatique")).state == "pending"
    assert (await alice.call(m.Join, room="Informatique")).state == "pending"
    assert (await alice.fails(m.Join, room="Blabla")).code == ErrorCode.ALREADY_MEMBER
    assert (await alice.fails(m.Join, room="Nowhere")).code == ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.Join, room="no,commas")).code == ErrorCode.INVALID_NAME
    rooms = {room.name: room for room in (await alice.call(m.ListRooms)).rooms}
    assert rooms["Informatique"].state == "pending"
    assert rooms["Blabla"].state == "member"
    assert rooms["Blabla"].online == 2


async def test_online_counts_follow_connections_joins_and_leaves(server: ChatServer) -> None:
    async def online(client: Client, room: str) -> int:
        rooms = {r.name: r for r in (await client.call(m.ListRooms)).rooms}
        return int(rooms[room].online)

    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    assert await online(alice, "Général") == 2
    assert await online(alice, "Blabla") == 0
    await bob.call(m.Join, room="Blabla")
    assert await online(alice, "Blabla") == 1
    second = await login(server.port, "bob")  # a second connection: still one user
    assert await online(alice, "Blabla") == 1
    await bob.call(m.Logout)
    await bob.closed()
    assert await online(alice, "Blabla") == 1  # the second connection is still there
    await second.call(m.Leave, room="Blabla")
    assert await online(alice, "Blabla") == 0
    assert await online(alice, "Général") == 2
    await second.call(m.Logout)
    await second.closed()
    assert await online(alice, "Général") == 1


async def test_leave(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    await alice.call(m.Leave, room="Général")
    left = await bob.event(m.Member, room="Général", user="alice", joined=False)
    assert not left.joined
    assert (await alice.fails(m.Leave, room="Général")).code == ErrorCode.NOT_MEMBER
    assert (await alice.fails(m.Leave, room="Nowhere")).code == ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.Send, room="Général", body="hi")).code == ErrorCode.NOT_MEMBER
    await alice.call(m.Join, room="Marketing")
    await alice.call(m.Leave, room="Marketing")  # withdraws a pending request
    rooms = {room.name: room.state for room in (await alice.call(m.ListRooms)).rooms}
    assert rooms["Marketing"] == rooms["Général"] == "none"


async def test_send_and_its_errors(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    sent = await alice.call(m.Send, room="Général", body="line one\n\tline two")
    echo = await alice.event(m.Message, msg_id=sent.msg_id)
    assert (echo.body, echo.ts) == ("line one\n\tline two", sent.ts)
    assert (await alice.fails(m.Send, room="Nowhere", body="x")).code == ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.Send, room="Blabla", body="x")).code == ErrorCode.NOT_MEMBER
    for body in ["", "   \n", "esc \x1b[31m", "cr\r", "x" * 4001, "😀" * 4001]:
        error = await alice.fails(m.Send, room="Général", body=body)
        assert error.code == ErrorCode.BAD_REQUEST, repr(body[:10])


async def test_send_with_nonce_is_stored_once(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    first = await alice.call(m.Send, room="Général", body="once", nonce="n-1")
    again = await alice.call(m.Send, room="Général", body="once", nonce="n-1")
    assert (again.msg_id, again.ts) == (first.msg_id, first.ts)
    page = await alice.call(m.History, room="Général")
    assert [msg.msg_id for msg in page.messages] == [first.msg_id]


async def test_dm_to_offline_user_is_there_at_next_login(server: ChatServer) -> None:
    await (await register(server.port, "bob")).close()
    alice = await register(server.port, "alice")
    sent = await alice.call(m.Dm, to="BOB", body="are you there?")
    echo = await alice.event(m.Message, msg_id=sent.msg_id)
    assert (echo.to, echo.room) == ("bob", None)
    bob = await login(server.port, "bob")
    result = await bob.call(m.ListRooms)
    assert result.rooms  # still logged in and served
    bob_laptop = await Client.connect(server.port)
    login_reply = await bob_laptop.call(m.Login, user="bob", password=PASSWORD)
    await bob_laptop.close()
    assert [(d.peer, d.last_msg_id, d.unread) for d in login_reply.dms] == [
        ("alice", sent.msg_id, 1)
    ]
    page = await bob.call(m.History, peer="alice")
    assert [(msg.sender, msg.to, msg.body) for msg in page.messages] == [
        ("alice", "bob", "are you there?")
    ]


async def test_dm_reaches_both_parties_connections(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    bob_phone = await login(server.port, "bob")
    sent = await alice.call(m.Dm, to="bob", body="psst")
    for client in (alice, bob, bob_phone):
        assert (await client.event(m.Message, msg_id=sent.msg_id)).body == "psst"
    assert (await alice.fails(m.Dm, to="nobody", body="x")).code == ErrorCode.NO_SUCH_USER
    assert (await alice.fails(m.Dm, to="alice", body="x")).code == ErrorCode.BAD_REQUEST
    assert (await alice.fails(m.Dm, to="b o b", body="x")).code == ErrorCode.INVALID_NAME


async def test_history_errors(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    assert (await alice.fails(m.History, room="Blabla")).code == ErrorCode.NOT_MEMBER
    assert (await alice.fails(m.History, room="Nowhere")).code == ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.History, peer="nobody")).code == ErrorCode.NO_SUCH_USER
    wrong: list[dict[str, Any]] = [
        {"room": "Général", "limit": 0},
        {"room": "Général", "limit": 201},
        {"room": "Général", "peer": "alice"},
        {},
        {"room": "Général", "before": 5, "after": 1},
    ]
    for fields in wrong:
        assert (await alice.fails(m.History, **fields)).code == ErrorCode.BAD_REQUEST, fields


async def test_dm_history_holds_only_the_two_parties(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    carol = await register(server.port, "carol")
    await alice.call(m.Dm, to="bob", body="a to b")
    await carol.call(m.Dm, to="bob", body="c to b")
    await bob.call(m.Dm, to="alice", body="b to a")
    page = await alice.call(m.History, peer="bob")
    assert [msg.body for msg in page.messages] == ["a to b", "b to a"]
    assert (await carol.call(m.History, peer="alice")).messages == []


async def test_who(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    await (await register(server.port, "bob")).close()
    await alice.event(m.Presence, user="bob", online=False)  # bob may have been elsewhere
    result = await alice.call(m.Who, room="Général")
    assert [(u.name, u.online) for u in result.users] == [("alice", True), ("bob", False)]
    everyone = await alice.call(m.Who)
    assert [(u.name, u.online) for u in everyone.users] == [("alice", True)]
    assert (await alice.fails(m.Who, room="Blabla")).code == ErrorCode.NOT_MEMBER
    assert (await alice.fails(m.Who, room="Nowhere")).code == ErrorCode.NO_SUCH_ROOM


async def test_read_markers_and_unread_counts(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    ids = [(await alice.call(m.Send, room="Général", body=f"m{i}")).msg_id for i in range(3)]
    await bob.call(m.Dm, to="alice", body="dm")
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert (rooms["Général"].unread, rooms["Général"].last_msg_id) == (3, ids[-1])
    own = {r.name: r for r in (await alice.call(m.ListRooms)).rooms}
    assert own["Général"].unread == 0  # your own messages are never unread

    bob_phone = await login(server.port, "bob")
    await bob.call(m.MarkRead, room="Général", msg_id=ids[1])
    moved = await bob_phone.event(m.Read, room="Général")
    assert moved.msg_id == ids[1]
    await bob.call(m.MarkRead, room="Général", msg_id=ids[0])  # backwards: ok, no change
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert rooms["Général"].unread == 1

    second = await Client.connect(server.port)
    reply = await second.call(m.Login, user="alice", password=PASSWORD)
    assert [(d.peer, d.unread) for d in reply.dms] == [("bob", 1)]
    last_dm = reply.dms[0].last_msg_id
    await second.call(m.MarkRead, peer="bob", msg_id=last_dm)
    assert (await alice.event(m.Read, peer="bob")).msg_id == last_dm
    assert (await alice.fails(m.MarkRead, room="Blabla", msg_id=1)).code == ErrorCode.NOT_MEMBER
    assert (await alice.fails(m.MarkRead, room="Nope", msg_id=1)).code == ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.MarkRead, peer="nobody", msg_id=1)).code == (ErrorCode.NO_SUCH_USER)


async def test_joining_starts_with_nothing_unread(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Blabla")
    for i in range(5):
        await alice.call(m.Send, room="Blabla", body=f"old {i}")
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert rooms["Blabla"].unread == 0
    assert len((await bob.call(m.History, room="Blabla")).messages) == 5


async def test_presence_goes_to_users_sharing_a_room(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    await (await register(server.port, "bob")).close()
    await alice.event(m.Presence, user="bob", online=True)
    await alice.event(m.Presence, user="bob", online=False)
    bob = await login(server.port, "bob")
    await alice.event(m.Presence, user="bob", online=True)
    bob_phone = await login(server.port, "bob")  # not a first connection: no event
    await bob_phone.close()
    await bob.close()
    await alice.event(m.Presence, user="bob", online=False)
    await alice.sync()
    assert not [e for e in alice.events if isinstance(e, m.Presence)]


@pytest.mark.parametrize("kind", [m.Send, m.Dm])
async def test_replies_come_in_request_order(
    unlimited_server: ChatServer, kind: type[m.Request]
) -> None:
    server = unlimited_server
    alice = await register(server.port, "alice")
    await (await register(server.port, "bob")).close()
    target = {"room": "Général"} if kind is m.Send else {"to": "bob"}
    ids = [await alice.send_request(kind, body=f"n{i}", **target) for i in range(50)]
    ids.append(await alice.send_request(m.Ping))
    msg_ids = []
    for request_id in ids[:-1]:
        msg_ids.append((await alice.read_reply(request_id)).result(m.SentOk).msg_id)
    await alice.read_reply(ids[-1])
    assert msg_ids == sorted(msg_ids)


async def test_accept_and_reject_are_told_to_the_requester(server: ChatServer) -> None:
    await register(server.port, "first")  # on a cluster, alice lands on another node
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Informatique")
    await alice.call(m.Join, room="Marketing")
    admin = Admin(server)
    await admin.accept("alice", ["Informatique"])
    assert (await alice.event(m.Membership, room="Informatique")).state == m.MEMBER
    await admin.reject("alice", ["Marketing"])
    assert (await alice.event(m.Membership, room="Marketing")).state == m.NONE
