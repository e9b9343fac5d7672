"""The sidebar: joined rooms, rooms waiting for approval, and conversations.

It shows what the screen gives it (`show()`) and posts `Sidebar.Opened` when the
user picks an entry; it never asks the server anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_tui.conversation import Conversation, Target


def entry_id(target: Target) -> str:
    """The option id of a target."""
    return f"{target.kind}:{target.key}"


def entry(conv: Conversation) -> Table:
    """One sidebar line: the name, and the unread count or `waiting`."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    name = Text(conv.target.label)
    badge = Text()
    if conv.state == m.PENDING:
        name.stylize("dim italic")
        badge = Text("waiting", style="dim italic")
    elif conv.unread:
        name.stylize("bold")
        badge = Text(f" {conv.unread} ", style="bold reverse")
    grid.add_row(name, badge)
    return grid


class Sidebar(OptionList):
    """Rooms and conversations, with unread counts; Enter opens one."""

    @dataclass
    class Opened(Message):
        """The user picked this room or conversation."""

        target: Target

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._targets: dict[str, Target] = {}

    def show(self, conversations: list[Conversation], current: Target | None) -> None:
        """Redraw from `conversations` (in order) and highlight `current`.

        While the user moves through the list, the highlight stays where they put it.
        """
        moving = self.highlighted_option if self.has_focus else None
        keep = moving.id if moving is not None else None
        options: list[Option | None] = []
        rooms = [conv for conv in conversations if conv.target.kind == "room"]
        dms = [conv for conv in conversations if conv.target.kind == "dm"]
        self._targets = {}
        for title, group in (("Rooms", rooms), ("Direct messages", dms)):
            if not group:
                continue
            options.append(Option(Text(title, style="bold underline"), disabled=True))
            for conv in group:
                self._targets[entry_id(conv.target)] = conv.target
                options.append(Option(entry(conv), id=entry_id(conv.target)))
        self.set_options(options)
        if keep is None and current is not None:
            keep = entry_id(current)
        if keep is not None and keep in self._targets:
            self.highlighted = self.get_option_index(keep)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Tell the screen which entry was picked."""
        event.stop()
        target = self._targets.get(event.option_id or "")
        if target is not None:
            self.post_message(self.Opened(target))
