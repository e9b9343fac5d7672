"""Moderators in chat-tui: the moderation commands, their output in the pane, and
what a plain user sees of them."""

from __future__ import annotations

from pathlib import Path

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.server import ChatServer
from chat_tui.commands import Command, Invalid, completions, help_lines, parse
from chat_tui.widgets.message_line import SystemLine
from tests.helpers import register
from tests.tui.helpers import Driver, drive, make_app


def notes(ui: Driver) -> list[str]:
    """The client's own lines in the pane (command output, errors)."""
    return [str(line.content) for line in ui.chat.query(SystemLine)]


def test_moderation_commands_are_console_lines() -> None:
    assert parse("/kick bob 10m spam and more") == Command(
        "/mod", text="kick bob 10m spam and more"
    )
    assert parse("/accept bob Informatique") == Command(
        "/mod", text="accept pending bob Informatique"
    )
    assert parse("/pending") == Command("/mod", text="pending rooms")
    assert parse("/mod ban ip 10.0.0.0/8 spam") == Command("/mod", text="ban ip 10.0.0.0/8 spam")
    assert parse("/kick bob") == Invalid("usage: /kick USER DURATION REASON")
    assert parse("/mod") == Invalid("usage: /mod LINE")


def test_plain_users_do_not_see_them() -> None:
    plain = [usage for usage, _ in help_lines()]
    moderator = [usage for usage, _ in help_lines(moderator=True)]
    assert not any(usage.startswith("/kick") for usage in plain)
    assert "/kick USER DURATION REASON" in moderator
    assert completions("/ki", 3, [], []) == (0, [])
    assert completions("/ki", 3, [], [], moderator=True) == (0, ["/kick", "/kill"])
    assert completions("/kick b", 7, ["bob", "alice"], [], moderator=True) == (6, ["bob"])


async def test_a_moderator_kicks_from_the_client(server: ChatServer, config_dir: Path) -> None:
    troll = await register(server.port, "troll")
    await register(server.port, "mia")
    await CommandLine(Admin(server)).run("op mia moderator")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("mia", register=False)
        assert ui.app.session is not None
        assert ui.app.session.state.moderator
        await ui.type("/kick troll 10m spam")
        goodbye = await troll.event(m.Disconnect)
        assert goodbye.reason == DisconnectReason.KICKED
        await ui.wait(lambda: any("kicked troll for 10m" in n for n in notes(ui)), "the output")
        await ui.type("/mod shutdown")
        await ui.wait(lambda: any(n.startswith("Refused: ") for n in notes(ui)), "the refusal")
        assert not server.stopped.is_set()
        await ui.type("/mod kick troll 10 spam")
        await ui.wait(lambda: any("bad duration 10" in n for n in notes(ui)), "the mistake")
        assert any("usage: kick <username> <duration> <reason>" in n for n in notes(ui))


async def test_a_plain_user_is_refused(server: ChatServer, config_dir: Path) -> None:
    await register(server.port, "troll")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/kick troll 10m spam")
        await ui.wait(
            lambda: any("moderation is for moderators and admins" in n for n in notes(ui)),
            "the refusal",
        )
        assert server.service.sanctions.active(server.service.clock.now_ms()) == []
