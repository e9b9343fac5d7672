"""The room browser (Ctrl+O): names shown as safely as everywhere else, and a join
the server refuses said in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_srv.store.base import StoreUnavailable
from chat_tui.screens.room_browser import RoomBrowser
from chat_tui.widgets.message_line import SystemLine
from tests.tui.helpers import Driver, drive, make_app, screen_text


def notes(ui: Driver) -> list[str]:
    """The client's own lines in the pane."""
    return [str(line.content) for line in ui.chat.query(SystemLine)]


async def browse(ui: Driver) -> RoomBrowser:
    """Open the room browser and wait for its list."""
    await ui.pilot.press("ctrl+o")
    await ui.wait(lambda: isinstance(ui.app.screen, RoomBrowser), "the room browser")
    await ui.pilot.pause()
    browser = ui.app.screen
    assert isinstance(browser, RoomBrowser)
    return browser


async def choose(ui: Driver, room: str) -> None:
    """Highlight `room` in the browser and press Enter."""
    rooms = (await browse(ui)).query_one(OptionList)
    rooms.highlighted = rooms.get_option_index(room)
    await ui.pilot.press("enter")
    await ui.wait(lambda: not isinstance(ui.app.screen, RoomBrowser), "the browser to close")


async def refuse(*_: Any) -> m.Reply:
    """The server's answer to a join in a room that takes nobody new."""
    raise ProtocolError(ErrorCode.FORBIDDEN, "this room takes no new members")


async def store_down(*_: Any) -> None:
    raise StoreUnavailable("the database is gone")


async def store_breaks(*_: Any) -> None:
    raise RuntimeError("a bug in the server")


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        pytest.param("refused", "Not allowed: this room takes no new members.", id="refused"),
        pytest.param(
            "unavailable", "The server's storage is unavailable; try again.", id="unavailable"
        ),
        pytest.param(
            "internal",
            "The server failed to do that (an error on its side); try again later.",
            id="internal",
        ),
    ],
)
async def test_a_join_refused_from_the_browser_is_said_in_plain_words(
    server: ChatServer,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    said: str,
) -> None:
    await Admin(server).add_rooms(["Comité"], approval=True)
    async with drive(make_app(server.port, config_dir)) as ui:  # no internal error either
        await ui.log_in("alice")
        if answer == "refused":
            handlers: dict[Any, Any] = server.service._handlers
            monkeypatch.setitem(handlers, m.Join, refuse)
        else:
            broken = store_down if answer == "unavailable" else store_breaks
            monkeypatch.setattr(server.store, "set_membership", broken)
        await choose(ui, "Comité")
        await ui.wait(lambda: said in notes(ui), "the refusal in the pane")
        await ui.settle()
        assert ui.app.session is not None
        assert "comité" not in ui.app.session.state.rooms


async def test_a_join_from_the_browser_while_offline_says_so(
    server: ChatServer, config_dir: Path
) -> None:
    await Admin(server).add_rooms(["Comité"], approval=True)
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        rooms = (await browse(ui)).query_one(OptionList)
        rooms.highlighted = rooms.get_option_index("Comité")
        assert ui.app.client is not None
        await ui.app.client.close()  # the connection drops while the browser is open
        await ui.pilot.press("enter")
        await ui.wait(lambda: "Not connected: try again once reconnected." in notes(ui), "the note")


async def test_the_room_browser_offline_says_so(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        assert ui.app.client is not None
        await ui.app.client.close()
        await ui.pilot.press("ctrl+o")
        await ui.wait(lambda: "Not connected: try again once reconnected." in notes(ui), "the note")
        assert not isinstance(ui.app.screen, RoomBrowser)


async def test_room_names_in_the_browser_show_their_invisible_characters(
    server: ChatServer, config_dir: Path
) -> None:
    # A room from before the server refused such names: its name turns the text around.
    record = await server.store.create_room("Compta\u202egpj.exe", False)
    server.service.add_room(record)
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await browse(ui)
        shown = screen_text(ui.app)
        assert "# Compta<U+202E>gpj.exe" in shown
        assert "\u202e" not in shown
