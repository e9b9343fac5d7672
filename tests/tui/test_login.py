"""The login screen against a real server: register, log in, and every refusal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from textual import events
from textual.widgets import Input, Static

from chat_core import messages as m
from chat_srv.admin import Admin
from chat_srv.server import ChatServer
from chat_tui.conversation import Target
from chat_tui.messages import LoginRequested
from chat_tui.render import local_time
from chat_tui.screens.login import LoginScreen
from tests.helpers import PASSWORD, register, running_server
from tests.tui.fakes import ReplayClient
from tests.tui.helpers import drive, make_app, screen_text


def login_error(screen: object) -> str:
    assert isinstance(screen, LoginScreen), screen
    return str(screen.query_one("#login-error", Static).content)


async def test_register_opens_general_and_remembers_the_user(
    server: ChatServer, config_dir: Path
) -> None:
    app = make_app(server.port, config_dir)
    async with drive(app) as ui:
        await ui.log_in("alice")
        assert ui.app.session is not None
        assert ui.app.session.state.current is not None
        assert ui.app.session.state.current.label == "#Général"
        assert f"alice @ 127.0.0.1:{server.port}" in screen_text(ui.app)
    saved = (config_dir / "client.json").read_text()
    assert '"user":"alice"' in saved
    assert PASSWORD not in saved


async def test_log_in_to_an_existing_account(server: ChatServer, config_dir: Path) -> None:
    bob = await register(server.port, "Bob")
    await bob.call(m.Join, room="Blabla")
    async with drive(make_app(server.port, config_dir)) as ui:
        await ui.log_in("bob", register=False)  # names match case-insensitively
        assert ui.app.session is not None
        assert ui.app.session.state.me == "Bob"
        assert [t.label for t in ui.app.session.state.openable()] == ["#Blabla", "#Général"]
        assert ui.app.session.state.current == Target.room("Général")


async def test_the_user_name_is_prefilled_and_the_password_focused(config_dir: Path) -> None:
    app = make_app(7878, config_dir, user="alice")
    async with drive(app) as ui:
        screen = ui.app.screen
        assert isinstance(screen, LoginScreen)
        assert screen.query_one("#user", Input).value == "alice"
        assert screen.query_one("#address", Input).value == "127.0.0.1:7878"
        assert ui.app.focused is screen.query_one("#password", Input)
        assert screen.query_one("#password", Input).password


@pytest.mark.parametrize(
    ("user", "password", "register_it", "expected"),
    [
        ("bob", "wrong password", False, "Wrong user name or password."),
        ("nobody", PASSWORD, False, "Wrong user name or password."),
        ("bob", PASSWORD, True, "That user name is not available"),
        ("no spaces", PASSWORD, True, "a user name is 1 to 32 letters, digits"),
        ("carol", "short", True, "a password has 8 to 256 characters"),
    ],
)
async def test_refusals_are_shown_in_place(
    server: ChatServer,
    config_dir: Path,
    user: str,
    password: str,
    register_it: bool,
    expected: str,
) -> None:
    await register(server.port, "bob")
    app = make_app(server.port, config_dir)
    async with drive(app) as ui:
        await ui.login_form(user, password, register=register_it)
        await ui.settle()
        assert expected in login_error(ui.app.screen)
        assert ui.app.session is None


async def test_an_unreachable_server_is_said_so(tmp_path: Path, config_dir: Path) -> None:
    async with running_server(str(tmp_path / "chat.db")) as server:
        port = server.port  # free once the server has stopped
    app = make_app(port, config_dir)
    async with drive(app) as ui:
        await ui.login_form("alice", PASSWORD, register=False)
        await ui.settle()
        assert f"Cannot reach the server at 127.0.0.1:{port}" in login_error(ui.app.screen)


async def test_a_plain_client_of_a_tls_server_is_told_to_use_tls(
    tmp_path: Path, config_dir: Path
) -> None:
    cert = trustme.CA().issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    tls: dict[str, Any] = {"tls_cert": str(cert_file), "tls_key": str(key_file)}
    async with (
        running_server(str(tmp_path / "chat.db"), **tls) as server,
        drive(make_app(server.port, config_dir)) as ui,
    ):
        await ui.login_form("alice", PASSWORD, register=True)
        await ui.settle()
        assert "This server speaks TLS: start chat-tui with --tls" in login_error(ui.app.screen)
        assert ui.app.session is None


async def test_a_kicked_user_is_told_until_when_and_why(
    server: ChatServer, config_dir: Path
) -> None:
    carol = await register(server.port, "carol")
    kicked = await Admin(server).kick("carol", timedelta(minutes=10), "spamming")
    await carol.closed()
    await carol.close()
    app = make_app(server.port, config_dir)
    async with drive(app) as ui:
        await ui.login_form("carol", PASSWORD, register=False)
        await ui.settle()
        assert kicked.until is not None
        text = login_error(ui.app.screen)
        end = f"{local_time(kicked.until, ui.app.tz):%H:%M:%S}"  # under an hour: to the second
        assert text.startswith("You were kicked for ")
        assert text.endswith(f", until {end}. Reason: spamming")


async def test_a_banned_user_is_told_why(server: ChatServer, config_dir: Path) -> None:
    dave = await register(server.port, "dave")
    await Admin(server).ban("dave", "insults")
    await dave.closed()
    await dave.close()
    app = make_app(server.port, config_dir)
    async with drive(app) as ui:
        await ui.login_form("dave", PASSWORD, register=False)
        await ui.settle()
        assert login_error(ui.app.screen) == "This account is banned: insults."


BURST = (*"bob", "tab", *"bobpass12", "enter")
"""A password manager's auto-type: the name, Tab, the password, Enter."""


def login_requests(seen: Sequence[object]) -> list[LoginRequested]:
    found: list[LoginRequested] = []
    for message in seen:
        if isinstance(message, LoginRequested) and message not in found:
            found.append(message)
    return found


async def test_a_burst_typed_as_the_screen_appears_lands_in_its_fields(config_dir: Path) -> None:
    async with drive(make_app(7878, config_dir, client_factory=ReplayClient)) as ui:
        await ui.pilot.pause()
        ui.app.push_screen(LoginScreen(address="127.0.0.1:7878"))
        await ui.pilot.press(*BURST)
        await ui.wait(lambda: login_requests(ui.seen), "the login")
        [request] = login_requests(ui.seen)
        assert (request.host, request.user, request.password) == ("127.0.0.1", "bob", "bobpass12")


async def test_a_burst_faster_than_the_fields_never_shows_the_password(config_dir: Path) -> None:
    async with drive(make_app(7878, config_dir, client_factory=ReplayClient)) as ui:
        await ui.pilot.pause()
        assert isinstance(ui.app.screen, LoginScreen)
        for key in BURST:  # all at once, as the terminal delivers them
            ui.app.post_message(events.Key(key, {"tab": "\t", "enter": "\r"}.get(key, key)))
        await ui.wait(lambda: login_requests(ui.seen), "the login")
        [request] = login_requests(ui.seen)
        assert (request.user, request.password) == ("bob", "bobpass12")
