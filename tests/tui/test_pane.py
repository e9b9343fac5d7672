"""The message pane as a long-time IRC user reads it: the client's own lines kept
with their room, notices that stay, who joins and leaves, where the unread start,
how many arrived below, and the commands typed from habit (/clear, /names, /query,
/part)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_tui.config import Preferences
from chat_tui.widgets.message_line import MessageLine, SystemLine
from chat_tui.widgets.message_pane import MessagePane, MoreBelow, NewMarker
from chat_tui.widgets.status_bar import StatusBar
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app


def notes(ui: Driver) -> list[str]:
    """The client's own lines in the pane."""
    return [str(line.content) for line in ui.chat.query(SystemLine)]


def title(ui: Driver) -> str:
    return ui.chat.query_one(StatusBar).title


async def go(ui: Driver, room: str) -> None:
    """Open `room` (joining it if need be) and wait until it is on screen."""
    await ui.type(f"/join {room}")
    await ui.wait(lambda: title(ui).startswith(f"#{room}"), room)
    await ui.settle()


def counting_bell(ui: Driver, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    rings: list[None] = []
    monkeypatch.setattr(ui.app, "bell", lambda: rings.append(None))
    return lambda: len(rings)


# -- lines of the client ---------------------------------------------------------------------


async def test_notes_stay_in_the_room_they_were_written_in(
    server: ChatServer, config_dir: Path
) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/who")
        await ui.type("/nonsense")
        written = ["In #Général: online alice", "unknown command /nonsense (/help lists them)"]
        assert notes(ui) == written
        await go(ui, "Blabla")
        assert notes(ui) == []
        await go(ui, "Général")
        assert notes(ui) == written


async def test_a_notice_stays_in_the_pane(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await Admin(server).notice("Coffee at [b]four[/b]")
        await ui.wait(lambda: ui.toasts(), "the toast")
        assert ui.toasts()[-1].title == "Notice from the administrator"
        kept = "Notice from the administrator: Coffee at [b]four[/b]"
        await ui.wait(lambda: kept in notes(ui), "the notice in the pane")
        await go(ui, "Blabla")
        await go(ui, "Général")
        assert notes(ui)[-1] == kept


async def test_joins_and_leaves_show_in_their_room(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        bob = await register(server.port, "bob")  # a new user joins Général
        await ui.wait(lambda: "→ bob joined Général" in notes(ui), "bob's join")
        await bob.call(m.Join, room="Blabla")
        await go(ui, "Blabla")
        await bob.call(m.Leave, room="Général")
        await bob.sync()
        await ui.settle()
        assert "← bob left Général" not in notes(ui)  # not here: in Général
        await go(ui, "Général")
        assert notes(ui)[-2:] == ["→ bob joined Général", "← bob left Général"]


async def test_joins_and_leaves_can_be_hidden(server: ChatServer, config_dir: Path) -> None:
    preferences = Preferences(show_joins=False)
    async with drive(make_app(server.port, config_dir, preferences=preferences)) as ui:
        await ui.log_in("alice")
        bob = await register(server.port, "bob")
        await ui.wait(lambda: ui.app.session and "bob" in ui.app.session.state.names, "bob")
        await bob.call(m.Send, room="Général", body="hello")
        await ui.wait(lambda: ui.lines(), "bob's message")
        assert notes(ui) == []


# -- unread ------------------------------------------------------------------------------------


async def test_a_room_opens_at_its_first_unread_under_a_marker(
    unlimited_server: ChatServer, config_dir: Path
) -> None:
    bob = await register(unlimited_server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    async with drive(make_app(unlimited_server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await go(ui, "Blabla")
        await bob.call(m.Send, room="Blabla", body="read already")
        await ui.wait(lambda: ui.lines(), "the message read")
        await go(ui, "Général")
        for n in range(30):
            await bob.call(m.Send, room="Blabla", body=f"unread {n}")
        await bob.sync()
        await ui.settle()
        await go(ui, "Blabla")
        pane = ui.chat.query_one(MessagePane)
        await ui.wait(lambda: pane.query(NewMarker), "the marker")
        rows = list(pane.children)
        marker = rows.index(pane.query_one(NewMarker))
        after = rows[marker + 1]
        assert isinstance(after, MessageLine)
        assert after.message.body == "unread 0"
        await ui.wait(lambda: pane.scroll_y > 0 and not pane.at_bottom, "opened at the marker")
        assert marker_at_top(pane)
        # More arrive: they wait below, counted.
        more = pane.query_one(MoreBelow)
        await bob.call(m.Send, room="Blabla", body="and one more")
        await ui.wait(lambda: more.display and "↓ 1" in str(more.content), "the count")
        assert str(more.content) == "more below ↓ 1"
        pane.scroll_end(animate=False, immediate=True)
        await ui.wait(lambda: not more.display, "the count to go at the bottom")
        # Followed again: the next ones show without a count.
        await bob.call(m.Send, room="Blabla", body="at the bottom")
        await ui.wait(lambda: ui.lines()[-1].endswith("at the bottom"), "the newest")
        await ui.settle()
        assert pane.at_bottom
        assert not more.display
        await go(ui, "Général")
        await go(ui, "Blabla")
        assert not pane.query(NewMarker)  # all read now


def marker_at_top(pane: MessagePane) -> bool:
    marker = pane.query_one(NewMarker)
    return marker.region.y == pane.content_region.y


# -- the bell, one setting at a time ------------------------------------------------------


@pytest.mark.parametrize(("bell", "toast"), [(True, False), (False, True)])
async def test_the_bell_and_the_toast_are_turned_off_apart(
    server: ChatServer,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    bell: bool,
    toast: bool,
) -> None:
    bob = await register(server.port, "bob")
    await bob.call(m.Join, room="Blabla")
    preferences = Preferences(bell=bell, notifications=toast)
    async with drive(make_app(server.port, config_dir, preferences=preferences)) as ui:
        await ui.log_in("alice")
        await go(ui, "Blabla")
        await go(ui, "Général")
        rings = counting_bell(ui, monkeypatch)
        await bob.call(m.Dm, to="alice", body="a word?")
        await bob.call(m.Send, room="Blabla", body="@alice look")
        await bob.sync()
        state = ui.chat.state
        await ui.wait(lambda: "bob" in state.dms and state.rooms["blabla"].unread, "both")
        await ui.settle()
        assert rings() == (2 if bell else 0)
        titles = [t.title for t in ui.toasts()]
        expected = ["Direct message from bob", "bob mentioned you in Blabla"]
        assert titles == (expected if toast else [])


# -- commands from habit ---------------------------------------------------------------------


async def test_names_query_part_and_clear(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/names")
        assert notes(ui) == ["In #Général: online alice, bob"]
        await bob.call(m.Send, room="Général", body="hello")
        await ui.wait(lambda: ui.lines(), "bob's message")
        await ui.type("/clear")
        assert ui.lines() == []
        assert notes(ui) == []
        await bob.call(m.Send, room="Général", body="after the clear")
        await ui.wait(lambda: ui.lines(), "the next message")
        assert [line.split(" ", 2)[2] for line in ui.lines()] == ["after the clear"]
        await ui.type("/query bob how are you?")
        await ui.wait(lambda: title(ui) == "@bob", "the conversation")
        got = await bob.event(m.Message, body="how are you?")
        assert got.to == "bob"
        await go(ui, "Blabla")
        await ui.type("/part")
        await ui.wait(lambda: not title(ui).startswith("#Blabla"), "Blabla left")
        assert ui.app.session is not None
        assert "blabla" not in ui.app.session.state.rooms
        await go(ui, "Général")
        assert [line.split(" ", 2)[2] for line in ui.lines()] == ["after the clear"]


async def test_more_below_counts_each_message_once(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        pane = ui.chat.query_one(MessagePane)
        more = pane.query_one(MoreBelow)
        for n in range(30):  # at the bottom, from an empty room to more than a screen
            await bob.call(m.Send, room="Général", body=f"filler {n}")
        await ui.wait(lambda: len(ui.lines()) == 30, "a screenful and more")
        await ui.settle()
        assert pane.at_bottom
        assert not more.display  # followed: nothing is below
        await ui.pilot.press("pageup")
        await ui.wait(lambda: not pane.at_bottom, "scrolled up")
        for n in range(3):  # one at a time
            await bob.call(m.Send, room="Général", body=f"below {n}")
            await ui.wait(lambda: len(ui.lines()) == 31 + n, "the message")  # noqa: B023
        await ui.settle()
        assert str(more.content) == "more below ↓ 3"
        assert more.region.x == pane.content_region.x  # over the start of the line, not in it
