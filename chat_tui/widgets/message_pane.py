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

Beside the messages it shows what the screen's `extras` give for the conversation
on screen: the client's own lines (notes, notices, joins), each after the message
it followed; a "new messages" line before the first unread one, where it opens
(when they do not all fit below it); and, at the bottom, the messages that wait to
be sent, dimmed, until the server has them. Scrolled up while messages arrive, it
says how many are below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import ClassVar, Literal

from rich.rule import Rule
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from chat_core import messages as m
from chat_tui.config import TIME_FORMAT
from chat_tui.conversation import Note, Outgoing
from chat_tui.render import name_colour, plain
from chat_tui.widgets.message_line import DaySeparator, MessageLine, SystemLine

Lookup = Callable[[int], m.Message | None]
"""msg_id -> the message as held now, if it is (to quote a reply's parent)."""

ActionName = Literal["edit", "delete", "reply", "react", "quoted"]


@dataclass
class Extras:
    """What the pane shows of the conversation on screen beside its messages."""

    notes: list[Note] = field(default_factory=list)
    waiting: list[Outgoing] = field(default_factory=list)  # sent, not confirmed yet
    marker: int | None = None  # the first unread message when it was opened
    cleared: int = 0  # the messages up to this one are not shown (`/clear`)


class NoteLine(SystemLine):
    """A line from the client kept with the conversation (`-notice`, `-join` by kind)."""

    def __init__(self, note: Note) -> None:
        super().__init__(plain(note.text))
        self.note = note
        self.add_class(f"-{note.kind}")


class WaitingLine(Static):
    """A message sent while the server cannot confirm it: dimmed, marked waiting."""

    def __init__(self, outgoing: Outgoing, me: str) -> None:
        text = Text.assemble(
            ("--:-- ", "dim"),
            ("* " if outgoing.action else "", ""),
            (me, f"bold {name_colour(me)}"),
            " ",
            plain(outgoing.body),
            ("  (waiting to be sent)", "italic"),
        )
        super().__init__(text, markup=False)
        self.nonce = outgoing.nonce


class NewMarker(Static):
    """The line above the first message unread when the conversation was opened."""

    def __init__(self) -> None:
        super().__init__(Rule(Text("new messages"), style="red"), markup=False)


class MoreBelow(Static):
    """At the bottom while scrolled up: how many messages arrived below."""


