"""Snapshots of the login screen, the chat screen and the kick modal, at two sizes; of
messages that changed, a selected message and a reply being written; of topics,
mention counts, away users and typing; of the search view and the quick switcher;
of the chat screen in small terminals; of links in messages.

The app runs against `ReplayClient` (fixed names, times and messages, UTC), with
the cursor not blinking, so each picture is the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from chat_core import messages as m
from chat_tui.app import ChatApp
from chat_tui.screens.disconnect import DisconnectScreen
from chat_tui.screens.search import SearchView
from chat_tui.screens.switcher import QuickSwitcher
from tests.helpers import PASSWORD, TIMEOUT
from tests.tui.fakes import (
    KICK,
    ChangedReplayClient,
    NoticingReplayClient,
    ReplayClient,
    SearchReplayClient,
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
