"""The login screen: server, user name, password; log in or register.

The screen checks only what it can say at once (a malformed address, an empty
field) and posts `LoginRequested`; the app connects and sets `error` or `busy`
back on the screen. The password field is masked and never remembered.

Typing may come in one burst (a password manager's auto-type: name, Tab, password,
Enter), faster than the fields take it. Textual hands each key to the field that
has the focus when the key is read, while a field moves the focus only once it has
handled the keys before: so Tab, Shift+Tab and Enter move the focus here, at once
(priority bindings), and Enter submits only after every field has taken the keys
typed before it. Keys that come before the screen is ready are kept, and given to
the fields in order once it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events, on
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
    AUTO_FOCUS = ""  # the focus is set on mount, where the keys that came early go too
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "move(1)", show=False, id="login.next", priority=True),
        Binding("shift+tab", "move(-1)", show=False, id="login.previous", priority=True),
        Binding("enter", "enter", show=False, id="login.enter", priority=True),
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
        self._early: list[events.Key | Callable[[], None]] | None = []
        """Keys (and Tab, Enter) that came before the fields were ready; None after."""

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
        field = self.query_one("#password" if self._user else "#user", Input)
        self.set_focus(field)
        early, self._early = self._early or [], None
        for key in early:
            if not isinstance(key, events.Key):
                key()  # Tab or Enter: the focus moves, so the next keys follow it
            elif self.focused is not None:
                self.focused._forward_event(key)

    def _forward_event(self, event: events.Event) -> None:
        """A key for the screen itself, no field having the focus yet: keep it (in
        order) for the field it was meant for; the app calls this as it reads the key."""
        if self._early is not None and isinstance(event, events.Key):
            self._early.append(event)
            return
        super()._forward_event(event)

    def action_move(self, step: int) -> None:
        """Tab or Shift+Tab: the next or previous field or button, at once."""
        if self._early is not None:
            self._early.append(lambda: self.action_move(step))
        elif step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def action_enter(self) -> None:
        """Enter: log in from the password field, press a button, else the next field."""
        focused = self.focused
        if self._early is not None:
            self._early.append(self.action_enter)
        elif isinstance(focused, Button):
            focused.press()
        elif isinstance(focused, Input) and focused.id == "password":
            self.action_submit(False)
        else:
            self.focus_next()

    def watch_error(self, error: str) -> None:
        """Show the error in place."""
        self.query_one("#login-error", Static).update(error)

    def watch_busy(self, busy: bool) -> None:
        """Disable the buttons while connecting."""
        for button in self.query(Button):
            button.disabled = busy
        self.query_one("#login-error", Static).update("Connecting…" if busy else self.error)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_submit(event.button.id == "register")

    def action_submit(self, register: bool) -> None:
        """Once every field has taken the keys typed before, check the form and ask the
        app to log in (or register)."""
        fields = list(self.query(Input))

        def after(index: int) -> None:  # each field's queue, in turn, then submit
            if index < len(fields):
                fields[index].call_later(after, index + 1)
            else:
                self._submit(register)

        after(0)

    def _submit(self, register: bool) -> None:
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
