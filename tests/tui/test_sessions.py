"""Sessions that survive a reconnect: the token logs in again after a restart, a
revoked one brings the login screen back, and quitting or `/logout` revokes it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from pathlib import Path

from textual.widgets import Static

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.server import ChatServer
from chat_tui.commands import Command, Invalid, parse
from chat_tui.screens.login import LoginScreen
from chat_tui.signing_in import SESSION_ENDED
from chat_tui.widgets.status_bar import StatusBar
from tests.helpers import Client, login, running_server
from tests.tui.helpers import Driver, GatedClient, drive, make_app


def login_error(ui: Driver) -> str:
    screen = ui.app.screen
    assert isinstance(screen, LoginScreen), screen
    return str(screen.query_one("#login-error", Static).content)


def token_of(ui: Driver) -> str:
    credentials = ui.app._credentials
    assert credentials is not None
    assert credentials.password is None  # only the token is kept
    assert credentials.token is not None
    return credentials.token


async def token_refused(port: int, user: str, token: str) -> bool:
    async with await Client.connect(port) as client:
        error = await client.fails(m.Login, user=user, token=token)
    return error.code is ErrorCode.AUTH_FAILED


def test_logout_parses() -> None:
    assert parse("/logout") == Command("/logout")
    assert parse("/logout all") == Command("/logout", ("all",))
    assert parse("/logout now") == Invalid("usage: /logout [all]")


async def test_the_token_logs_in_again_after_a_restart(tmp_path: Path, config_dir: Path) -> None:
    db = str(tmp_path / "chat.db")
    async with contextlib.AsyncExitStack() as later:
        first = await later.enter_async_context(running_server(db))
        port = first.port
        async with drive(make_app(port, config_dir)) as ui:
            await ui.log_in("alice")
            token = token_of(ui)
            await later.aclose()
            status = ui.chat.query_one(StatusBar)
            await ui.wait(lambda: not status.online, "the lost connection to show")
            await later.enter_async_context(running_server(db, port=port))
            await ui.wait(lambda: status.online, "the reconnection")
            assert not isinstance(ui.app.screen, LoginScreen)
            assert token_of(ui) == token  # a token login gets the same one back
            assert ui.app.session is not None
            assert ui.app.session.client.closed is False


async def test_a_revoked_token_brings_the_login_screen_back(
    tmp_path: Path, config_dir: Path
) -> None:
    db = str(tmp_path / "chat.db")
    gate = asyncio.Event()
    gate.set()
    async with contextlib.AsyncExitStack() as later:
        first = await later.enter_async_context(running_server(db))
        port = first.port
        app = make_app(port, config_dir, client_factory=functools.partial(GatedClient, gate=gate))
        async with drive(app) as ui:
            await ui.log_in("alice")
            gate.clear()  # hold the reconnection until the token is revoked
            await later.aclose()
            status = ui.chat.query_one(StatusBar)
            await ui.wait(lambda: not status.online, "the lost connection to show")
            second = await later.enter_async_context(running_server(db, port=port))
            elsewhere = await login(second.port, "alice")
            await elsewhere.call(m.Logout, all=True)  # every token of alice's is revoked
            gate.set()
            await ui.wait(lambda: isinstance(ui.app.screen, LoginScreen), "the login screen")
            assert login_error(ui) == SESSION_ENDED
            assert ui.app.session is None
            assert ui.app._credentials is None


async def test_logout_revokes_the_token(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        token = token_of(ui)
        await ui.type("/logout")
        await ui.wait(lambda: isinstance(ui.app.screen, LoginScreen), "the login screen")
        assert login_error(ui) == "You logged out: log in again at will."
        assert await token_refused(server.port, "alice", token)
        await ui.log_in("alice", register=False)  # the password still works, of course
        assert ui.app.session is not None


async def test_logout_all_revokes_every_token(server: ChatServer, config_dir: Path) -> None:
    async with await Client.connect(server.port) as other:
        reply: m.LoginOk = await other.call(m.Register, user="alice", password="correct horse")
    assert reply.token is not None
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice", register=False)
        token = token_of(ui)
        await ui.type("/logout all")
        await ui.wait(lambda: isinstance(ui.app.screen, LoginScreen), "the login screen")
        assert "every session of yours has ended" in login_error(ui)
    assert await token_refused(server.port, "alice", token)
    assert await token_refused(server.port, "alice", reply.token)


async def test_quitting_logs_out(server: ChatServer, config_dir: Path) -> None:
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("alice")
        token = token_of(ui)
        await ui.type("/quit")
        await ui.wait(lambda: ui.app._exit, "the app to leave")
    assert await token_refused(server.port, "alice", token)