class MessagePane(VerticalScroll, can_focus=True):
    """The messages of the current room or conversation."""

    DEFAULT_CSS = """
    MessagePane > MoreBelow {
        dock: bottom;
        width: auto;
        padding: 0 1;
        background: $accent;
        color: $text;
        display: none;
    }
    MessagePane > MoreBelow.-shown {
        display: block;
    }
    MessagePane > WaitingLine {
        color: $text-muted;
        text-style: dim;
    }
    MessagePane > NoteLine.-notice {
        color: $text-warning;
        text-style: bold;
    }
    MessagePane > NoteLine.-join {
        text-style: dim;
    }
    """

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
        self.extras: Callable[[], Extras] = Extras
        """Set by the screen: the notes, the waiting messages and the read marker of
        the conversation on screen."""
        self._below = 0  # messages that arrived below while scrolled up
        self._more = MoreBelow()
        self.selected: int | None = None
        """The msg_id of the selected message, if one is."""
        self._first: MessageLine | None = None
        self._last: MessageLine | None = None
        self._lines: dict[int, MessageLine] = {}  # the messages shown, so none is shown twice
        self._lock = asyncio.Lock()  # one change of the rows at a time, in order
        self._watching = False  # report reaching the top only after a settled layout
        self._rejoin = False  # a window back in time reached the present: follow it again

    async def on_mount(self) -> None:
        """Stick to the bottom as messages arrive."""
        await self.mount(self._more)
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

    def _rows(
        self,
        messages: Sequence[m.Message],
        day: date | None,
        notes: Sequence[Note] = (),
        marker: int | None = None,
    ) -> list[Widget]:
        """The rows of `messages`, with each note after the message it followed."""
        rows: list[Widget] = []
        notes = sorted(notes, key=lambda note: note.after)  # stable: in the order written
        for message in messages:
            while notes and notes[0].after < message.msg_id:
                rows.append(NoteLine(notes.pop(0)))
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
            if message.msg_id == marker:
                rows.append(NewMarker())
            rows.append(line)
        rows.extend(NoteLine(note) for note in notes)
        return rows

    def _bottom(self) -> Widget | None:
        """The first waiting line, before which new rows go (None: at the end)."""
        waiting = self.query_children(WaitingLine)
        return waiting.first() if waiting else None

    async def _mount_rows(self, rows: list[Widget]) -> None:
        bottom = self._bottom()
        if bottom is not None:
            await self.mount_all(rows, before=bottom)
        else:
            await self.mount_all(rows)

    async def _sync_waiting(self, waiting: Sequence[Outgoing]) -> None:
        """Show the messages waiting to be sent, at the bottom; drop those sent."""
        nonces = {outgoing.nonce for outgoing in waiting}
        shown = {line.nonce: line for line in self.query_children(WaitingLine)}
        gone = [line for nonce, line in shown.items() if nonce not in nonces]
        if gone:
            await self.remove_children(gone)
        new = [
            WaitingLine(outgoing, self.me) for outgoing in waiting if outgoing.nonce not in shown
        ]
        if new:
            await self.mount_all(new)
            self._follow()

    async def show_waiting(self) -> None:
        """Show the messages waiting to be sent as the screen's `extras` give them."""
        async with self._lock:
            await self._sync_waiting(self.extras().waiting)

    def _follow(self) -> None:
        """Scroll to the bottom if following it (what one sends is seen at once)."""
        if self.at_bottom or self.is_anchored:
            self.scroll_end(animate=False)

    def _count_below(self, added: int) -> None:
        """Count `added` more messages below (0: none are, back at the bottom)."""
        self._below = self._below + added if added else 0
        self._more.update(f"more below ↓ {self._below}")
        self._more.set_class(self._below > 0, "-shown")

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
        extras = self.extras()
        await self.remove_children([child for child in self.children if child is not self._more])
        self._lines.clear()
        self._count_below(0)
        messages = [message for message in messages if message.msg_id > extras.cleared]
        rows = self._rows(messages, None, extras.notes, extras.marker)
        self._first, self._last = self._ends(rows)
        await self.mount_all(rows)
        await self._sync_waiting(extras.waiting)
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
        marker = self.query_children(NewMarker)
        if marker and self.selected is None:  # open at the first unread, if it is out of view
            self.call_after_refresh(self._to_marker, marker.first())
        self.call_after_refresh(self._settle)

    def _to_marker(self, marker: Widget) -> None:
        if marker.region.y < self.content_region.y:  # above the top: start there
            self.anchor(False)
            self._rejoin = True  # back to following the newest once at the bottom
            self.scroll_to_widget(marker, top=True, animate=False, immediate=True)

    def _select_around(self, msg_id: int) -> None:
        self.select(msg_id)
        self._settle()

    async def append(self, messages: Sequence[m.Message], everything: Sequence[m.Message]) -> None:
        """Add new messages at the bottom (or redraw `everything` if one is out of order)."""
        async with self._lock:
            extras = self.extras()
            new = [
                message
                for message in messages
                if message.msg_id not in self._lines and message.msg_id > extras.cleared
            ]
            if new and self._last is not None and new[0].msg_id < self._last.msg_id:
                await self._show(list(everything))
                return
            if new:
                below = not self.at_bottom and not self.more_after
                rows = self._rows(new, self._last.day if self._last is not None else None)
                first, self._last = self._ends(rows)
                self._first = self._first or first
                await self._mount_rows(rows)
                if below:
                    self._count_below(len(new))
            await self._sync_waiting(extras.waiting)

    async def prepend(self, messages: Sequence[m.Message]) -> None:
        """Add an older page at the top, keeping the message being read in place."""
        async with self._lock:
            cleared = self.extras().cleared
            older = [
                message
                for message in messages
                if message.msg_id not in self._lines and message.msg_id > cleared
            ]
            if not older:
                return
            self._watching = False
            keep = self._first
            rows = self._rows(older, None)
            new_first, new_last = self._ends(rows)
            top = self._top()
            if isinstance(top, DaySeparator) and new_last and top.day == new_last.day:
                await top.remove()
                top = self._top()
            self._first = new_first
            self._last = self._last or new_last
            if top is not None:
                await self.mount_all(rows, before=top)
            else:
                await self._mount_rows(rows)
            self.call_after_refresh(self._keep_in_view, keep)

    def _top(self) -> Widget | None:
        """The first row (not the count of messages below)."""
        return next((child for child in self.children if child is not self._more), None)

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

    async def note(self, note: Note | str) -> None:
        """A line from the client (not a message), at the bottom (above the messages
        waiting to be sent)."""
        async with self._lock:
            await self._mount_rows([NoteLine(note if isinstance(note, Note) else Note(note))])
            self.scroll_end(animate=False)

    @property
    def at_top(self) -> bool:
        """Whether the first row is in view."""
        return self.scroll_y <= 0

    @property
    def at_bottom(self) -> bool:
        """Whether the last row is in view (always, when every row fits: the offset is
        then below zero while following the bottom)."""
        return self.max_scroll_y <= 0 or self.scroll_y >= self.max_scroll_y

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
        if self._below and new_value >= bottom:
            self._count_below(0)
