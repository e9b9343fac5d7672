"""The message pane: one conversation's messages, with a separator for each day.

The screen hands it messages (`show`, `append`, `prepend`) and says which changed
(`redraw`); it asks for older ones with `NeedOlder` when the user scrolls to the
top. It stays at the bottom while new messages arrive, unless the user has
scrolled up to read. Shown around a message jumped to (`show(..., around=)`), it
stays there, and when newer messages remain (`more_after`) it asks for them with
`NeedNewer` when the user scrolls to the bottom (or goes down past the newest).

With the focus, it selects a message: Up and Down move, and the keys shown in the
footer post `Act` for the selected one (the screen edits, deletes, replies or
reacts); Escape, or Down past the newest, posts `Left`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, tzinfo
from typing import ClassVar, Literal

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget

from chat_core import messages as m
from chat_tui.config import TIME_FORMAT
from chat_tui.widgets.message_line import DaySeparator, MessageLine, SystemLine

Lookup = Callable[[int], m.Message | None]
"""msg_id -> the message as held now, if it is (to quote a reply's parent)."""

ActionName = Literal["edit", "delete", "reply", "react", "quoted"]


class MessagePane(VerticalScroll, can_focus=True):
    """The messages of the current room or conversation."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Older", show=False, id="messages.older"),
        Binding("down", "move(1)", "Newer", show=False, id="messages.newer"),
        Binding("e", "act('edit')", "Edit", id="messages.edit", tooltip="Edit your message"),
        Binding("d", "act('delete')", "Delete", id="messages.delete", tooltip="Delete it"),
        Binding("r", "act('reply')", "Reply", id="messages.reply", tooltip="Reply to it"),
        Binding(
            "plus,equals_sign",
            "act('react')",
            "React",
            key_display="+",
            id="messages.react",
            tooltip="Put a reaction on it (or take yours back)",
        ),
        Binding(
            "g",
            "act('quoted')",
            "Go to quoted",
            id="messages.quoted",
            tooltip="Go to the message it replies to",
        ),
        Binding("escape", "leave", "Back", id="messages.leave", tooltip="Back to the input"),
    ]

    class NeedOlder(Message):
        """The user reached the top: load the page before the oldest message."""

    class NeedNewer(Message):
        """The user reached the bottom of a window back in time: load the page after."""

    class Act(Message):
        """The user asked to edit, delete, reply to or react to `message`."""

        def __init__(self, action: ActionName, message: m.Message) -> None:
            super().__init__()
            self.action: ActionName = action
            self.message = message

    class Left(Message):
        """The user is done selecting (Escape, or Down past the newest message)."""

    def __init__(self, *, me: str, tz: tzinfo | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.me = me
        self.tz = tz
        self.more_before = False
        """Whether older messages remain to be loaded (set by the screen)."""
        self._more_after = False
        self.lookup: Lookup = lambda msg_id: None
        """Set by the screen: finds the parent a reply quotes."""
        self.time_format = TIME_FORMAT
        """Set by the screen: how the times of messages are written (`strftime`)."""
        self.selected: int | None = None
        """The msg_id of the selected message, if one is."""
        self._first: MessageLine | None = None
        self._last: MessageLine | None = None
        self._lines: dict[int, MessageLine] = {}  # the messages shown, so none is shown twice
        self._lock = asyncio.Lock()  # one change of the rows at a time, in order
        self._watching = False  # report reaching the top only after a settled layout
        self._rejoin = False  # a window back in time reached the present: follow it again

    def on_mount(self) -> None:
        """Stick to the bottom as messages arrive."""
        self.anchor()

    @property
    def more_after(self) -> bool:
        """Whether newer messages remain to be loaded: a window back in time (set by the
        screen). Once there are none, the pane sticks to the bottom again when the
        user reaches it."""
        return self._more_after

    @more_after.setter
    def more_after(self, more: bool) -> None:
        self._rejoin = self._rejoin or (self._more_after and not more)
        self._more_after = more

    def _rows(self, messages: Sequence[m.Message], day: date | None) -> list[Widget]:
        rows: list[Widget] = []
        for message in messages:
            line = MessageLine(
                message,
                me=self.me,
                tz=self.tz,
                parent=self._quoted(message),
                time_format=self.time_format,
            )
            self._lines[message.msg_id] = line
            if line.day != day:
                rows.append(DaySeparator(message.ts, self.tz))
                day = line.day
            rows.append(line)
        return rows

    def _ends(self, rows: list[Widget]) -> tuple[MessageLine | None, MessageLine | None]:
        lines = [row for row in rows if isinstance(row, MessageLine)]
        return (lines[0], lines[-1]) if lines else (None, None)

    async def show(self, messages: Sequence[m.Message], *, around: int | None = None) -> None:
        """Show these messages (oldest first) instead of what is there, at the bottom, or
        with the message `around` selected and in view."""
        async with self._lock:
            await self._show(list(messages), around)

    async def _show(self, messages: list[m.Message], around: int | None = None) -> None:
        self._watching = False
        await self.remove_children()
        self._lines.clear()
        rows = self._rows(messages, None)
        self._first, self._last = self._ends(rows)
        await self.mount_all(rows)
        if around is not None and around in self._lines:
            self.anchor(False)  # stay on it, whatever comes in or is redrawn
            self.call_after_refresh(self._select_around, around)
            return
        if self.selected not in self._lines:
            self.select(None)
        else:
            self._lines[self.selected].add_class("-selected")
        self._rejoin = False
        self.anchor()
        self.scroll_end(animate=False, immediate=True)
        self.call_after_refresh(self._settle)

    def _select_around(self, msg_id: int) -> None:
        self.select(msg_id)
        self._settle()

    async def append(self, messages: Sequence[m.Message], everything: Sequence[m.Message]) -> None:
        """Add new messages at the bottom (or redraw `everything` if one is out of order)."""
        async with self._lock:
            new = [message for message in messages if message.msg_id not in self._lines]
            if not new:
                return
            if self._last is not None and new[0].msg_id < self._last.msg_id:
                await self._show(list(everything))
                return
            rows = self._rows(new, self._last.day if self._last is not None else None)
            first, self._last = self._ends(rows)
            self._first = self._first or first
            await self.mount_all(rows)

    async def prepend(self, messages: Sequence[m.Message]) -> None:
        """Add an older page at the top, keeping the message being read in place."""
        async with self._lock:
            older = [message for message in messages if message.msg_id not in self._lines]
            if not older:
                return
            self._watching = False
            keep = self._first
            rows = self._rows(older, None)
            new_first, new_last = self._ends(rows)
            top = self.children[0] if self.children else None
            if isinstance(top, DaySeparator) and new_last and top.day == new_last.day:
                await top.remove()
            self._first = new_first
            self._last = self._last or new_last
            await self.mount_all(rows, before=0)
            self.call_after_refresh(self._keep_in_view, keep)

    def _keep_in_view(self, line: Widget | None) -> None:
        if line is not None:
            self.scroll_to_widget(line, top=True, animate=False, immediate=True)
        self._settle()

    def _settle(self) -> None:
        self._watching = True

    def _quoted(self, message: m.Message) -> m.Message | None:
        return self.lookup(message.reply_to) if message.reply_to is not None else None

    def redraw(self, ids: set[int]) -> None:
        """Draw again the messages `ids` (changed) and the replies quoting them."""
        for line in self._lines.values():
            if line.msg_id in ids:
                line.show(self.lookup(line.msg_id) or line.message, self._quoted(line.message))
            elif line.message.reply_to in ids:
                line.show(line.message, self._quoted(line.message))
        self.refresh_bindings()  # a deleted selection offers no more actions

    def reply_parents(self) -> set[int]:
        """The messages the replies shown quote but that are not at hand."""
        return {
            line.message.reply_to
            for line in self._lines.values()
            if line.message.reply_to is not None and self._quoted(line.message) is None
        }

    # -- selection ------------------------------------------------------------------

    def select(self, msg_id: int | None) -> None:
        """Select the message `msg_id` (None: none), and bring it into view."""
        old = self._lines.get(self.selected) if self.selected is not None else None
        if old is not None:
            old.remove_class("-selected")
        line = self._lines.get(msg_id) if msg_id is not None else None
        self.selected = line.msg_id if line is not None else None
        if line is not None:
            line.add_class("-selected")
            self.scroll_to_widget(line, animate=False, immediate=True)
        elif old is not None and not self.more_after:
            self.anchor()
        self.refresh_bindings()

    def selectable(self) -> list[MessageLine]:
        """The lines that may be selected, oldest first (not deleted messages)."""
        lines = sorted(self._lines.values(), key=lambda line: line.msg_id)
        return [line for line in lines if not line.message.deleted]

    def select_newest(self) -> bool:
        """Select the newest message; whether there was one."""
        lines = self.selectable()
        self.select(lines[-1].msg_id if lines else None)
        return bool(lines)

    def action_move(self, step: int) -> None:
        """Select the message before (-1) or after (1); past the newest, leave."""
        lines = self.selectable()
        ids = [line.msg_id for line in lines]
        if self.selected not in ids:
            if step < 0 and ids:
                self.select(ids[-1])
            return
        index = ids.index(self.selected) + step
        if index >= len(ids) and self.more_after:
            self.post_message(self.NeedNewer())
        elif index >= len(ids):
            self.action_leave()
        elif index < 0:
            if self.more_before:
                self.post_message(self.NeedOlder())
        else:
            self.select(ids[index])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer the message actions only while a message is selected."""
        if action == "leave":
            return self.selected is not None
        if action == "act":
            line = self._lines.get(self.selected) if self.selected is not None else None
            if parameters == ("quoted",):  # only a reply quotes
                return line is not None and line.message.reply_to is not None
            return line is not None and not line.message.deleted
        return True

    def action_act(self, action: ActionName) -> None:
        """Ask the screen to act on the selected message."""
        line = self._lines.get(self.selected) if self.selected is not None else None
        if line is not None and not line.message.deleted:
            self.post_message(self.Act(action, line.message))

    def action_leave(self) -> None:
        """Leave the selection; the screen puts the focus back on the input."""
        self.select(None)
        self.post_message(self.Left())

    async def note(self, text: str) -> None:
        """A line from the client (not a message), at the bottom."""
        async with self._lock:
            await self.mount(SystemLine(text))
            self.scroll_end(animate=False)

    @property
    def at_top(self) -> bool:
        """Whether the first row is in view."""
        return self.scroll_y <= 0

    @property
    def at_bottom(self) -> bool:
        """Whether the last row is in view."""
        return self.scroll_y >= self.max_scroll_y

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Ask for older messages when the user scrolls to the very top, for newer ones
        (in a window back in time) at the very bottom."""
        super().watch_scroll_y(old_value, new_value)
        if self._watching and self.more_before and new_value <= 0 < old_value:
            self.post_message(self.NeedOlder())
        bottom = self.max_scroll_y
        if self._watching and self.more_after and new_value >= bottom > old_value:
            self.post_message(self.NeedNewer())
        elif self._rejoin and new_value >= bottom:
            self._rejoin = False
            self.anchor()
