"""When the session is cut: what a kick, a shutdown or a refusal says, and how long
a kick lasts (from the server's clock, which the tests hold still)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from textual.widgets import Static

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_srv.session import Connection
from chat_tui.render import describe_disconnect, disconnect_summary, local_time, until_words
from chat_tui.screens.disconnect import DisconnectScreen
from chat_tui.screens.login import LoginScreen
from chat_tui.widgets.message_pane import WaitingLine
from chat_tui.widgets.status_bar import StatusBar
from chat_tui.widgets.user_list import UserList
from tests.helpers import ManualClock, login, register, running_server
from tests.tui.helpers import Driver, GatedClient, drive, make_app, rendered

NOON = 1_748_952_000_000  # 3 June 2025 12:00:00 UTC, in ms


def test_a_short_end_is_relative_and_to_the_second_a_long_one_absolute() -> None:
    assert until_words(NOON + 30_000, UTC, NOON) == "for 30 s, until 12:00:30"
    assert until_words(NOON + 29_400, UTC, NOON) == "for 30 s, until 12:00:29"
    assert until_words(NOON + 150_000, UTC, NOON) == "for 2 min 30 s, until 12:02:30"
    assert until_words(NOON + 600_000, UTC, NOON) == "for 10 min, until 12:10:00"
    assert until_words(NOON + 3_600_000, UTC, NOON) == "until 13:00 on 3 June 2025"
    assert until_words(NOON - 1_000, UTC, NOON) == "until 11:59 on 3 June 2025"


def test_goodbyes_do_not_say_their_title_twice() -> None:
    shutdown = m.Disconnect(reason=DisconnectReason.SHUTDOWN, text="the server is shutting down")
    assert describe_disconnect(shutdown, UTC) == ("The server is shutting down", "")
    maintenance = m.Disconnect(reason=DisconnectReason.SHUTDOWN, text="maintenance until 3")
    assert describe_disconnect(maintenance, UTC)[1] == "Maintenance until 3"
    banned = m.Disconnect(reason=DisconnectReason.BANNED, text="you are banned: [b]insults[/b]")
    assert describe_disconnect(banned, UTC) == ("You were banned", "Reason: [b]insults[/b]")
    killed = m.Disconnect(
        reason=DisconnectReason.KILLED, text="disconnected by the administrator: go home"
    )
    assert describe_disconnect(killed, UTC)[1] == "Reason: go home"


R = DisconnectReason


@pytest.mark.parametrize(
    ("reason", "said", "summary"),
    [
        (R.SLOW_CONSUMER, "you were not reading fast enough", "Disconnected: too slow to read."),
        (R.IDLE, "no login in time", "Disconnected: no login in time."),
        (R.SHUTDOWN, "the server is shutting down", "The server is shutting down."),
        (
            R.KILLED,
            "disconnected by the administrator: bye",
            "An administrator closed your session. Reason: bye",
        ),
        (R.BANNED, "you are banned: spam", "You were banned. Reason: spam"),
        (R.BANNED, "banned: spam", "This address is banned. Reason: spam"),
        (R.BANNED, "this address is banned: spam", "This address is banned. Reason: spam"),
        (
            R.PROTOCOL_ERROR,
            "the server is full; try again later",
            "The server is full. Try again later",
        ),
        (
            R.PROTOCOL_ERROR,
            "too many connections from your address",
            "Too many connections from your address.",
        ),
        (R.PROTOCOL_ERROR, "too many requests: flooding", "Disconnected: too many requests."),
        (
            R.PROTOCOL_ERROR,
            "a frame took too long to arrive",
            "Disconnected: protocol error. A frame took too long to arrive",
        ),
    ],
)
def test_each_goodbye_of_the_server_says_its_thing_once(
    reason: DisconnectReason, said: str, summary: str
) -> None:
    goodbye = m.Disconnect(reason=reason, text=said)
    assert disconnect_summary(*describe_disconnect(goodbye, UTC)) == summary


async def test_too_slow_to_read_is_said_once(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        (mine,) = [c for c in server.hub.connections if getattr(c, "user", None)]
        assert isinstance(mine, Connection)
        mine._drop_slow()  # the server gives up on a client that does not keep up
        await ui.wait(lambda: ui.toasts(), "the goodbye")
        assert [t.message for t in ui.toasts()] == ["Disconnected: too slow to read."]
        await ui.wait(lambda: ui.chat.query_one(StatusBar).online, "the reconnection")


async def test_a_kick_says_why_and_for_how_long_to_the_second(
    db_path: str, config_dir: Path
) -> None:
    server_clock, app_clock = ManualClock(), ManualClock()
    async with running_server(db_path, clock=server_clock) as server:
        app = make_app(server.port, config_dir, clock=app_clock.monotonic)
        async with drive(app) as ui:
            await ui.log_in("alice")
            app_clock.advance(5)  # the kick comes 5 s after the login, on both sides
            server_clock.advance(5)
            kicked = await Admin(server).kick("alice", timedelta(seconds=30), "spam")
            assert kicked.until is not None
            await ui.wait(lambda: isinstance(ui.app.screen, DisconnectScreen), "the kick modal")
            text = str(ui.app.screen.query_one("#disconnect-text", Static).content)
            end = f"{local_time(kicked.until, UTC):%H:%M:%S}"
            assert text == f"Reason: spam\nFor 30 s, until {end} (local time)."
            await ui.pilot.press("enter")
            await ui.wait(lambda: isinstance(ui.app.screen, LoginScreen), "the login screen")
            error = str(ui.app.screen.query_one("#login-error", Static).content)
            assert error == f"You were kicked. Reason: spam\nFor 30 s, until {end} (local time)."


async def test_a_shutdown_is_said_once(db_path: str, config_dir: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(running_server(db_path))
        async with drive(make_app(server.port, config_dir)) as ui:
            await ui.log_in("alice")
            await stack.aclose()
            await ui.wait(lambda: not ui.chat.query_one(StatusBar).online, "the lost connection")
            await ui.wait(lambda: ui.toasts(), "the toast")
            assert [t.message for t in ui.toasts()] == ["The server is shutting down."]


async def test_a_refused_join_says_refused(server: ChatServer, config_dir: Path) -> None:
    await Admin(server).add_rooms(["Secret"], approval=True)
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        await ui.type("/join Secret")
        await Admin(server).reject("alice", ["Secret"])
        await ui.wait(lambda: ui.toasts(), "the refusal")
        assert ui.toasts()[-1].message == "Your request to join Secret was refused."


# -- an outage ----------------------------------------------------------------------------------


async def test_an_outage_shows_what_waits_and_that_the_users_are_not_known(
    tmp_path: Path, config_dir: Path
) -> None:
    db = str(tmp_path / "chat.db")
    gate = asyncio.Event()
    gate.set()
    async with contextlib.AsyncExitStack() as later:
        first = await later.enter_async_context(running_server(db))
        port = first.port
        await register(port, "alice")
        bob = await register(port, "bob")
        await bob.call(m.Dm, to="alice", body="from before")  # alice's DM, never opened
        app = make_app(port, config_dir, client_factory=functools.partial(GatedClient, gate=gate))
        async with drive(app) as ui:
            await ui.log_in("alice", register=False)
            users = ui.chat.query_one(UserList)
            assert "(offline)" not in rendered(users)
            status = ui.chat.query_one(StatusBar)
            assert status.title == "#Général  (2 online)"
            gate.clear()
            await later.aclose()
            await ui.wait(lambda: not status.online, "the lost connection")
            assert rendered(users).startswith("Users\n(offline)")  # no count: not known
            assert status.title == "#Général"  # nor in the bar
            assert users.has_class("-stale")
            await ui.type("typed while offline")
            waiting = ui.chat.query(WaitingLine)
            assert len(waiting) == 1
            line = " ".join(rendered(waiting.first()).split())
            assert line == "--:-- alice typed while offline (waiting to be sent)"
            assert ui.lines() == []
            await ui.type("/msg bob")  # offline: nothing to show yet
            await ui.wait(lambda: ui.chat.query_one(StatusBar).title == "@bob", "the conversation")
            await ui.settle()
            assert ui.lines() == []

            second = await later.enter_async_context(running_server(db, port=port))
            gate.set()
            await ui.wait(lambda: status.online, "the reconnection")
            await ui.wait(lambda: ui.lines(), "the conversation's history")
            assert status.title == "@bob"
            assert [line.split(" ", 2)[2] for line in ui.lines()] == ["from before"]
            assert not users.has_class("-stale")
            assert "(offline)" not in rendered(users)
            await go_to(ui, "Général")
            await ui.wait(lambda: ui.lines(), "the message sent")
            assert [line.split(" ", 2)[2] for line in ui.lines()] == ["typed while offline"]
            assert not ui.chat.query(WaitingLine)
            bob = await login(second.port, "bob")
            page = await bob.call(m.History, room="Général")
            assert [msg.body for msg in page.messages] == ["typed while offline"]


async def go_to(ui: Driver, room: str) -> None:
    await ui.type(f"/join {room}")
    await ui.wait(lambda: ui.chat.query_one(StatusBar).title.startswith(f"#{room}"), room)
    await ui.settle()
