"""Sessions that end: the kick modal, and reconnection after a server restart."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import timedelta
from pathlib import Path

from textual.widgets import Static

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_tui.render import until_label
from chat_tui.screens.disconnect import DisconnectScreen
from chat_tui.screens.login import LoginScreen
from chat_tui.widgets.status_bar import StatusBar
from tests.helpers import login, register, running_server
from tests.tui.helpers import GatedClient, drive, make_app


async def test_a_kick_shows_why_and_until_then_the_login_screen(
    server: ChatServer, config_dir: Path
) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        kicked = await Admin(server).kick("alice", timedelta(hours=2), "spam")
        assert kicked.until is not None
        await ui.wait(lambda: isinstance(ui.app.screen, DisconnectScreen), "the kick modal")
        modal = ui.app.screen
        assert modal.query_one("#disconnect-box").border_title == "You were kicked"
        text = str(modal.query_one("#disconnect-text", Static).content)
        assert "Reason: spam" in text
        assert f"Until {until_label(kicked.until, ui.app.tz)} (local time)." in text
        await ui.pilot.press("enter")
        await ui.wait(lambda: isinstance(ui.app.screen, LoginScreen), "the login screen")
        error = str(ui.app.screen.query_one("#login-error", Static).content)
        assert error.startswith("You were kicked. Reason: spam")
        assert ui.app.session is None


async def test_reconnection_after_a_restart_loses_and_doubles_nothing(
    tmp_path: Path, config_dir: Path
) -> None:
    db = str(tmp_path / "chat.db")
    gate = asyncio.Event()
    gate.set()
    async with contextlib.AsyncExitStack() as later:
        first = await later.enter_async_context(running_server(db))
        port = first.port
        bob = await register(port, "bob")
        app = make_app(port, config_dir, client_factory=functools.partial(GatedClient, gate=gate))
        async with drive(app) as ui:
            await ui.log_in("alice")
            await bob.call(m.Send, room="Général", body="before")
            await ui.wait(lambda: len(ui.lines()) == 1, "the first message")
            await bob.close()

            gate.clear()  # hold the reconnection until messages were missed
            await later.aclose()  # the server stops: a shutdown, then the connection drops
            status = ui.chat.query_one(StatusBar)
            await ui.wait(lambda: not status.online, "the lost connection to show")
            await ui.type("typed while offline")
            assert ui.app.session is not None
            assert len(ui.app.session.outbox) == 1

            second = await later.enter_async_context(running_server(db, port=port))
            bob = await login(second.port, "bob")
            for n in (1, 2, 3):
                await bob.call(m.Send, room="Général", body=f"missed {n}")
            gate.set()
            await ui.wait(lambda: status.online, "the reconnection")
            await bob.call(m.Send, room="Général", body="after")
            expected = [
                "before",
                "missed 1",
                "missed 2",
                "missed 3",
                "typed while offline",
                "after",
            ]

            def bodies() -> list[str]:
                return [line.split(" ", 2)[2] for line in ui.lines()]

            await ui.wait(lambda: len(bodies()) >= len(expected), "every message")
            await ui.settle()
            assert bodies() == expected
            assert ui.app.session.outbox == []
            got = await bob.event(m.Message, body="typed while offline")
            assert got.sender == "alice"
            page = await bob.call(m.History, room="Général")
            assert [msg.body for msg in page.messages].count("typed while offline") == 1
