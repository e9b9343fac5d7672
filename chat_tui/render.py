"""How things look: message lines, name colours, times, dates and error sentences.

Every text from a user becomes a Rich `Text` built from plain strings, never from
markup, and control characters are shown as visible symbols: a body holding
`[bold red]x[/]` or an escape sequence prints exactly those characters.
"""

from __future__ import annotations

import math
import re
import time
import zlib
from datetime import datetime, tzinfo

from rich.cells import cell_len
from rich.text import Text

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_core.names import name_key
from chat_tui.conversation import mentions

PALETTE = (
    "#e06c75",
    "#98c379",
    "#e5c07b",
    "#61afef",
    "#c678dd",
    "#56b6c2",
    "#d19a66",
    "#ff87d7",
    "#87d787",
    "#87afff",
    "#d7af5f",
    "#5fd7d7",
)
"""Name colours, readable on a dark background."""

MENTION_STYLE = "bold reverse"
REACTED_STYLE = "reverse"  # a reaction the user is among
MUTED_STYLE = "dim"  # the edited marker, quotes, placeholders
QUOTE_CHARS = 60  # at most, of a parent's first line in a reply's quote (in cells)
INDENT = " " * 6  # under the time: quotes and reactions line up with the sender
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def name_colour(name: str) -> str:
    """The colour of a user's name: the same on every run and in every client."""
    return PALETTE[zlib.crc32(name_key(name).encode()) % len(PALETTE)]


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC shows as ␛
    if code == 0x7F:
        return "\u2421"
    return f"\\x{code:02x}"


def plain(text: str) -> str:
    """`text` with every control character but newline and tab made visible."""
    return _CONTROLS.sub(_visible, text)


def local_time(ts: int, tz: tzinfo | None) -> datetime:
    """A protocol time (ms since the epoch, UTC) in `tz` (None: the local zone)."""
    return datetime.fromtimestamp(ts / 1000, tz).astimezone(tz)


def day_label(ts: int, tz: tzinfo | None) -> str:
    """The day of a message, as a separator shows it: `Tuesday 3 June 2025`."""
    when = local_time(ts, tz)
    return f"{when:%A} {when.day} {when:%B %Y}"


def until_label(ts: int, tz: tzinfo | None) -> str:
    """An end time in plain words: `14:05 on 3 June 2025`."""
    when = local_time(ts, tz)
    return f"{when:%H:%M} on {when.day} {when:%B %Y}"


def until_words(until: int, tz: tzinfo | None, now: int | None = None) -> str:
    """How long something lasts from `now` (ms, the server's time; None: this
    machine's): `for 30 s, until 18:24:13` under an hour, `until 14:05 on 3 June
    2025` beyond."""
    now = now if now is not None else int(time.time() * 1000)
    left = math.ceil((until - now) / 1000)
    if not 0 < left < 3600:
        return f"until {until_label(until, tz)}"
    minutes, seconds = divmod(left, 60)
    length = f"{minutes} min {seconds} s" if minutes and seconds else f"{minutes} min"
    return f"for {length if minutes else f'{seconds} s'}, until {local_time(until, tz):%H:%M:%S}"


def message_text(
    message: m.Message,
    *,
    me: str,
    tz: tzinfo | None,
    parent: m.Message | None = None,
    width: int | None = None,
) -> Text:
    """One message: time, sender in their colour, body as plain text.

    A reply has a one-line quote of its `parent` above it, cut to `width` cells (or
    its number, when the parent is not at hand); an action reads `* alice waves`; an
    edited message ends with `(edited)`, a deleted one is a placeholder; reactions
    follow on a line of their own.
    """
    line = Text(no_wrap=False)
    if message.reply_to is not None:
        room = None if width is None else width - len(INDENT)
        line.append(INDENT + quote(message.reply_to, parent, room) + "\n", style=MUTED_STYLE)
    line.append(f"{local_time(message.ts, tz):%H:%M} ", style="dim")
    if message.action and not message.deleted:
        line.append("* ")
    line.append(message.sender, style=f"bold {name_colour(message.sender)}")
    line.append(" ")
    if message.deleted:
        line.append("message deleted", style=f"{MUTED_STYLE} italic")
        return line
    body = plain(message.text)
    start = len(line)
    line.append(body)
    if name_key(message.sender) != name_key(me):
        for begin, end in mentions(body, me):
            line.stylize(MENTION_STYLE, start + begin, start + end)
    if message.edited is not None:
        line.append(" (edited)", style=MUTED_STYLE)
    if message.reactions:
        line.append("\n" + INDENT)
        line.append_text(reactions_text(message.reactions, me))
    return line


def reactions_text(reactions: m.Reactions, me: str) -> Text:
    """`👍 2  🎉 1`, the ones the user `me` is among highlighted."""
    text = Text()
    for emoji, users in reactions.items():
        if text:
            text.append("  ")
        mine = any(name_key(user) == name_key(me) for user in users)
        text.append(f"{plain(emoji)} {len(users)}", style=REACTED_STYLE if mine else "")
    return text


