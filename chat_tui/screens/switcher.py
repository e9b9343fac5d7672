"""The quick switcher: type part of a name, Enter opens that room or conversation."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from chat_core.names import name_key
from chat_tui.conversation import Target
from chat_tui.render import safe


class QuickSwitcher(ModalScreen[Target | None]):
    """A filter line over every room and conversation that can be opened.

    Args:
        targets: What can be opened, in sidebar order.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="switcher.close", tooltip="Stay where you are"),
        Binding("down", "move(1)", "Next", show=False, id="switcher.next", priority=True),
        Binding("up", "move(-1)", "Previous", show=False, id="switcher.previous", priority=True),
    ]

    def __init__(self, targets: list[Target]) -> None:
        super().__init__()
        self._targets = targets
        self._shown: list[Target] = []

    def compose(self) -> ComposeResult:
        """The filter above the list."""
        with Vertical(id="switcher-box", classes="dialog") as box:
            box.border_title = "Go to"
            yield Input(placeholder="part of a room or user name", id="switcher-filter")
            yield OptionList(id="switcher-list", markup=False)

    def on_mount(self) -> None:
        """Everything is listed until the user types."""
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()
        self._filter("")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, text: str) -> None:
        key = name_key(text.strip().lstrip("#@"))
        self._shown = [t for t in self._targets if key in t.key]
        listing = self.query_one(OptionList)
        listing.set_options([Option(safe(t.label)) for t in self._shown])
        listing.highlighted = 0 if self._shown else None

    def action_move(self, step: int) -> None:
        """Move the highlight while typing."""
        listing = self.query_one(OptionList)
        if self._shown:
            current = listing.highlighted or 0
            listing.highlighted = max(0, min(len(self._shown) - 1, current + step))

    @on(Input.Submitted)
    def _pick(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one(OptionList).highlighted
        self.dismiss(self._shown[index] if index is not None and self._shown else None)

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self._shown[event.option_index])

    def action_close(self) -> None:
        """Close without moving."""
        self.dismiss(None)
