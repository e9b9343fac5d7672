"""Turning the admin API's plain data into Rich renderables, safely.

Every text that came from a user (names, bodies, reasons, even a mistyped
argument) is put in a `rich.text.Text`, never in a markup string, so `[bold]` is
shown as typed; and control characters are replaced by visible escapes first,
because Rich passes ESC through to the terminal untouched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from chat_srv.admin import ConnectedUser, PendingRequest, RoomSummary, SanctionView
from chat_srv.store.base import SanctionKind, StoredMessage

# Cc (C0, DEL, C1), the line and paragraph separators, and the bidirectional
# controls that can reorder what the terminal shows (the "Trojan Source" set).
_SPECIAL = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_INVISIBLE = re.compile(rf"[\x00-\x1f{_SPECIAL}]")
_MULTILINE_INVISIBLE = re.compile(rf"[\x00-\x08\x0b-\x1f{_SPECIAL}]")  # keeps \t and \n
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\x1b"}

ERROR_STYLE = "bold red"
KIND_LABELS = {SanctionKind.KICK: "kick", SanctionKind.BAN: "ban", SanctionKind.IP_BAN: "ip ban"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character spelled out (`\\x1b`, `\\u202e`).

    With `multiline`, newlines and tabs are kept (message bodies may hold them).
    """
    pattern = _MULTILINE_INVISIBLE if multiline else _INVISIBLE
    return pattern.sub(_escape, text)


def plain(text: str, style: str = "", *, multiline: bool = False) -> Text:
    """User text as a Rich `Text`: no markup, no control characters."""
    return Text(visible(text, multiline=multiline), style=style)


def line(*parts: str | Text) -> Text:
    """One line from our own words (`str`, shown as is) and user texts (`Text`).

    `str` parts are never parsed as markup either, so callers may embed user
    text in them only through `plain`.
    """
    return Text.assemble(*(part if isinstance(part, Text) else Text(part) for part in parts))


def error(message: str, usage: Iterable[str] = ()) -> Text:
    """A refused command: a one-line explanation, then the usage."""
    text = Text("error: ", style=ERROR_STYLE)
    text.append_text(plain(message, ERROR_STYLE))
    for form in usage:
        text.append("\nusage: ", style="dim")
        text.append(form)
    return text


def when(ms: int | None, never: str = "until lifted") -> str:
    """A time in ms since the epoch as local date and time."""
    if ms is None:
        return never
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def count(n: int, noun: str) -> str:
    """`1 room`, `2 rooms`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _empty(what: str) -> Text:
    return Text(f"no {what}", style="dim")


def users_table(users: list[ConnectedUser]) -> RenderableType:
    """The `users` command: one row per logged-in connection."""
    if not users:
        return _empty("user is connected")
    table = _table(count(len(users), "connection"), "user", "ip", "since", "rooms")
    for user in users:
        table.add_row(
            plain(user.name, "bold"),
            plain(user.ip or "?"),
            when(user.since),
            plain(", ".join(user.rooms)),
        )
    return table


def rooms_table(rooms: list[RoomSummary]) -> RenderableType:
    """The `rooms` command."""
    table = _table(count(len(rooms), "room"), "room", "approval", "members", "pending", "online")
    for room in rooms:
        table.add_row(
            plain(room.name, "bold"),
            "yes" if room.approval else "open",
            str(room.members),
            str(room.pending),
            str(room.online),
        )
    return table


def pending_table(requests: list[PendingRequest]) -> RenderableType:
    """The `pending rooms` command."""
    if not requests:
        return _empty("pending requests")
    table = _table(count(len(requests), "pending request"), "user", "room")
    for request in requests:
        table.add_row(plain(request.user, "bold"), plain(request.room))
    return table


def bans_table(sanctions: list[SanctionView]) -> RenderableType:
    """The `bans` command: kicks, user bans and IP bans in force."""
    if not sanctions:
        return _empty("active kicks or bans")
    table = _table(f"{len(sanctions)} in force", "kind", "target", "until", "reason", "since")
    for sanction in sanctions:
        table.add_row(
            KIND_LABELS[sanction.kind],
            plain(sanction.target, "bold"),
            when(sanction.until),
            plain(sanction.reason),
            when(sanction.created_at),
        )
    return table


MESSAGES_SHOWN = 500  # more would scroll the console away; narrow with a room or duration


def messages_table(messages: list[StoredMessage]) -> RenderableType:
    """The `messages` command: the newest `MESSAGES_SHOWN` messages, oldest first."""
    if not messages:
        return _empty("messages")
    shown = messages[-MESSAGES_SHOWN:]
    table = _table(count(len(messages), "message"), "time", "where", "from", "message")
    for message in shown:
        if message.room is not None:
            where = plain(message.room)
        else:
            where = line("→ ", plain(message.recipient or "?"))
        table.add_row(
            when(message.ts),
            where,
            plain(message.sender, "bold"),
            plain(message.body, multiline=True),
        )
    if len(shown) < len(messages):
        note = Text(
            f"only the newest {len(shown)} of {len(messages)} are shown; "
            "give a shorter duration or a room",
            style="dim",
        )
        return Group(table, note)
    return table


def help_table(entries: list[tuple[str, str]]) -> RenderableType:
    """The `help` command: usage and summary of each command."""
    table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
    table.add_column("usage", style="bold", no_wrap=True)
    table.add_column("summary")
    for usage, summary in entries:
        table.add_row(Text(usage), Text(summary))
    return table
