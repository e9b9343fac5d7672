"""The message pane: one conversation's messages, with a separator for each day.

The screen hands it messages (`show`, `append`, `prepend`); it asks for older ones
with `NeedOlder` when the user scrolls to the top. It stays at the bottom while
new messages arrive, unless the user has scrolled up to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, tzinfo

from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget

from chat_core import messages as m
from chat_tui.widgets.message_line import DaySeparator, MessageLine, SystemLine


class MessagePane(VerticalScroll, can_focus=True):
    """The messages of the current room or conversation."""

    class NeedOlder(Message):
        """The user reached the top: load the page before the oldest message."""

    def __init__(self, *, me: str, tz: tzinfo | None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.me = me
        self.tz = tz
        self.more_before = False
        """Whether older messages remain to be loaded (set by the screen)."""
        self._first: MessageLine | None = None
        self._last: MessageLine | None = None
        self._ids: set[int] = set()  # the messages shown, so none is shown twice
        self._lock = asyncio.Lock()  # one change of the rows at a time, in order
        self._watching = False  # report reaching the top only after a settled layout

    def on_mount(self) -> None:
        """Stick to the bottom as messages arrive."""
        self.anchor()

    def _rows(self, messages: Sequence[m.Message], day: date | None) -> list[Widget]:
        rows: list[Widget] = []
        for message in messages:
            self._ids.add(message.msg_id)
            line = MessageLine(message, me=self.me, tz=self.tz)
            if line.day != day:
                rows.append(DaySeparator(message.ts, self.tz))
                day = line.day
            rows.append(line)
        return rows

    def _ends(self, rows: list[Widget]) -> tuple[MessageLine | None, MessageLine | None]:
        lines = [row for row in rows if isinstance(row, MessageLine)]
        return (lines[0], lines[-1]) if lines else (None, None)

    async def show(self, messages: Sequence[m.Message]) -> None:
        """Show these messages (oldest first) instead of what is there, at the bottom."""
        async with self._lock:
            await self._show(list(messages))

    async def _show(self, messages: list[m.Message]) -> None:
        self._watching = False
        await self.remove_children()
        self._ids.clear()
        rows = self._rows(messages, None)
        self._first, self._last = self._ends(rows)
        await self.mount_all(rows)
        self.scroll_end(animate=False, immediate=True)
        self.call_after_refresh(self._settle)

    async def append(self, messages: Sequence[m.Message], everything: Sequence[m.Message]) -> None:
        """Add new messages at the bottom (or redraw `everything` if one is out of order)."""
        async with self._lock:
            new = [message for message in messages if message.msg_id not in self._ids]
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
            older = [message for message in messages if message.msg_id not in self._ids]
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

    async def note(self, text: str) -> None:
        """A line from the client (not a message), at the bottom."""
        async with self._lock:
            await self.mount(SystemLine(text))
            self.scroll_end(animate=False)

    @property
    def at_top(self) -> bool:
        """Whether the first row is in view."""
        return self.scroll_y <= 0

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Ask for older messages when the user scrolls to the very top."""
        super().watch_scroll_y(old_value, new_value)
        if self._watching and self.more_before and new_value <= 0 < old_value:
            self.post_message(self.NeedOlder())
