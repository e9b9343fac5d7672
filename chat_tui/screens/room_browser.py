"""The room browser: every room on the server, with its topic; pick one to join (or
open) it."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_tui.render import plain, safe

STATES = {
    m.MEMBER: ("joined", "green"),
    m.PENDING: ("waiting for approval", "yellow italic"),
}


def room_entry(room: m.RoomInfo) -> RenderableType:
    """`# name   open · 3 online   joined`, and the topic under it (one line) if set; the
    name and the topic with their invisible characters shown (`<U+202E>`)."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    kind = "needs approval" if room.approval else "open"
    state, style = STATES.get(room.state, ("", ""))
    grid.add_row(
        Text.assemble("# ", safe(room.name)),
        Text(kind if room.online is None else f"{kind} · {room.online} online", style="dim"),
        Text(state, style=style),
    )
    if not room.topic:
        return grid
    topic = Text("  " + plain(room.topic), style="dim italic", no_wrap=True, overflow="ellipsis")
    return Group(grid, topic)


class RoomBrowser(ModalScreen[str | None]):
    """Every room; Enter joins the highlighted one (or asks to), Escape closes.

    Args:
        rooms: The `rooms` answer.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="rooms.close", tooltip="Close without joining"),
    ]

    def __init__(self, rooms: list[m.RoomInfo]) -> None:
        super().__init__()
        self._rooms = rooms

    def compose(self) -> ComposeResult:
        """The list in a box."""
        with Vertical(id="rooms-box", classes="dialog") as box:
            box.border_title = "Rooms"
            box.border_subtitle = "Enter joins · Esc closes"
            yield OptionList(
                *[Option(room_entry(room), id=room.name) for room in self._rooms],
                id="rooms-list",
                markup=False,
            )
            yield Static(
                "Rooms that need approval wait for an administrator.",
                id="rooms-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        """Keys go to the list."""
        rooms = self.query_one(OptionList)
        rooms.focus()
        if self._rooms:
            rooms.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Close with the chosen room's name."""
        event.stop()
        self.dismiss(event.option_id)

    def action_close(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
