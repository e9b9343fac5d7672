"""The rows of the message pane: a message, a day separator, a line from the client."""

from __future__ import annotations

from datetime import date, tzinfo

from rich.rule import Rule
from rich.text import Text
from textual.widgets import Static

from chat_core import messages as m
from chat_tui.render import day_label, local_time, message_text
from chat_tui.state import mentions


class MessageLine(Static):
    """One message: time, sender, body (always plain text)."""

    def __init__(self, message: m.Message, *, me: str, tz: tzinfo | None) -> None:
        mine = message.sender == me
        mention = not mine and bool(mentions(message.text, me))
        classes = "-mine" if mine else ("-mention" if mention else "")
        super().__init__(message_text(message, me=me, tz=tz), markup=False, classes=classes)
        self.msg_id = message.msg_id
        self.day: date = local_time(message.ts, tz).date()


class DaySeparator(Static):
    """The date above the first message of each day."""

    def __init__(self, ts: int, tz: tzinfo | None) -> None:
        super().__init__(Rule(Text(day_label(ts, tz)), style="dim"), markup=False)
        self.day: date = local_time(ts, tz).date()


class SystemLine(Static):
    """A line from the client itself (command output, errors); not a message."""

    def __init__(self, text: str) -> None:
        super().__init__(Text(text), markup=False)
