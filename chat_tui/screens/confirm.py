"""The box that asks before a message is deleted (there is no undo)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from chat_core import messages as m
from chat_tui.render import first_line


class ConfirmDelete(ModalScreen[bool]):
    """Delete this message? `y` or Enter deletes it; `n` or Escape keeps it.

    Args:
        message: The message to delete (its first line is shown).
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Delete", id="confirm.yes", tooltip="Delete the message"),
        Binding("n,escape", "answer(False)", "Keep", id="confirm.no", tooltip="Keep it"),
    ]

    def __init__(self, message: m.Message) -> None:
        super().__init__()
        self._message = message

    def compose(self) -> ComposeResult:
        """The message's first line, then Delete and Keep."""
        with Vertical(id="confirm-box", classes="dialog") as box:
            box.border_title = "Delete this message?"
            box.border_subtitle = "y deletes · n keeps"
            line = f"{self._message.sender}: {first_line(self._message.text)}"
            yield Static(Text(line), id="confirm-text", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Delete", id="confirm-delete", variant="error")
                yield Button("Keep", id="confirm-keep")

    def on_mount(self) -> None:
        """Enter deletes: the user asked for it with `d` already."""
        self.query_one("#confirm-delete", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Delete or keep, as the button says."""
        event.stop()
        self.dismiss(event.button.id == "confirm-delete")

    def action_answer(self, delete: bool) -> None:
        """Close with the answer."""
        self.dismiss(delete)
