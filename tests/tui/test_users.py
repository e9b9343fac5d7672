"""The user list's title: how many of the room's members are online, on screen."""

from __future__ import annotations

from pathlib import Path

from chat_srv.server import ChatServer
from chat_tui.widgets.user_list import UserList
from tests.helpers import register
from tests.tui.helpers import drive, make_app, screen_text


def title_line(text: str) -> str:
    """The line of the screen that holds the user list's title, from the list on."""
    for line in text.splitlines():
        at = line.find("Users")
        if at >= 0:
            return line[at:].rstrip()
    return ""


async def test_the_user_list_counts_who_is_online_in_its_title(
    server: ChatServer, config_dir: Path
) -> None:
    bob = await register(server.port, "bob")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        users = ui.chat.query_one(UserList)
        await ui.wait(lambda: users.option_count == 2, "alice and bob")
        await ui.pilot.pause()
        assert title_line(screen_text(ui.app)) == "Users 2/2"
        await bob.close()
        await ui.wait(lambda: "Users 1/2" in screen_text(ui.app), "bob gone offline")
        lines = screen_text(ui.app).splitlines()
        row = next(n for n, line in enumerate(lines) if "Users 1/2" in line)
        assert "● alice" in lines[row + 1]  # the title above the first name
