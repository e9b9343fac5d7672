"""The rows of the message pane: a message, a day separator, a line from the client."""

from __future__ import annotations

from datetime import date, tzinfo

from rich.cells import cell_len
from rich.rule import Rule
from rich.text import Text
from textual.widgets import Static

from chat_core import messages as m
from chat_core.names import name_key
from chat_tui.config import TIME_FORMAT
from chat_tui.conversation import mentions
from chat_tui.render import day_label, local_time, message_text, plain


class MessageLine(Static):
    """One message: time, sender, body (always plain text), and what became of it.

    Args:
        message: The message, as it is now.
        me: The user's name (their messages and mentions of them look different).
        tz: The time zone of times.
        parent: The message it replies to, when it is one and that is at hand.
        time_format: How its time is written (`strftime`).
    """

    def __init__(
        self,
        message: m.Message,
        *,
        me: str,
        tz: tzinfo | None,
        parent: m.Message | None = None,
        time_format: str = TIME_FORMAT,
    ) -> None:
        super().__init__(markup=False)
        self.me = me
        self.tz = tz
        self.time_format = time_format
        self.message = message
        self.quoted = parent
        """The message this one replies to, when it is one and that is at hand."""
        self.msg_id = message.msg_id
        self.day: date = local_time(message.ts, tz).date()
        self._width: int | None = None  # the width the quote was cut for
        self.show(message, parent)

    def show(self, message: m.Message, parent: m.Message | None = None) -> None:
        """Draw `message` (a new state of the same one) with its reply's quote."""
        self.message, self.quoted = message, parent
        mine = name_key(message.sender) == name_key(self.me)
        self.set_class(mine, "-mine")
        self.set_class(not mine and bool(mentions(message.text, self.me)), "-mention")
        self.set_class(message.deleted, "-deleted")
        self._draw()

    def _draw(self) -> None:
        self._width = self.content_size.width or None
        text = message_text(
            self.message,
            me=self.me,
            tz=self.tz,
            parent=self.quoted,
            width=self._width,
            time_format=self.time_format,
        )
        self.update(self._indented(text))

    def _indented(self, text: Text) -> Text:
        """The body's lines after its first start under the first one's text (past
        the time and the sender), so a message of several lines reads as one."""
        body = "" if self.message.deleted else plain(self.message.text)
        whole = text.plain
        start = whole.find(body, whole.index("\n") + 1 if self.message.reply_to else 0)
        if "\n" not in body or start < 0:
            return text
        indent = " " * cell_len(whole[whole.rfind("\n", 0, start) + 1 : start])
        out, done = text.blank_copy(), 0
        for index in range(start, start + len(body)):
            if whole[index] == "\n" and whole[index + 1 : index + 2] not in ("\n", ""):
                out.append_text(text[done : index + 1])
                out.append(indent)
                done = index + 1
        out.append_text(text[done:])
        return out

    def on_resize(self) -> None:
        """Cut a reply's quote to the new width (it stays one line)."""
        if self.message.reply_to is not None and self.content_size.width != self._width:
            # After this refresh: a layout asked for during a resize is not carried out.
            self.call_after_refresh(self._draw)


class DaySeparator(Static):
    """The date above the first message of each day."""

    def __init__(self, ts: int, tz: tzinfo | None) -> None:
        super().__init__(Rule(Text(day_label(ts, tz)), style="dim"), markup=False)
        self.day: date = local_time(ts, tz).date()


class SystemLine(Static):
    """A line from the client itself (command output, errors); not a message."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(text), markup=False)
