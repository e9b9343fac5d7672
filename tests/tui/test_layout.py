"""Where the keys go and what fits on screen: the focus when a room or conversation
opens, the quick switcher's reach, small terminals and the display settings."""

from __future__ import annotations

from pathlib import Path

from chat_core import messages as m
from chat_srv.server import ChatServer
from chat_tui.conversation import Target
from chat_tui.screens.switcher import QuickSwitcher
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.sidebar import Sidebar, entry_id
from chat_tui.widgets.user_list import UserList
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app


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
