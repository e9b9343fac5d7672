"""Noticing one another in chat-tui, against a real server: typing, away statuses
(by hand and when idle), topics, mention counts, the bell and notifications.

The app's clock is a `ManualClock` the tests move; the app's `tick()` (once a
second on its own) is called by the tests after moving it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from chat_tui.client import ChatClient
from chat_tui.config import Preferences
from chat_tui.conversation import Target
from chat_tui.noticing import TYPING_EVERY, TYPING_SHOWN
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.message_line import SystemLine
from chat_tui.widgets.sidebar import Sidebar
from chat_tui.widgets.status_bar import StatusBar
from chat_tui.widgets.user_list import UserList
from tests.helpers import Client, ManualClock, register
from tests.tui.helpers import Driver, drive, make_app, rendered


class CountingClient(ChatClient):
    """A real client that counts the `typing` requests it sends."""

    sent: list[dict[str, Any]]

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sent = []

    async def typing(self, *, room: str | None = None, peer: str | None = None) -> None:
        self.sent.append({"room": room, "peer": peer})
        await super().typing(room=room, peer=peer)


def typing_shown(ui: Driver) -> str:
    return str(ui.chat.query_one(ChatInput).border_subtitle or "")


def notes(ui: Driver) -> list[str]:
    return [str(line.content) for line in ui.chat.query(SystemLine)]


def sidebar_line(ui: Driver, label: str) -> str:
    lines = rendered(ui.chat.query_one(Sidebar)).split("\n")
    return next(line for line in lines if line.startswith(label))


def conv_of(ui: Driver, target: Target) -> Any:
    assert ui.app.session is not None
    conv = ui.app.session.state.conversation(target)
    assert conv is not None, target
    return conv


async def op(server: ChatServer, line: str) -> None:
    await CommandLine(Admin(server)).run(line)


# -- typing ------------------------------------------------------------------------------


async def test_typing_is_said_at_most_every_three_seconds(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    clock = ManualClock()
    app = make_app(server.port, config_dir, client_factory=CountingClient, clock=clock.monotonic)
    async with drive(app) as ui:
        await ui.log_in("alice")
        client = ui.app.client
        assert isinstance(client, CountingClient)
        ui.chat.query_one(ChatInput).focus()
        await ui.pilot.press(*"hello")
        await ui.settle()
        assert client.sent == [{"room": "Général", "peer": None}]  # five keys, one typing
        got = await bob.event(m.UserTyping)
        assert (got.user, got.room) == ("alice", "Général")
        clock.advance(TYPING_EVERY - 0.5)
        await ui.pilot.press("!")
        await ui.settle()
        assert len(client.sent) == 1
        clock.advance(0.5)
        await ui.pilot.press("?")
        await ui.settle()
        assert len(client.sent) == 2
        clock.advance(TYPING_EVERY)
        await ui.pilot.press("ctrl+u")  # an empty line is no typing
        await ui.type("/who")  # nor is a command
        await ui.settle()
        assert len(client.sent) == 2


async def test_who_is_typing_shows_under_the_input(server: ChatServer, config_dir: Path) -> None:
    typists = [await register(server.port, name) for name in ("bob", "carol", "dave")]
    clock = ManualClock()
    async with drive(make_app(server.port, config_dir, clock=clock.monotonic)) as ui:
        await ui.log_in("alice")
        bob, carol, dave = typists
        await bob.call(m.Typing, room="Général")
        await ui.wait(lambda: typing_shown(ui) == "bob is typing…", "bob typing")
        clock.advance(TYPING_SHOWN / 2)
        await carol.call(m.Typing, room="Général")
        await ui.wait(lambda: typing_shown(ui) == "bob and carol are typing…", "two typing")
        await dave.call(m.Typing, room="Général")
        await ui.wait(lambda: typing_shown(ui) == "several people are typing…", "three typing")
        await dave.call(m.Send, room="Général", body="done")  # his message ends his typing
        await ui.wait(lambda: typing_shown(ui) == "bob and carol are typing…", "dave's message")
        clock.advance(TYPING_SHOWN / 2)  # bob's time is up, carol's not yet
        ui.app.tick()
        await ui.wait(lambda: typing_shown(ui) == "carol is typing…", "bob's to end")
        clock.advance(TYPING_SHOWN / 2)
        ui.app.tick()
        await ui.wait(lambda: typing_shown(ui) == "", "carol's to end")
        # Typing in a conversation not on screen does not show here.
        await bob.call(m.Dm, to="alice", body="psst")
        await ui.settle()
        await bob.call(m.Typing, peer="alice")
        await bob.sync()
        await ui.settle()
        assert typing_shown(ui) == ""
        await ui.type("/msg bob")
        await ui.wait(lambda: typing_shown(ui) == "bob is typing…", "bob typing to alice")


# -- away ----------------------------------------------------------------------------------


async def test_away_and_back_are_seen_by_the_others(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/away lunch, back at two")
        got = await bob.event(m.UserStatus, user="alice")
        assert (got.away, got.text) == (True, "lunch, back at two")
        bar = ui.chat.query_one(StatusBar)
        assert bar.away == "lunch, back at two"
        assert "You are away: lunch, back at two (/back when back)." in notes(ui)
        await ui.pilot.press("x")  # keys do not end an away set by hand
        await ui.type("/back")
        got = await bob.event(m.UserStatus, user="alice")
        assert (got.away, got.text) == (False, None)
        assert bar.away is None
        # And bob's status, in the user list, the sidebar and the title of a DM.
        await bob.call(m.SetStatus, away=True, text="[bold]in a meeting[/]")
        users = ui.chat.query_one(UserList)
        await ui.wait(lambda: "◐ bob" in rendered(users), "bob away in the list")
        assert rendered(users).split("\n")[2] == "◐ bob [bold]in"  # one line, not markup
        await ui.type("/msg bob")
        await ui.wait(lambda: bar.title.startswith("@bob"), "the conversation")
        assert bar.title == "@bob  (away: [bold]in a meeting[/])"
        assert sidebar_line(ui, "@bob").endswith("away")
        await bob.call(m.SetStatus, away=False)
        await ui.wait(lambda: bar.title == "@bob", "bob back")
        await bob.call(m.SetStatus, away=True)
        await ui.wait(lambda: bar.title == "@bob  (away)", "bob away again")
        await bob.close()  # the status ends with his last connection
        await ui.wait(lambda: bar.title == "@bob", "bob gone, not away")


async def test_idleness_sets_away_and_a_key_sets_back(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    clock = ManualClock()
    preferences = Preferences(away_after_minutes=5)
    app = make_app(server.port, config_dir, preferences=preferences, clock=clock.monotonic)
    async with drive(app) as ui:
        await ui.log_in("alice")
        clock.advance(4 * 60)
        ui.app.tick()
        await ui.settle()
        clock.advance(60)
        ui.app.tick()
        got = await bob.event(m.UserStatus, user="alice")
        assert (got.away, got.text) == (True, None)
        bar = ui.chat.query_one(StatusBar)
        await ui.wait(lambda: bar.away == "", "away in the status bar")
        clock.advance(60)
        ui.app.tick()  # away already: nothing more
        await ui.pilot.press("a")
        got = await bob.event(m.UserStatus, user="alice")
        assert not got.away
        await ui.wait(lambda: bar.away is None, "back in the status bar")
        await bob.sync()
        assert not [e for e in bob.events if isinstance(e, m.UserStatus)]


async def test_auto_away_can_be_turned_off(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    clock = ManualClock()
    preferences = Preferences(away_after_minutes=0)
    app = make_app(server.port, config_dir, preferences=preferences, clock=clock.monotonic)
    async with drive(app) as ui:
        await ui.log_in("alice")
        clock.advance(24 * 3600)
        ui.app.tick()
        await ui.settle()
        await bob.sync()
        assert not [e for e in bob.events if isinstance(e, m.UserStatus)]


# -- topics ---------------------------------------------------------------------------------


async def test_the_topic_is_in_the_header_and_set_by_moderators(
    server: ChatServer, config_dir: Path
) -> None:
    await op(server, "topic Général Tout ce qui est [bold]général[/]")
    mia = await register(server.port, "mia")
    await op(server, "op mia moderator")
    async with drive(make_app(server.port, config_dir), size=(120, 30)) as ui:
        await ui.log_in("alice")
        bar = ui.chat.query_one(StatusBar)
        assert bar.topic == "Tout ce qui est [bold]général[/]"
        assert "Tout ce qui est [bold]général[/]" in rendered(bar)  # not markup
        await ui.type("/topic mine now")
        await ui.wait(
            lambda: "Not allowed: topics are set by moderators and admins." in notes(ui),
            "the refusal",
        )
        assert bar.topic == "Tout ce qui est [bold]général[/]"
        await mia.call(m.SetTopic, room="Général", topic="Standup at 9:30")
        await ui.wait(lambda: bar.topic == "Standup at 9:30", "the new topic")
        assert "mia set the topic: Standup at 9:30" in notes(ui)
        await mia.call(m.SetTopic, room="Général", topic="")
        await ui.wait(lambda: bar.topic == "", "the topic cleared")
        assert "mia cleared the topic" in notes(ui)


async def test_a_moderator_sets_the_topic(server: ChatServer, config_dir: Path) -> None:
    alice = await register(server.port, "alice")
    await register(server.port, "mia")
    await op(server, "op mia moderator")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("mia", register=False)
        await ui.type("/topic   Release on Friday  ")
        got = await alice.event(m.Topic, room="Général")
        assert (got.topic, got.by) == ("Release on Friday", "mia")
        bar = ui.chat.query_one(StatusBar)
        await ui.wait(lambda: bar.topic == "Release on Friday", "the topic")
        await ui.type("/topic")
        got = await alice.event(m.Topic, room="Général")
        assert got.topic == ""
        await ui.wait(lambda: bar.topic == "", "no topic")
        await ui.type("/msg alice")
        await ui.wait(lambda: bar.title == "@alice", "the conversation")
        await ui.type("/topic hello")
        assert "/topic sets the topic of the current room; this is not a room." in notes(ui)


# -- mentions --------------------------------------------------------------------------------


async def test_mention_counts_in_the_sidebar_until_read(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    alice = await register(server.port, "alice")
    await alice.call(m.Join, room="Blabla")
    await alice.close()
    for body in ("@alice one", "two", "@Alice three", "alice alone is no @mention"):
        await bob.call(m.Send, room="Blabla", body=body)
    blabla = Target.room("Blabla")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice", register=False)
        assert (conv_of(ui, blabla).unread, conv_of(ui, blabla).mentions) == (4, 2)
        assert sidebar_line(ui, "#Blabla").endswith(" 4   @2")
        await bob.call(m.Send, room="Blabla", body="and @alice four")
        await ui.wait(lambda: conv_of(ui, blabla).mentions == 3, "the live mention")
        assert sidebar_line(ui, "#Blabla").endswith(" 5   @3")
        await bob.call(m.Send, room="Général", body="@alice, in the room on screen")
        await bob.sync()
        await ui.settle()
        assert conv_of(ui, Target.room("Général")).mentions == 0
        await ui.type("/join Blabla")  # opening it marks it read
        await ui.wait(lambda: conv_of(ui, blabla).mentions == 0, "the mentions read")
        assert conv_of(ui, blabla).unread == 0
        assert sidebar_line(ui, "#Blabla") == "#Blabla"
    rooms = {r.name: r for r in (await alice_rooms(server.port))}
    assert rooms["Blabla"].mentions == 0  # read on the server too


async def alice_rooms(port: int) -> list[m.RoomInfo]:
    async with await Client.connect(port) as client:
        reply: m.LoginOk = await client.call(m.Login, user="alice", password="correct horse")
    return reply.rooms


# -- the bell and notifications -------------------------------------------------------------


def counting_bell(ui: Driver, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    rings: list[None] = []
    monkeypatch.setattr(ui.app, "bell", lambda: rings.append(None))
    return lambda: len(rings)


async def test_a_dm_or_a_mention_rings_and_pops_up(
    server: ChatServer, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/join Blabla")
        await ui.type("/join Général")
        await ui.wait(lambda: ui.chat.query_one(StatusBar).title.startswith("#Général"), "back")
        rings = counting_bell(ui, monkeypatch)
        await bob.call(m.Dm, to="alice", body="a word?")
        await ui.wait(lambda: rings() == 1, "the bell for a DM")
        assert ui.toasts()[-1].title == "Direct message from bob"
        await bob.call(m.Send, room="Blabla", body="@alice look")
        await ui.wait(lambda: rings() == 2, "the bell for a mention")
        assert ui.toasts()[-1].title == "bob mentioned you in Blabla"
        toasts = len(ui.toasts())
        await bob.call(m.Send, room="Blabla", body="nothing for anyone")
        await bob.call(m.Send, room="Général", body="@alice, here, on screen")
        await bob.sync()
        await ui.settle()
        assert (rings(), len(ui.toasts())) == (2, toasts)
        ui.app.app_focus = False  # the terminal lost the focus: on screen is not seen
        await bob.call(m.Send, room="Général", body="@alice, are you there?")
        await ui.wait(lambda: rings() == 3, "the bell while the terminal is not focused")
        assert len(ui.toasts()) == toasts + 1


async def test_the_bell_and_notifications_can_be_turned_off(
    server: ChatServer, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = await register(server.port, "bob")
    preferences = Preferences(bell=False, notifications=False)
    async with drive(make_app(server.port, config_dir, preferences=preferences)) as ui:
        await ui.log_in("alice")
        rings = counting_bell(ui, monkeypatch)
        await bob.call(m.Dm, to="alice", body="a word?")
        dm = Target.dm("bob")
        await ui.wait(lambda: ui.app.session and ui.app.session.state.conversation(dm), "the DM")
        await ui.wait(lambda: conv_of(ui, dm).unread == 1, "the DM unread")
        assert rings() == 0
        assert ui.toasts() == []
