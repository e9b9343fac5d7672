"""How things look: message lines, name colours, times, dates and error sentences.

Every text from a user becomes a Rich `Text` built from plain strings, never from
markup, and control characters are shown as visible symbols: a body holding
`[bold red]x[/]` or an escape sequence prints exactly those characters. So are the
characters that would reorder the text around them or show nothing at all (bidi
controls, zero-width spaces and the other default-ignorable code points): they read
`<U+202E>`, dimmed, so nobody can turn or hide text on another user's screen. Right-
to-left letters, and the joiners and variation selectors of emoji sequences (and
of Persian words), stay as they are. Web addresses in messages are links (OSC 8)
in the terminals that have them.
"""

from __future__ import annotations

import math
import re
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, tzinfo

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_core.names import name_key
from chat_tui.config import TIME_FORMAT
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
ESCAPE_STYLE = "dim"  # a control or invisible character, shown as a symbol or `<U+…>`
_CONTROL = r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but newline and tab, DEL, C1
# Unicode's default-ignorable code points (DerivedCoreProperties.txt), bidi controls
# among them, with the Hangul fillers (letters that draw nothing) and the line and
# paragraph separators; the variation selectors apart, as a joiner may follow one.
_IGNORABLE = (
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    r"\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff0-\ufff8"
    r"\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_SELECTORS = r"\ufe00-\ufe0f"
_NEUTRALISE = re.compile(
    # A subdivision flag (🏴, tag letters, CANCEL TAG) is one emoji: kept.
    r"(?P<flag>\U0001f3f4[\U000e0020-\U000e007e]{1,32}\U000e007f)"
    # ZWNJ or ZWJ between visible characters past ASCII (Persian and Indic words,
    # emoji sequences): kept.
    rf"|(?P<joiner>(?<=[^\s\x00-\x7f{_CONTROL}{_IGNORABLE}])[\u200c\u200d]"
    rf"(?=[^\s\x00-\x7f{_CONTROL}{_IGNORABLE}{_SELECTORS}]))"
    # One variation selector after a visible character (emoji presentation): kept.
    rf"|(?P<variant>(?<=[^\s{_CONTROL}{_IGNORABLE}{_SELECTORS}])[{_SELECTORS}])"
    rf"|(?P<escape>[{_CONTROL}{_IGNORABLE}{_SELECTORS}])"
)

# A web address, up to white space or what cannot be in one unescaped (nor is in an
# escape `plain` shows: `<U+202E>`), so a link never holds a control character.
_URL = re.compile(r"(?P<scheme>https?://)[^\s<>\"`{}|\\^\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)


def name_colour(name: str) -> str:
    """The colour of a user's name: the same on every run and in every client."""
    return PALETTE[zlib.crc32(name_key(name).encode()) % len(PALETTE)]


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ESC shows as ␛
    if code == 0x7F:
        return "\u2421"
    if code <= 0x9F:
        return f"\\x{code:02x}"  # C1
    return f"<U+{code:04X}>"


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """`text` as runs of characters shown as they are (False) and the visible forms
    of those that may not be (True)."""
    start = 0
    for match in _NEUTRALISE.finditer(text):
        if match.lastgroup != "escape":
            continue
        if match.start() > start:
            yield text[start : match.start()], False
        yield _visible(match.group()), True
        start = match.end()
    if start < len(text):
        yield text[start:], False


def plain(text: str) -> str:
    """`text` with every control character but newline and tab, and every character
    that reorders text or shows nothing, made visible (`␛`, `<U+202E>`)."""
    return "".join(piece for piece, _ in _pieces(text))


def safe(text: str, style: str = "") -> Text:
    """`plain(text)` as a `Text` in `style`, what was made visible dimmed."""
    shown = Text(style=style)
    for piece, escaped in _pieces(text):
        shown.append(piece, style=ESCAPE_STYLE if escaped else None)
    return shown


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
    time_format: str = TIME_FORMAT,
) -> Text:
    """One message: time (as `time_format` writes it), sender in their colour, body as
    plain text.

    A reply has a one-line quote of its `parent` above it, cut to `width` cells (or
    its number, when the parent is not at hand); an action reads `* alice waves`; an
    edited message ends with `(edited)`, a deleted one is a placeholder; reactions
    follow on a line of their own.
    """
    line = Text(no_wrap=False)
    time = plain(local_time(message.ts, tz).strftime(time_format))
    indent = " " * (cell_len(time) + 1)  # quotes and reactions line up with the sender
    if message.reply_to is not None:
        room = None if width is None else width - len(indent)
        line.append(indent + quote(message.reply_to, parent, room) + "\n", style=MUTED_STYLE)
    line.append(f"{time} ", style="dim")
    if message.action and not message.deleted:
        line.append("* ")
    line.append_text(safe(message.sender, f"bold {name_colour(message.sender)}"))
    line.append(" ")
    if message.deleted:
        line.append("message deleted", style=f"{MUTED_STYLE} italic")
        return line
    shown = safe(message.text)
    body = shown.plain
    start = len(line)
    line.append_text(shown)
    for begin, end, url in links(body):
        line.stylize(Style(link=url, underline=True), start + begin, start + end)
    if name_key(message.sender) != name_key(me):
        for begin, end in mentions(body, me):
            line.stylize(MENTION_STYLE, start + begin, start + end)
    if message.edited is not None:
        line.append(" (edited)", style=MUTED_STYLE)
    if message.reactions:
        line.append("\n" + indent)
        line.append_text(reactions_text(message.reactions, me))
    return line


def links(text: str) -> list[tuple[int, int, str]]:
    """The web addresses in `text` (as shown: made `plain` first), where each starts
    and ends, without the punctuation that ends a sentence or closes a bracket."""
    found = []
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:!?'\"")
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(".,;:!?'\"")
        if len(url) > len(match.group("scheme")):
            found.append((match.start(), match.start() + len(url), url))
    return found


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
    if code == ErrorCode.INTERNAL:
        return "The server failed to do that (an error on its side); try again later."
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


# The server's words for some disconnections, said here once, as a title: the whole
# words (`you were not reading fast enough`), or what comes before `: ` (the reason
# follows) or `; ` (what to do follows), as in `you are kicked: spam`.
_SAID_AS = {
    DisconnectReason.KICKED: {"you are kicked": "You were kicked"},
    DisconnectReason.BANNED: {
        "you are banned": "You were banned",
        "banned": "This address is banned",
        "this address is banned": "This address is banned",
    },
    DisconnectReason.KILLED: {
        "disconnected by the administrator": "An administrator closed your session"
    },
    DisconnectReason.SLOW_CONSUMER: {
        "you were not reading fast enough": "Disconnected: too slow to read"
    },
    DisconnectReason.IDLE: {"no login in time": "Disconnected: no login in time"},
    DisconnectReason.PROTOCOL_ERROR: {
        "the server is full": "The server is full",
        "too many connections from your address": "Too many connections from your address",
        "too many requests": "Disconnected: too many requests",
        "too many requests: flooding": "Disconnected: too many requests",
    },
}


def _said_once(reason: DisconnectReason, said: str) -> tuple[str, str]:
    """A title for the server's words `said`, and what they add to it."""
    known = _SAID_AS.get(reason, {})
    title = DISCONNECT_TITLES.get(reason, "Disconnected")
    whole = said.rstrip(".").lower()
    if whole == title.lower():
        return title, ""
    if whole in known:
        return known[whole], ""
    for separator, lead in ((": ", "Reason: "), ("; ", "")):
        head, found, rest = said.partition(separator)
        if found and head.lower() in known and rest.strip():
            return known[head.lower()], lead + rest.strip()
    return title, said


def describe_disconnect(
    event: m.Disconnect, tz: tzinfo | None, now: int | None = None
) -> tuple[str, str]:
    """A `disconnect` event as a title and a sentence that does not say the title
    again (`""` when the server's words only do), with a kick's end in local time,
    from `now` (the server's time, in ms; None: this machine's)."""
    title, said = _said_once(event.reason, plain(event.text).strip())
    text = said[:1].upper() + said[1:]
    if event.until is not None:
        words = until_words(event.until, tz, now)
        text += ("\n" if text else "") + f"{words[:1].upper()}{words[1:]} (local time)."
    return title, text


def disconnect_summary(title: str, text: str) -> str:
    """A disconnection's title and sentence together: `You were kicked. Reason: spam`."""
    return f"{title}. {text}" if text else f"{title}."
