"""Noticing one another, over real sockets: typing, away status, topics and mentions
(topics and mention counts on both stores)."""

from __future__ import annotations

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.noticing import TYPING_INTERVAL
from chat_srv.server import ChatServer
from tests.console import run
from tests.helpers import (
    PASSWORD,
    Client,
    ManualClock,
    caught_up,
    login,
    register,
    running_server,
)


async def console(server: ChatServer, line: str) -> str:
    return await run(CommandLine(Admin(server)), line)


def typists(client: Client) -> list[tuple[str, str | None, str | None]]:
    return [(e.user, e.room, e.to) for e in client.events if isinstance(e, m.UserTyping)]


# -- typing ------------------------------------------------------------------------------


async def test_typing_is_relayed_to_the_others_and_throttled(
    timed: ChatServer, clock: ManualClock
) -> None:
    alice = await register(timed.port, "alice")
    alice_too = await login(timed.port, "alice")
    bob = await register(timed.port, "bob")
    carol = await register(timed.port, "carol")
    await carol.call(m.Leave, room="Général")
    for _ in range(5):
        await alice.call(m.Typing, room="Général")
    await alice.call(m.Typing, peer="carol")
    await alice.call(m.Typing, peer="carol")
    await caught_up(alice, bob, carol)  # what alice's node relayed has reached them
    for client in (alice, alice_too):
        await client.sync()
    assert typists(bob) == [("alice", "Général", None)]
    assert typists(carol) == [("alice", None, "carol")]
    assert typists(alice) == typists(alice_too) == []  # not to oneself
    # Another connection of the same user has a throttle of its own.
    await alice_too.call(m.Typing, room="Général")
    clock.advance(TYPING_INTERVAL - 0.1)
    await alice.call(m.Typing, room="Général")
    await caught_up(alice_too, bob)
    await caught_up(alice, bob)
    assert len(typists(bob)) == 2
    clock.advance(0.1)
    await alice.call(m.Typing, room="Général")
    await caught_up(alice, bob)
    assert len(typists(bob)) == 3


async def test_typing_errors(timed: ChatServer) -> None:
    alice = await register(timed.port, "alice")
    assert (await alice.fails(m.Typing, room="Blabla")).code is ErrorCode.NOT_MEMBER
    assert (await alice.fails(m.Typing, room="Nowhere")).code is ErrorCode.NO_SUCH_ROOM
    assert (await alice.fails(m.Typing, peer="nobody")).code is ErrorCode.NO_SUCH_USER
    assert (await alice.fails(m.Typing, peer="alice")).code is ErrorCode.BAD_REQUEST
    assert (await alice.fails(m.Typing)).code is ErrorCode.BAD_REQUEST


# -- status ------------------------------------------------------------------------------


async def test_status_goes_to_rooms_and_conversations_and_ends_with_the_last_connection(
    timed: ChatServer,
) -> None:
    alice = await register(timed.port, "alice")
    alice_too = await login(timed.port, "alice")
    bob = await register(timed.port, "bob")  # shares Général
    dave = await register(timed.port, "dave")
    await dave.call(m.Leave, room="Général")
    await dave.call(m.Dm, to="alice", body="hi")  # shares a conversation
    eve = await register(timed.port, "eve")
    await eve.call(m.Leave, room="Général")  # shares nothing
    await alice.call(m.SetStatus, away=True, text="  lunch  ")
    for client in (bob, dave, alice_too):
        event = await client.event(m.UserStatus, user="alice")
        assert (event.away, event.text) == (True, "lunch")
    await alice.call(m.SetStatus, away=True, text="lunch")  # no change: nothing sent
    who = {u.name: (u.away, u.text) for u in (await bob.call(m.Who, room="Général")).users}
    assert who["alice"] == (True, "lunch")
    assert who["bob"] == (False, None)
    again = await Client.connect(timed.port)
    dms = (await again.call(m.Login, user="dave", password=PASSWORD)).dms
    assert [(d.peer, d.away, d.text) for d in dms] == [("alice", True, "lunch")]
    await alice.close()
    await alice_too.sync()
    assert (await bob.call(m.Who, room="Général")).users[0].away  # one connection left
    await alice_too.close()
    for client in (bob, dave):
        event = await client.event(m.UserStatus, user="alice", away=False)
        assert event.text is None
    await eve.sync()
    assert not [e for e in eve.events if isinstance(e, m.UserStatus)]
    back = await login(timed.port, "alice")
    assert not (await back.call(m.Who)).users[0].away


