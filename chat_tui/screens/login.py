"""The login screen: server, user name, password; log in or register.

The screen checks only what it can say at once (a malformed address, an empty
field) and posts `LoginRequested`; the app connects and sets `error` or `busy`
back on the screen. The password field is masked and never remembered.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from chat_tui.config import parse_address
from chat_tui.messages import LoginRequested


class LoginScreen(Screen[None]):
    """Log in or register.

    Args:
        address: The server, as `host:port`, to prefill.
        user: The user name to prefill.
        error: A sentence to show at once (why the last session ended).
    """

    CSS_PATH = "login.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+r",
            "submit(True)",
            "Register",
            id="login.register",
            tooltip="Create the account with this name and password, and log in",
        ),
    ]

    error: reactive[str] = reactive("")
    """Why the last attempt failed, in plain words (empty when none)."""
    busy: reactive[bool] = reactive(False)
    """True while connecting: the buttons are disabled."""

    def __init__(self, *, address: str, user: str = "", error: str = "") -> None:
        super().__init__()
        self._address = address
        self._user = user
        self.set_reactive(LoginScreen.error, error)

    def compose(self) -> ComposeResult:
        """The form in a centred box."""
        with Vertical(id="login-box") as box:
            box.border_title = "chat-tui"
            yield Label("Server (host:port)")
            yield Input(self._address, id="address", placeholder="127.0.0.1:7878")
            yield Label("User")
            yield Input(self._user, id="user", placeholder="your name")
            yield Label("Password")
            yield Input(id="password", password=True, placeholder="8 characters or more")
            with Horizontal(id="login-buttons"):
                yield Button("Log in", id="login", variant="primary")
                yield Button("Register", id="register")
            yield Static(self.error, id="login-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Start where typing is needed: the user name, or the password if it is known."""
        blink = getattr(self.app, "cursor_blink", True)
        for field in self.query(Input):
            field.cursor_blink = blink
        self.query_one("#password" if self._user else "#user", Input).focus()

    def watch_error(self, error: str) -> None:
        """Show the error in place."""
        self.query_one("#login-error", Static).update(error)

    def watch_busy(self, busy: bool) -> None:
        """Disable the buttons while connecting."""
        for button in self.query(Button):
            button.disabled = busy
        self.query_one("#login-error", Static).update("Connecting…" if busy else self.error)

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "password":
            self.action_submit(False)
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_submit(event.button.id == "register")

    def action_submit(self, register: bool) -> None:
        """Check the form and ask the app to log in (or register)."""
        if self.busy:
            return
        try:
            host, port = parse_address(self.query_one("#address", Input).value)
        except ValueError as error:
            self.error = f"{str(error)[:1].upper()}{str(error)[1:]}."
            self.query_one("#address", Input).focus()
            return
        user = self.query_one("#user", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not user or not password:
            self.error = "Give a user name and a password."
            self.query_one("#user" if not user else "#password", Input).focus()
            return
        self.error = ""
        self.post_message(LoginRequested(host, port, user, password, register))
