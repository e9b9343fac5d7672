"""The input line: completion, composing several lines, pasting, what is a command,
and a message the server refuses."""

from __future__ import annotations

from pathlib import Path

from chat_tui.widgets.chat_input import ChatInput
from tests.helpers import PASSWORD
from tests.tui.fakes import ReplayClient
from tests.tui.helpers import Driver, drive, make_app


async def logged_in(ui: Driver) -> None:
    """Log in to the replayed server and wait for Général's messages and members."""
    await ui.login_form("alice", PASSWORD, register=False)
    await ui.wait(lambda: ui.app.chat_screen is not None, "the chat screen")
    await ui.settle()
    await ui.wait(lambda: ui.app.session and ui.app.session.state.user_names(), "the members")


async def test_a_name_that_starts_the_line_is_addressed(config_dir: Path) -> None:
    app = make_app(7878, config_dir, user="alice", client_factory=ReplayClient)
    async with drive(app) as ui:
        await logged_in(ui)
        field = ui.chat.query_one(ChatInput)
        field.focus()
        await ui.pilot.press(*"bo", "tab")
        assert field.value == "bob: "
        await ui.pilot.press(*"ask da", "tab")
        assert field.value == "bob: ask dave "