async def test_back_clears_the_text(timed: ChatServer) -> None:
    alice = await register(timed.port, "alice")
    bob = await register(timed.port, "bob")
    await alice.call(m.SetStatus, away=True, text="afk")
    await alice.call(m.SetStatus, away=False, text="ignored when back")
    await bob.event(m.UserStatus, away=True)
    event = await bob.event(m.UserStatus, away=False)
    assert event.text is None


@pytest.mark.parametrize("text", ["x" * 101, "tab\there", "line\nbreak", "\x1b[2J"])
async def test_bad_status_text(timed: ChatServer, text: str) -> None:
    alice = await register(timed.port, "alice")
    assert (await alice.fails(m.SetStatus, away=True, text=text)).code is ErrorCode.BAD_REQUEST


# -- topics ------------------------------------------------------------------------------


async def test_topics_are_for_moderators_and_survive_a_restart(any_db: str) -> None:
    async with running_server(any_db) as server:
        alice = await register(server.port, "alice")
        mia = await register(server.port, "mia")
        assert (await alice.fails(m.SetTopic, room="Général", topic="mine")).code is (
            ErrorCode.FORBIDDEN
        )
        await console(server, "op mia moderator")
        await mia.call(m.SetTopic, room="Général", topic="Tout ce qui est général ☕")
        event = await alice.event(m.Topic, room="Général")
        assert (event.topic, event.by) == ("Tout ce qui est général ☕", "mia")
        await mia.call(m.SetTopic, room="Marketing", topic="secret plans")  # not a member
        assert (await mia.fails(m.SetTopic, room="Nowhere", topic="x")).code is (
            ErrorCode.NO_SUCH_ROOM
        )
        assert (await mia.fails(m.SetTopic, room="Général", topic="a\nb")).code is (
            ErrorCode.BAD_REQUEST
        )
        assert (await mia.fails(m.SetTopic, room="Général", topic="x" * 301)).code is (
            ErrorCode.BAD_REQUEST
        )
    async with running_server(any_db) as server:
        alice = await login(server.port, "alice")
        rooms = {r.name: r for r in (await alice.call(m.ListRooms)).rooms}
        assert rooms["Général"].topic == "Tout ce qui est général ☕"
        assert rooms["Marketing"].topic is None  # approval needed: outsiders do not see it
        assert await console(server, "topic Blabla  Off topic  ") == "topic of Blabla: Off topic\n"
        assert await console(server, "topic Général") == "topic of Général cleared\n"
        event = await alice.event(m.Topic, room="Général")
        assert (event.topic, event.by) == ("", "console")
        rooms = {r.name: r for r in (await alice.call(m.ListRooms)).rooms}
        assert (rooms["Général"].topic, rooms["Blabla"].topic) == (None, "Off topic")
        assert (await console(server, "topic Blabla a\x1bb")).startswith("error: a topic cannot")


# -- mentions ----------------------------------------------------------------------------


async def test_mentions_are_listed_and_counted_until_read(both: ChatServer) -> None:
    alice = await register(both.port, "alice")
    bob = await register(both.port, "Bob")
    await bob.close()
    one = await alice.call(m.Send, room="Général", body="@bob: lunch? (cc @nobody, me@alice)")
    await alice.call(m.Send, room="Général", body="nothing for bob here")
    two = await alice.call(m.Send, room="Général", body="thanks @BOB. And @alice too")
    page = (await alice.call(m.History, room="Général")).messages
    assert [msg.mentions for msg in page] == [["Bob"], None, ["Bob", "alice"]]
    bob = await login(both.port, "bob")
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert (rooms["Général"].unread, rooms["Général"].mentions) == (3, 2)
    assert rooms["Blabla"].mentions is None  # not a member
    mine = {r.name: r for r in (await alice.call(m.ListRooms)).rooms}
    assert mine["Général"].mentions == 0  # one's own messages never count
    await bob.call(m.MarkRead, room="Général", msg_id=one.msg_id)
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert (rooms["Général"].unread, rooms["Général"].mentions) == (2, 1)
    # An edit re-counts; a deletion removes.
    await alice.call(m.Edit, msg_id=two.msg_id, body="thanks everyone")
    live = await bob.event(m.Edited, msg_id=two.msg_id)
    assert live.mentions is None
    three = await alice.call(m.Send, room="Général", body="@bob again")
    assert (await bob.event(m.Message, msg_id=three.msg_id)).mentions == ["Bob"]
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert rooms["Général"].mentions == 1
    await alice.call(m.Delete, msg_id=three.msg_id)
    rooms = {r.name: r for r in (await bob.call(m.ListRooms)).rooms}
    assert rooms["Général"].mentions == 0
