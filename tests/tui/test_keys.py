"""weechat's keys for going places, fed as the bytes terminals send for them.

Textual's own parser turns the bytes into key events, as it does for a real
terminal: ESC+digit (xterm, tmux, screen) and macOS's Option+digit (`¡`…) must both
go to a room, never into the input line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from chat_tui.config import Preferences, Settings
from chat_tui.keys import binding_ids
from chat_tui.screens.chord import ChordScreen
from chat_tui.widgets.chat_input import ChatInput
from tests.helpers import PASSWORD
from tests.tui.fakes import ReplayClient
from tests.tui.helpers import Driver, drive, make_app

# The replayed sidebar: #Blabla (4 unread), #Général (open at first), @bob (1 unread).
BLABLA, GENERAL, BOB = "#Blabla", "#Général", "@bob"


def terminal_keys(data: str) -> list[events.Key]:
    """The key events Textual's driver makes of what a terminal sends."""
    parser = XTermParser()
    made = [*parser.feed(data), *parser.feed("")]
    keys = [event for event in made if isinstance(event, events.Key)]
    assert keys, f"no key in {data!r}"
    return keys


async def terminal_sends(ui: Driver, data: str) -> None:
    """Deliver `data` to the app as the driver would."""
    for key in terminal_keys(data):
        ui.app.post_message(key)
        await ui.pilot.pause()
    await ui.settle()


def current(ui: Driver) -> str:
    session = ui.app.session
    target = session.state.current if session is not None else None
    return target.label if target is not None else ""


async def logged_in(ui: Driver) -> None:
    """Log in to the replayed server, Général open."""
    await ui.login_form("alice", PASSWORD, register=False)
    await ui.wait(lambda: ui.app.chat_screen is not None, "the chat screen")
    await ui.settle()
    await ui.wait(lambda: current(ui) == GENERAL, "Général")


async def goes(ui: Driver, data: str, label: str) -> None:
    await terminal_sends(ui, data)
    await ui.wait(lambda: current(ui) == label, f"{data!r} to open {label}")
    assert ui.chat.query_one(ChatInput).value == ""  # nothing was typed


@pytest.mark.parametrize(
    ("first", "third"),
    [
        pytest.param("\x1b1", "\x1b3", id="esc-digit"),  # xterm, tmux, screen
        pytest.param("¡", "£", id="macos-option"),
        pytest.param("\x1b[49;3u", "\x1b[51;3u", id="kitty"),
    ],
)
async def test_alt_digit_goes_to_the_nth_room(config_dir: Path, first: str, third: str) -> None:
    app = make_app(7878, config_dir, user="alice", client_factory=ReplayClient)
    async with drive(app) as ui:
        await logged_in(ui)
        await goes(ui, third, BOB)
        await goes(ui, first, BLABLA)


async def test_alt_arrows_f5_f6_and_alt_a(config_dir: Path) -> None:
    app = make_app(7878, config_dir, user="alice", client_factory=ReplayClient)
    async with drive(app) as ui:
        await logged_in(ui)
        await goes(ui, "\x1ba", BOB)  # Alt+A: the direct message first
        await goes(ui, "\x1ba", BLABLA)  # then the room with unread messages
        await terminal_sends(ui, "\x1ba")  # nothing unread is left
        assert current(ui) == BLABLA
        assert ui.toasts()[-1].message == "Nothing unread elsewhere."
        await goes(ui, "\x1b[1;3C", GENERAL)  # Alt+Right
        await goes(ui, "\x1b[1;3D", BLABLA)  # Alt+Left
        await goes(ui, "\x1b[17~", GENERAL)  # F6
        await goes(ui, "\x1b[15~", BLABLA)  # F5


async def test_ctrl_x_then_a_digit_works_everywhere(config_dir: Path) -> None:
    app = make_app(7878, config_dir, user="alice", client_factory=ReplayClient)
    async with drive(app) as ui:
        await logged_in(ui)
        await terminal_sends(ui, "\x18")
        assert isinstance(ui.app.screen, ChordScreen)
        await goes(ui, "3", BOB)
        await goes(ui, "\x18a", BLABLA)
        await terminal_sends(ui, "\x18x")  # not a chord: nothing happens, nothing is typed
        assert not isinstance(ui.app.screen, ChordScreen)
        assert current(ui) == BLABLA
        assert ui.chat.query_one(ChatInput).value == ""


async def test_keys_in_the_settings_rebind_actions(config_dir: Path) -> None:
    keys = {"chat.jump_3": "f3", "chat.next": "ctrl+right"}
    preferences = Preferences(keys=keys)
    app = make_app(7878, config_dir, client_factory=ReplayClient, preferences=preferences)
    async with drive(app) as ui:
        await logged_in(ui)
        await goes(ui, "\x1b[13~", BOB)  # F3
        await goes(ui, "\x1b[1;5C", BLABLA)  # Ctrl+Right: the next one, round
        await terminal_sends(ui, "\x0e\x1b3")  # Ctrl+N no longer; £ is typed again
        assert current(ui) == BLABLA
        assert ui.chat.query_one(ChatInput).value == "£"
        await terminal_sends(ui, "\x1b2")  # the other jumps keep theirs
        await ui.wait(lambda: current(ui) == GENERAL, "Alt+2 to open Général")
        assert ui.chat.query_one(ChatInput).value == "£"


def test_an_unknown_action_in_the_settings_is_a_mistake(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "client.json")
    settings.preferences_path.write_text('[keys]\n"chat.jump_1" = "f1"\n"chat.dance" = "f2"\n')
    assert settings.preferences().keys == {"chat.jump_1": "f1", "chat.dance": "f2"}
    with pytest.raises(ValueError, match=r"no action called `chat.dance` in `\[keys\]`"):
        settings.preferences(actions=binding_ids())
    settings.preferences_path.write_text('[keys]\n"chat.jump_1" = 1\n')
    with pytest.raises(ValueError, match="keys"):
        settings.preferences(actions=binding_ids())
    settings.preferences_path.write_text('[keys]\n"chat.jump_1" = "f1"\n"input.up" = "ctrl+p"\n')
    assert settings.preferences(actions=binding_ids()).keys["input.up"] == "ctrl+p"
