"""The sidebar: joined rooms, rooms waiting for approval, and conversations.

It shows what the screen gives it (`show()`) and posts `Sidebar.Opened` when the
user picks an entry; it never asks the server anything itself. In a narrow terminal
the `RoomBar` stands for it: the same entries on one line. Each entry has its
unread count, and after it, apart, how many of those mention the user (`12 @2`);
a peer who is away is dimmed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_tui.conversation import Conversation, Target
from chat_tui.render import safe

UNREAD_STYLE = "bold reverse"
MENTIONS_STYLE = "bold reverse #e5c07b"  # apart from the unread count, even without colour
CURRENT_STYLE = "reverse"  # the room bar's current entry


def entry_id(target: Target) -> str:
    """The option id of a target."""
    return f"{target.kind}:{target.key}"


def entry(conv: Conversation, away: bool = False) -> Table:
    """One sidebar line: the name, then the unread and mention counts, or `waiting`
    (or `away`, for a peer who is and nothing unread)."""
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    name = safe(conv.target.label)
    badges = [Text()]
    if conv.state == m.PENDING:
        name.stylize("dim italic")
        badges = [Text("waiting", style="dim italic")]
    elif conv.unread or conv.mentions:
        name.stylize("bold")
        badges = [Text(f" {conv.unread} ", style=UNREAD_STYLE)]
        if conv.mentions:  # a column of its own, so each badge keeps its padding
            grid.add_column(justify="right", no_wrap=True)
            badges.append(Text(f" @{conv.mentions} ", style=MENTIONS_STYLE))
    elif away:
        badges = [Text("away", style="dim italic")]
    if away:
        name.stylize("dim")
    grid.add_row(name, *badges)
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

    def show(
        self,
        conversations: list[Conversation],
        current: Target | None,
        away: Collection[Target] = (),
    ) -> None:
        """Redraw from `conversations` (in order) and highlight `current`; the peers of
        the conversations in `away` are away.

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
                shown = entry(conv, conv.target in away)
                options.append(Option(shown, id=entry_id(conv.target)))
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


def bar_entry(conv: Conversation, away: bool = False, current: bool = False) -> Text:
    """One entry of the room bar: ` #Blabla  12  @2 `, the current one's name
    highlighted, a room waiting for approval dimmed, a peer who is away dimmed."""
    shown = Text(" ").append_text(safe(conv.target.label)).append(" ")
    if current:
        shown.stylize(CURRENT_STYLE)
    if conv.state == m.PENDING:
        shown.stylize("dim italic")
    elif conv.unread or conv.mentions:
        shown.stylize("bold")
        shown.append(f" {conv.unread} ", style=UNREAD_STYLE)
        if conv.mentions:
            shown.append(f" @{conv.mentions} ", style=MENTIONS_STYLE)
    if away:
        shown.stylize("dim")
    return shown.append(" ")


class RoomBar(Static):
    """The sidebar folded into one line, for a narrow terminal (or when the user hides
    the sidebar): each room and conversation with its unread count, the current one
    highlighted and always in view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self._entries: list[Text] = []
        self._current = 0  # the index of the current entry

    def show(
        self,
        conversations: list[Conversation],
        current: Target | None,
        away: Collection[Target] = (),
    ) -> None:
        """Redraw from `conversations` (in order), `current` highlighted; the peers of
        the conversations in `away` are away."""
        self._entries, self._current = [], 0
        for index, conv in enumerate(conversations):
            here = conv.target == current
            self._entries.append(bar_entry(conv, conv.target in away, here))
            self._current = index if here else self._current
        self.refresh()

    def render(self) -> Text:
        """The entries side by side; when they do not fit, the first ones give way
        (shown by `‹`) until the current one does."""
        width, entries, current = self.content_size.width, self._entries, self._current
        start = 0
        while start < current and sum(e.cell_len for e in entries[start : current + 1]) >= width:
            start += 1
        line = Text("‹" if start else "", style="dim", no_wrap=True, overflow="ellipsis", end="")
        line.append_text(Text("").join(self._entries[start:]))
        line.truncate(width, overflow="ellipsis")
        return line
