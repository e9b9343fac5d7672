"""The input line: completion, composing several lines, pasting, what is a command,
and a message the server refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from chat_core import messages as m
from chat_core.names import BODY_MAX_CHARS
from chat_srv.server import ChatServer
from chat_tui.app import ChatApp
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.message_line import MessageLine, SystemLine
from tests.helpers import PASSWORD, register
from tests.tui.fakes import ReplayClient, at
from tests.tui.helpers import Driver, drive, make_app
from tests.tui.test_keys import terminal_sends
from tests.tui.test_snapshots import SnapCompare, until


def notes(ui: Driver) -> list[str]:
    return [str(line.content) for line in ui.chat.query(SystemLine)]


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


# -- several lines ---------------------------------------------------------------------


async def test_a_pasted_block_is_kept_for_review_and_a_slash_makes_no_command(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        field = ui.chat.query_one(ChatInput)
        field.post_message(events.Paste("/etc/hosts has this:\r\n127.0.0.1 localhost\n"))
        await ui.wait(lambda: field.value, "the pasted block")
        await ui.settle()
        assert field.value == "/etc/hosts has this:\n127.0.0.1 localhost"  # not sent
        await ui.pilot.press("enter")
        await ui.settle()
        assert notes(ui)[-1] == "unknown command /etc/hosts (/help lists them)"
        assert field.value == "/etc/hosts has this:\n127.0.0.1 localhost"  # kept
        await ui.pilot.press("up", "home", "/", "enter")  # up a row, then `//`
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "/etc/hosts has this:\n127.0.0.1 localhost"
        assert field.value == ""


async def test_ctrl_j_and_alt_enter_start_a_new_line_and_the_box_grows(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        field = ui.chat.query_one(ChatInput)
        assert field.outer_size.height == 3
        await ui.pilot.press(*"hello")
        await terminal_sends(ui, "\n")  # Ctrl+J, in every terminal
        await ui.pilot.press(*"world")
        await terminal_sends(ui, "\x1b[13;3u")  # Alt+Enter, where the terminal tells it
        await ui.pilot.press("!")
        assert field.value == "hello\nworld\n!"
        await ui.wait(lambda: field.outer_size.height == 5, "three rows")
        await ui.pilot.press("up")  # a row up, not the history
        assert (field.value, field.cursor_location) == ("hello\nworld\n!", (1, 1))
        await ui.pilot.press("enter")
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "hello\nworld\n!"
        await ui.wait(lambda: field.outer_size.height == 3, "one row again")
        field.value = "\n".join("12345678")
        await ui.wait(lambda: field.outer_size.height == 7, "five rows, at most")
        await ui.settle()
        assert field.outer_size.height == 7


async def test_a_refused_message_stays_in_the_input(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        field = ui.chat.query_one(ChatInput)
        long = "x" * (BODY_MAX_CHARS + 1)
        await ui.type(long)
        await ui.wait(lambda: field.value == long, "the message back in the input")
        assert "4000" in notes(ui)[-1]
        await ui.type("fine")
        got = await bob.event(m.Message, sender="alice")
        assert got.body == "fine"


async def test_continuation_lines_are_indented_under_the_text(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await bob.call(m.Send, room="Général", body="first line\nsecond line\n\nfourth")
        await ui.wait(lambda: ui.chat.query(MessageLine), "bob's message")
        shown = str(ui.chat.query(MessageLine).last().content).split("\n")
        assert shown[0].endswith(" bob first line")
        indent = " " * len("12:34 bob ")
        assert shown[1:] == [indent + "second line", "", indent + "fourth"]


# -- how it looks ----------------------------------------------------------------------


class MultilineReplayClient(ReplayClient):
    """The replayed Général, with a message of several lines at the end."""

    def page(self) -> list[m.Message]:
        """The history of Général, and carol's steps."""
        steps = "the steps:\n1. pull\n2. make release\n\nthen tell me"
        return [
            *super().page(),
            m.Message(msg_id=10, ts=at(3, 9, 16), sender="carol", body=steps, room="Général"),
        ]


async def composing(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, ChatApp)
    app.screen.query_one("#password", Input).value = PASSWORD
    await pilot.press("enter")
    await until(pilot, lambda: app.chat_screen is not None)
    await until(pilot, lambda: not [w for w in app.workers if w.group in ("open", "login")])
    await pilot.press(*"done:", "ctrl+j", *"1. pulled", "ctrl+j", *"2. tagged")
    await pilot.pause()


def test_several_lines_in_the_pane_and_in_the_input(
    snap_compare: SnapCompare, config_dir: Path
) -> None:
    """carol's lines after the first start under her text; the input has grown to the
    three lines being written."""
    app = make_app(7878, config_dir, user="alice", client_factory=MultilineReplayClient)
    assert snap_compare(app, terminal_size=(80, 24), run_before=composing)


async def test_a_refused_edit_stays_in_the_input(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("short")
        await bob.event(m.Message, sender="alice")
        await ui.wait(lambda: ui.chat.query(MessageLine), "the message")
        await ui.pilot.press("up", "e")
        field = ui.chat.query_one(ChatInput)
        long = "y" * (BODY_MAX_CHARS + 1)
        await ui.type(long)
        await ui.wait(lambda: field.value == long, "the new text back in the input")
        assert ui.chat.composing is not None
        assert ui.chat.composing.kind == "edit"  # still an edit
        await ui.type("shorter")
        edited = await bob.event(m.Edited)
        assert edited.body == "shorter"