def first_line(text: str, limit: int = QUOTE_CHARS) -> str:
    """The first line of `text` as plain text, at most `limit` cells (cut with `…`)."""
    lines = text.strip().split("\n", 1)
    line = plain(lines[0]).strip()
    more = len(lines) > 1
    if cell_len(line) + more <= limit:
        return line + ("…" if more else "")
    cut = Text(line)
    cut.truncate(max(limit - 1, 0), overflow="crop")
    return cut.plain.rstrip() + "…"


def quote(msg_id: int, parent: m.Message | None, width: int | None = None) -> str:
    """The line above a reply: `↪ alice: first line…` (in `width` cells, if given), or
    `↪ message #N` when the parent is not at hand."""
    if parent is None:
        return f"↪ message #{msg_id}"
    if parent.deleted:
        return f"↪ {parent.sender}: message deleted"
    head = f"↪ * {parent.sender} " if parent.action else f"↪ {parent.sender}: "
    limit = QUOTE_CHARS if width is None else min(QUOTE_CHARS, width - cell_len(head))
    return head + first_line(parent.text, max(limit, 8))


def describe_error(error: ProtocolError, tz: tzinfo | None) -> str:
    """A refused login or request, in plain words."""
    code = error.code
    if code == ErrorCode.AUTH_FAILED:
        return "Wrong user name or password."
    if code == ErrorCode.USER_EXISTS:
        return f"That user name is not available ({plain(error.message)}); choose another one."
    if code in (ErrorCode.INVALID_NAME, ErrorCode.INVALID_PASSWORD):
        return f"Not accepted: {error.message}."
    if code == ErrorCode.KICKED:
        return "You were kicked" + _until_reason(error.details, tz)
    if code == ErrorCode.BANNED:
        reason = error.details.get("reason")
        return "This account is banned" + (f": {plain(reason)}" if reason else "") + "."
    if code == ErrorCode.RATE_LIMITED:
        wait = error.details.get("retry_after_ms")
        after = f" Try again in {math.ceil(wait / 1000)} s." if isinstance(wait, int) else ""
        return f"Slow down: {plain(error.message)}.{after}"
    if code == ErrorCode.UNAVAILABLE:
        return "The server's storage is unavailable; try again."
    if code == ErrorCode.FORBIDDEN:
        return f"Not allowed: {plain(error.message)}."
    if code == ErrorCode.NO_SUCH_MESSAGE:
        return "That message is gone (or was never one you can see)."
    return plain(error.message[:1].upper() + error.message[1:]) + "."


def _until_reason(details: dict[str, object], tz: tzinfo | None) -> str:
    until, reason = details.get("until"), details.get("reason")
    text = f" {until_words(until, tz)}." if isinstance(until, int) else "."
    return text + (f" Reason: {plain(reason)}" if isinstance(reason, str) and reason else "")


DISCONNECT_TITLES = {
    DisconnectReason.KICKED: "You were kicked",
    DisconnectReason.BANNED: "You were banned",
    DisconnectReason.KILLED: "An administrator closed your session",
    DisconnectReason.SHUTDOWN: "The server is shutting down",
    DisconnectReason.SLOW_CONSUMER: "Disconnected: too slow to read",
    DisconnectReason.PROTOCOL_ERROR: "Disconnected: protocol error",
    DisconnectReason.IDLE: "Disconnected: idle for too long",
}


# What the server's words for each reason start with, when they only say it again
# before the reason: `you are kicked: spam` under the title `You were kicked`.
_SAID_AGAIN = {
    DisconnectReason.KICKED: ("you are kicked",),
    DisconnectReason.BANNED: ("you are banned", "banned"),
    DisconnectReason.KILLED: ("disconnected by the administrator",),
}


def describe_disconnect(
    event: m.Disconnect, tz: tzinfo | None, now: int | None = None
) -> tuple[str, str]:
    """A `disconnect` event as a title and a sentence that does not say the title
    again (`""` when the server's words only do), with a kick's end in local time,
    from `now` (the server's time, in ms; None: this machine's)."""
    title = DISCONNECT_TITLES.get(event.reason, "Disconnected")
    said = plain(event.text).strip()
    head, colon, reason = said.partition(": ")
    if colon and head.lower() in _SAID_AGAIN.get(event.reason, ()):
        said = f"Reason: {reason.strip()}"
    elif said.rstrip(".").lower() == title.lower():
        said = ""
    text = said[:1].upper() + said[1:]
    if event.until is not None:
        words = until_words(event.until, tz, now)
        text += ("\n" if text else "") + f"{words[:1].upper()}{words[1:]} (local time)."
    return title, text


def disconnect_summary(title: str, text: str) -> str:
    """A disconnection's title and sentence together: `You were kicked. Reason: spam`."""
    return f"{title}. {text}" if text else f"{title}."
