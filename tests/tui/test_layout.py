"""Where the keys go and what fits on screen: the focus when a room or conversation
opens, the quick switcher's reach, small terminals and the display settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import OptionList

from chat_core import messages as m
from chat_srv.server import ChatServer
from chat_tui.config import Preferences, Settings
from chat_tui.conversation import Target
from chat_tui.screens.switcher import QuickSwitcher
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.message_pane import MessagePane
from chat_tui.widgets.sidebar import RoomBar, Sidebar, entry_id
from chat_tui.widgets.user_list import UserList
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app, rendered, screen_text


def current(ui: Driver) -> Target | None:
    assert ui.app.session is not None
    return ui.app.session.state.current


async def opened(ui: Driver, target: Target) -> None:
    await ui.wait(lambda: current(ui) == target, f"{target.label} to open")
    await ui.settle()


async def test_a_conversation_opened_from_the_user_list_takes_the_keys(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        users = ui.chat.query_one(UserList)
        await ui.wait(lambda: users.option_count == 2, "alice and bob")
        users.focus()
        await ui.pilot.pause()
        users.highlighted = users.get_option_index("bob")
        await ui.pilot.press("enter")
        await opened(ui, Target.dm("bob"))
        field = ui.chat.query_one(ChatInput)
        assert ui.app.focused is field
        await ui.pilot.press(*"hi", "enter")
        got = await bob.event(m.Message, sender="alice")
        assert (got.to, got.body) == ("bob", "hi")


async def test_the_sidebar_and_the_switcher_give_the_keys_to_the_input(
    server: ChatServer, config_dir: Path
) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/join Blabla")
        await opened(ui, Target.room("Blabla"))
        sidebar = ui.chat.query_one(Sidebar)
        sidebar.focus()
        await ui.pilot.pause()
        sidebar.highlighted = sidebar.get_option_index(entry_id(Target.room("Général")))
        await ui.pilot.press("enter")
        await opened(ui, Target.room("Général"))
        field = ui.chat.query_one(ChatInput)
        assert ui.app.focused is field

        sidebar.focus()
        await ui.pilot.press("ctrl+k")
        await ui.wait(lambda: isinstance(ui.app.screen, QuickSwitcher), "the switcher")
        await ui.pilot.press(*"blab", "enter")
        await opened(ui, Target.room("Blabla"))
        assert ui.app.focused is field
        await ui.pilot.press(*"typed")
        assert field.value == "typed"


def switcher_lines(ui: Driver) -> list[str]:
    return rendered(ui.app.screen.query_one(OptionList)).splitlines()


async def test_the_switcher_joins_rooms_and_opens_conversations_with_anyone(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.wait(lambda: ui.chat.query_one(UserList).option_count == 2, "bob")
        await ui.pilot.press("ctrl+k")
        await ui.wait(lambda: isinstance(ui.app.screen, QuickSwitcher), "the switcher")
        lines = switcher_lines(ui)
        assert lines[0] == "#Général"
        assert any(line.startswith("#Blabla") and line.endswith(" join") for line in lines)
        assert any(line.startswith("@bob") and line.endswith("new conversation") for line in lines)
        assert not any(line.startswith("@alice") for line in lines)
        await ui.pilot.press(*"blab", "enter")
        await opened(ui, Target.room("Blabla"))
        assert ui.app.session is not None
        conv = ui.app.session.state.conversation(Target.room("Blabla"))
        assert conv is not None
        assert conv.state == m.MEMBER
        assert ui.app.focused is ui.chat.query_one(ChatInput)

        await ui.pilot.press("ctrl+k")
        await ui.wait(lambda: isinstance(ui.app.screen, QuickSwitcher), "the switcher")
        await ui.pilot.press(*"@bo", "enter")
        await opened(ui, Target.dm("bob"))
        await ui.pilot.press(*"hello", "enter")
        got = await bob.event(m.Message, sender="alice")
        assert (got.to, got.body) == ("bob", "hello")


def shown(ui: Driver, selector: str) -> bool:
    return ui.chat.query_one(selector).display


async def test_a_narrow_terminal_hides_the_users_then_folds_the_sidebar(
    server: ChatServer, config_dir: Path
) -> None:
    await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir), size=(60, 20)) as ui:
        await ui.log_in("alice")
        pane = ui.chat.query_one(MessagePane)
        assert (shown(ui, "#users"), shown(ui, "#sidebar"), shown(ui, "#roombar")) == (
            False,
            True,
            False,
        )
        assert pane.content_size.width >= 36  # 22 when the user list took its place
        await ui.pilot.press("f8")
        await ui.wait(lambda: shown(ui, "#users"), "F8 to show the users")
        await ui.pilot.press("f8")
        await ui.wait(lambda: not shown(ui, "#users"), "F8 to hide them")

        await ui.pilot.resize_terminal(40, 12)
        await ui.wait(lambda: shown(ui, "#roombar"), "the room bar")
        await ui.settle()
        assert not shown(ui, "#sidebar")
        assert pane.content_size.width >= 36  # 2 beside the sidebar
        assert rendered(ui.chat.query_one(RoomBar)).startswith("#Général")
        field = ui.chat.query_one(ChatInput)
        assert ui.app.focused is field
        await ui.pilot.press("f7")
        await ui.wait(lambda: shown(ui, "#sidebar"), "F7 to unfold the sidebar")
        assert not shown(ui, "#roombar")
        await ui.pilot.press("f7")
        await ui.wait(lambda: shown(ui, "#roombar"), "F7 to fold it again")

        await ui.pilot.resize_terminal(120, 30)
        await ui.wait(lambda: ui.chat.query_one(MessagePane).size.width > 60, "the wide layout")
        # The user's choices hold whatever the width, until the keys again.
        assert (shown(ui, "#users"), shown(ui, "#sidebar")) == (False, False)
        await ui.pilot.press("f7", "f8")
        await ui.wait(lambda: shown(ui, "#users") and shown(ui, "#sidebar"), "both back")


async def test_a_terminal_too_small_says_so(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir), size=(80, 24)) as ui:
        await ui.log_in("alice")
        await ui.pilot.resize_terminal(28, 9)
        await ui.wait(lambda: shown(ui, "#too-small"), "the notice")
        assert not shown(ui, "#main")
        notice = " ".join(screen_text(ui.app).split())
        assert "The terminal is too small (28×9): chat-tui needs 30×10 at least." in notice
        await ui.pilot.resize_terminal(80, 24)
        await ui.wait(lambda: shown(ui, "#main"), "the chat back")
        assert not shown(ui, "#too-small")


def test_display_settings_are_read_and_checked(tmp_path: Path) -> None:
    settings = Settings(tmp_path / "client.json")
    assert settings.preferences().time_format == "%H:%M"
    settings.preferences_path.write_text('theme = "nord"\nseconds = true\n')
    assert settings.preferences() == Preferences(theme="nord", seconds=True)
    assert settings.preferences().time_format == "%H:%M:%S"
    settings.preferences_path.write_text('timestamp_format = "%d/%m %H:%M"\nseconds = true\n')
    assert settings.preferences().time_format == "%d/%m %H:%M"  # the format wins
    settings.preferences_path.write_text('theme = "neon"\n')
    with pytest.raises(ValueError, match=r"no theme called 'neon'; the themes are .*nord"):
        settings.preferences()
    for bad in ('""', '"%H\\n%M"', '"' + "%H" * 21 + '"'):
        settings.preferences_path.write_text(f"timestamp_format = {bad}\n")
        with pytest.raises(ValueError, match="timestamp_format is a strftime format"):
            settings.preferences()


async def test_the_theme_and_the_time_format_apply(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    preferences = Preferences(theme="gruvbox", timestamp_format="%d/%m %H:%M:%S")
    async with drive(make_app(server.port, config_dir, preferences=preferences)) as ui:
        assert ui.app.theme == "gruvbox"
        await ui.log_in("alice")
        sent = await bob.call(m.Send, room="Général", body="hello")
        await bob.call(m.React, msg_id=sent.msg_id, emoji="👍", on=True)
        await ui.wait(lambda: "👍" in "".join(ui.lines()), "the reaction")
        when = datetime.fromtimestamp(sent.ts / 1000, UTC)
        first, second = ui.lines()[-1].split("\n")
        assert first == f"{when:%d/%m %H:%M:%S} bob hello"
        assert second == " " * len(f"{when:%d/%m %H:%M:%S} ") + "👍 1"  # under the sender
