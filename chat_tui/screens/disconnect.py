"""The modal that says why the server ended the session (kick, ban, kill)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class DisconnectScreen(ModalScreen[None]):
    """A title, the server's words (with `until` in local time) and an OK button.

    Args:
        title: What happened (`You were kicked`).
        text: The server's text, and until when, as plain text.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="disconnect.close", tooltip="Back to login"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        """The box."""
        with Vertical(id="disconnect-box", classes="dialog") as box:
            box.border_title = self._title
            yield Static(self._text, id="disconnect-text", markup=False)
            yield Button("OK", id="disconnect-ok", variant="primary")

    def on_mount(self) -> None:
        """Enter closes it."""
        self.query_one(Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Back to the login screen."""
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the box."""
        self.dismiss(None)
