"""Snapshots of the login screen, the chat screen and the kick modal, at two sizes; of
messages that changed, a selected message and a reply being written; of topics,
mention counts, away users and typing; of the search view and the quick switcher;
of the chat screen in small terminals; of links in messages; of a room opened at its
first unread message, of messages counted below while scrolled up, of an outage (a
message waiting to be sent, the users not known), and of who joins and leaves.

The app runs against `ReplayClient` (fixed names, times and messages, UTC), with
the cursor not blinking, so each picture is the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from chat_core import messages as m
from chat_tui.app import ChatApp
from chat_tui.client import ChatClient
from chat_tui.screens.disconnect import DisconnectScreen
from chat_tui.screens.search import SearchView
from chat_tui.screens.switcher import QuickSwitcher
from chat_tui.widgets.message_line import SystemLine
from chat_tui.widgets.message_pane import MessagePane, MoreBelow, NewMarker, WaitingLine
from chat_tui.widgets.status_bar import StatusBar
from chat_tui.widgets.user_list import UserList
from tests.helpers import PASSWORD, TIMEOUT
from tests.tui.fakes import (
    KICK,
    BusyReplayClient,
    ChangedReplayClient,
    NoticingReplayClient,
    ReplayClient,
    SearchReplayClient,
    StuckClient,
    UnreadReplayClient,
    at,
)
from tests.tui.helpers import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
SMALL = [
    pytest.param((60, 20), id="60x20"),
    pytest.param((40, 12), id="40x12"),
    pytest.param((28, 9), id="28x9"),
]
SnapCompare = Callable[..., bool]


def replay_app(config_dir: Path, client: type[ReplayClient] = ReplayClient) -> ChatApp:
    return make_app(7878, config_dir, user="alice", client_factory=client)


async def until(pilot: Pilot[Any], condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await pilot.pause()


async def logged_in(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, ChatApp)
    app.screen.query_one("#password", Input).value = PASSWORD
    await pilot.press("enter")
    await until(pilot, lambda: app.chat_screen is not None)
    await until(pilot, lambda: not [w for w in app.workers if w.group in ("open", "login")])
    await pilot.pause()


async def kicked(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    assert isinstance(app.client, ReplayClient)
    app.client.push(KICK)
    await until(pilot, lambda: isinstance(app.screen, DisconnectScreen))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """The login form, the user name prefilled, the password focused."""
    assert snap_compare(replay_app(config_dir), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_chat_screen(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """Rooms with unread counts and a pending one, messages over two days, users."""
    assert snap_compare(replay_app(config_dir), terminal_size=size, run_before=logged_in)


@pytest.mark.parametrize("size", SIZES)
def test_kick_modal(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """The kick: reason and until (UTC here), over the chat screen."""
    assert snap_compare(replay_app(config_dir), terminal_size=size, run_before=kicked)


async def selected(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    await pilot.press("up")  # the newest message, and its keys in the footer
    await pilot.pause()


async def replying(pilot: Pilot[Any]) -> None:
    await selected(pilot)
    await pilot.press("up", "r", *"sure")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_changed_messages(
    snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]
) -> None:
    """An action, an edited message, a deleted one, reactions (alice's own highlighted)
    and a reply quoting its parent."""
    app = replay_app(config_dir, ChangedReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=logged_in)


def test_selected_message(snap_compare: SnapCompare, config_dir: Path) -> None:
    """Up on the empty input: the newest message selected, its keys in the footer."""
    app = replay_app(config_dir, ChangedReplayClient)
    assert snap_compare(app, terminal_size=(80, 24), run_before=selected)


def test_replying(snap_compare: SnapCompare, config_dir: Path) -> None:
    """A reply being written: the bar above the input says to what."""
    app = replay_app(config_dir, ChangedReplayClient)
    assert snap_compare(app, terminal_size=(80, 24), run_before=replying)


async def noticed(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    assert isinstance(app.client, ReplayClient)
    app.client.push(m.UserTyping(user="carol", room="Général"))
    await until(pilot, lambda: bool(app.screen.query_one("#input").border_subtitle))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_noticing(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """The topic in the header, unread mentions apart in the sidebar, bob away (in the
    users and in the sidebar) and carol typing under the input."""
    app = replay_app(config_dir, NoticingReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=noticed)


async def searched(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    await pilot.press("ctrl+f", *"tag*", "enter")
    await until(pilot, lambda: isinstance(app.screen, SearchView) and bool(app.screen.results))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_search_view(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """Results newest first (a direct message among them), where, when and who, the
    words found highlighted, and the row that asks for older ones."""
    app = replay_app(config_dir, SearchReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=searched)


async def switching(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    await pilot.press("ctrl+k")
    await until(pilot, lambda: isinstance(app.screen, QuickSwitcher))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_switcher(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """The sidebar's entries, then the rooms to join (or ask to), then the users with
    no conversation yet."""
    assert snap_compare(replay_app(config_dir), terminal_size=size, run_before=switching)


@pytest.mark.parametrize("size", SMALL)
def test_small_terminal(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """Under 70 columns the user list hides; under 50 the sidebar folds into the room
    bar (unread and mention counts, the current room highlighted); under 30×10, a
    notice."""
    app = replay_app(config_dir, NoticingReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=logged_in)


class LinkReplayClient(ReplayClient):
    """The same, with web addresses in the last message of Général."""

    def page(self) -> list[m.Message]:
        """The history of Général, and a message with two links."""
        body = "notes: https://wiki.example.org/Release_(2.0), build at http://ci.example.org/42."
        link = m.Message(msg_id=10, ts=at(3, 9, 18), sender="bob", body=body, room="Général")
        return [*super().page(), link]


def test_links(snap_compare: SnapCompare, config_dir: Path) -> None:
    """Web addresses underlined (and links, in the terminals that have them)."""
    app = replay_app(config_dir, LinkReplayClient)
    assert snap_compare(app, terminal_size=(80, 24), run_before=logged_in)


# -- the pane as an IRC user reads it ---------------------------------------------------------


async def at_the_marker(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    pane = pilot.app.screen.query_one(MessagePane)
    await until(pilot, lambda: bool(pane.query(NewMarker)))
    marker = pane.query_one(NewMarker)
    await until(pilot, lambda: marker.region.y == pane.content_region.y or pane.at_bottom)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_new_messages_marker(
    snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]
) -> None:
    """Général opened with 20 messages unread: a red `new messages` line above the first
    of them, at the top of the pane when they do not all fit below it."""
    app = replay_app(config_dir, UnreadReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=at_the_marker)


async def more_below(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    assert isinstance(app.client, ReplayClient)
    pane = app.screen.query_one(MessagePane)
    await until(pilot, lambda: pane.at_bottom and pane.max_scroll_y > 0)
    await pilot.press("pageup")
    await until(pilot, lambda: not pane.at_bottom)
    await pilot.pause()
    for msg_id, (hour, minute), who, body in [
        (52, (9, 58), "carol", "the release notes are up"),
        (53, (9, 59), "bob", "thanks, reading them"),
        (54, (10, 0), "dave", "one typo in the title"),
    ]:
        message = m.Message(msg_id=msg_id, ts=at(3, hour, minute), sender=who, body=body)
        app.client.push(msgspec.structs.replace(message, room="Général"))
    more = pane.query_one(MoreBelow)
    await until(pilot, lambda: str(more.content) == "more below ↓ 3" and more.display)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_more_below(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """Scrolled up while three messages arrive: `more below ↓ 3` at the bottom."""
    app = replay_app(config_dir, BusyReplayClient)
    assert snap_compare(app, terminal_size=size, run_before=more_below)


def outage_app(config_dir: Path) -> ChatApp:
    """The replayed session, whose connection, once closed, never comes back."""
    made: list[ChatClient] = []

    def factory(host: str, port: int) -> ChatClient:
        made.append(StuckClient(host, port) if made else ReplayClient(host, port))
        return made[-1]

    return make_app(7878, config_dir, user="alice", client_factory=factory)


async def offline(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    assert app.client is not None
    await app.client.close()  # the connection drops; every reconnection hangs
    status = app.screen.query_one(StatusBar)
    await until(pilot, lambda: not status.online)
    await pilot.press(*"anyone seen the release notes?", "enter")
    screen = app.screen
    await until(pilot, lambda: bool(screen.query(WaitingLine)))
    await until(pilot, lambda: screen.query_one(UserList).stale)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_offline(snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]) -> None:
    """The connection lost: the top bar says so, a message typed meanwhile waits at the
    bottom, dimmed, and the user list is dimmed under `(offline)`."""
    assert snap_compare(outage_app(config_dir), terminal_size=size, run_before=offline)


async def joins(pilot: Pilot[Any]) -> None:
    await logged_in(pilot)
    app = pilot.app
    assert isinstance(app, ChatApp)
    assert isinstance(app.client, ReplayClient)
    for event in [
        m.Member(room="Général", user="frank", joined=True),
        m.Presence(user="frank", online=True),
        m.Message(msg_id=10, ts=at(3, 9, 16), sender="frank", body="hello!", room="Général"),
        m.Member(room="Général", user="eve", joined=False),
    ]:
        app.client.push(event)
    screen = app.screen
    await until(pilot, lambda: len(screen.query(SystemLine)) == 2)
    await until(pilot, lambda: "frank" in str(screen.query_one(UserList).get_option_at_index(3)))
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_joins_and_leaves(
    snap_compare: SnapCompare, config_dir: Path, size: tuple[int, int]
) -> None:
    """frank joins Général (and is in its users) and says hello; eve leaves it."""
    assert snap_compare(replay_app(config_dir), terminal_size=size, run_before=joins)
