"""The quick switcher: type part of a name, Enter goes there: a room or conversation
of the sidebar, a room not joined yet (joining it, or asking to), or any user known
(a conversation with them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_core.names import name_key
from chat_tui.conversation import Target
from chat_tui.render import safe


@dataclass(frozen=True)
class Destination:
    """Where the switcher can go: a room or conversation, and how to get there."""

    target: Target
    join: bool = False
    """A room the user is not in: Enter joins it (or asks to)."""
    hint: str = ""
    """What going there means, beside the name (`join`, `new conversation`)."""


def destinations(
    openable: Iterable[Target],
    rooms: Iterable[m.RoomInfo],
    users: Iterable[str],
    me: str,
) -> list[Destination]:
    """Every destination: what can be opened (in sidebar order), then the other rooms
    (`rooms`, those the user is not in), then the users known with no conversation yet
    (never `me`), each by name."""
    found = [Destination(target) for target in openable]
    seen = {(dest.target.kind, dest.target.key) for dest in found}
    for room in sorted(rooms, key=lambda room: name_key(room.name)):
        target = Target.room(room.name)
        if room.state == m.NONE and ("room", target.key) not in seen:
            hint = "ask to join" if room.approval else "join"
            found.append(Destination(target, join=True, hint=hint))
    for name in sorted(users, key=name_key):
        target = Target.dm(name)
        if target.key != name_key(me) and ("dm", target.key) not in seen:
            found.append(Destination(target, hint="new conversation"))
    return found


def _line(dest: Destination) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row(safe(dest.target.label), Text(dest.hint, style="dim italic"))
    return grid


class QuickSwitcher(ModalScreen[Destination | None]):
    """A filter line over every destination.

    Args:
        choices: Every destination, in order (`destinations()`).
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="switcher.close", tooltip="Stay where you are"),
        Binding("down", "move(1)", "Next", show=False, id="switcher.next", priority=True),
        Binding("up", "move(-1)", "Previous", show=False, id="switcher.previous", priority=True),
    ]

    def __init__(self, choices: list[Destination]) -> None:
        super().__init__()
        self._choices = choices
        self._shown: list[Destination] = []

    def compose(self) -> ComposeResult:
        """The filter above the list."""
        with Vertical(id="switcher-box", classes="dialog") as box:
            box.border_title = "Go to"
            box.border_subtitle = "rooms, conversations, users · Enter goes"
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
        """The destinations whose name holds `text`, those that start with it first."""
        key = name_key(text.strip().lstrip("#@"))
        matching = [dest for dest in self._choices if key in dest.target.key]
        self._shown = sorted(matching, key=lambda dest: not dest.target.key.startswith(key))
        listing = self.query_one(OptionList)
        listing.set_options([Option(_line(dest)) for dest in self._shown])
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
