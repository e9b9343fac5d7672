"""Rules for user names, room names, passwords and message bodies.

Names are compared by their uniqueness key: NFC normalisation, then casefold, so
`Général`, `GÉNÉRAL` and a decomposed `Ge\u0301ne\u0301ral` are one room. Names are
normalised to NFC on the way in and otherwise kept as typed.
"""

from __future__ import annotations

import re
import unicodedata

from chat_core.errors import ErrorCode, ProtocolError

USER_NAME_MAX = 32
ROOM_NAME_MAX = 60
PASSWORD_MIN = 8
PASSWORD_MAX = 256
BODY_MAX_CHARS = 4000
BODY_MAX_BYTES = 16 * 1024
NONCE_MAX = 64
EMOJI_MAX = 16

# `\w` on str patterns is Unicode letters and digits (str.isalnum) plus `_`.
_NAME_CHARS = re.compile(r"[\w.-]+")
# Unicode category Cc is exactly U+0000..U+001F and U+007F..U+009F.
_FORBIDDEN_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional formatting characters: they reorder the text around them.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def name_key(name: str) -> str:
    """The case-insensitive uniqueness key of a user or room name."""
    return unicodedata.normalize("NFC", name).casefold()


def _check_name(name: str, maximum: int, what: str) -> str:
    name = unicodedata.normalize("NFC", name)
    if not 1 <= len(name) <= maximum or _NAME_CHARS.fullmatch(name) is None:
        raise ProtocolError(
            ErrorCode.INVALID_NAME,
            f"a {what} name is 1 to {maximum} letters, digits, '_', '-' or '.'",
        )
    return name


def check_user_name(name: str) -> str:
    """Return `name` in NFC if it is a valid user name, else raise `invalid_name`."""
    return _check_name(name, USER_NAME_MAX, "user")


def check_room_name(name: str) -> str:
    """Return `name` in NFC if it is a valid room name, else raise `invalid_name`."""
    return _check_name(name, ROOM_NAME_MAX, "room")


def check_password(password: str) -> None:
    """Raise `invalid_password` unless the password has 8 to 256 characters."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ProtocolError(
            ErrorCode.INVALID_PASSWORD,
            f"a password has {PASSWORD_MIN} to {PASSWORD_MAX} characters",
        )


def has_forbidden_controls(text: str) -> bool:
    """Whether `text` holds a control character other than newline and tab."""
    return _FORBIDDEN_CONTROLS.search(text) is not None


def has_controls(text: str) -> bool:
    """Whether `text` holds any control character, newline and tab included."""
    return _ANY_CONTROL.search(text) is not None


def body_problem(body: str) -> str | None:
    """Why `body` is not a valid message body, or None if it is."""
    if not body or len(body) > BODY_MAX_CHARS:
        return f"a message body has 1 to {BODY_MAX_CHARS} characters"
    if body.isspace():
        return "a message body cannot be only white space"
    if has_forbidden_controls(body):
        return "a message body cannot hold control characters other than newline and tab"
    if (
        len(body) * 4 > BODY_MAX_BYTES
        and len(body.encode("utf-8", "surrogatepass")) > BODY_MAX_BYTES
    ):
        return f"a message body is at most {BODY_MAX_BYTES} bytes of UTF-8"
    return None


def check_body(body: str) -> None:
    """Raise `bad_request` unless `body` is a valid message body."""
    problem = body_problem(body)
    if problem is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, problem)


def check_emoji(emoji: str) -> None:
    """Raise `bad_request` unless `emoji` can be a reaction.

    1 to 16 characters with something visible (not only joiners, variation
    selectors or combining marks, which emoji sequences are made of), no white
    space, no control character and no bidirectional formatting.
    """
    if (
        not 1 <= len(emoji) <= EMOJI_MAX
        or any(char.isspace() or unicodedata.category(char) == "Cc" for char in emoji)
        or _BIDI_CONTROLS.search(emoji) is not None
        or all(unicodedata.category(char)[0] in "MC" for char in emoji)
    ):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST,
            f"a reaction is 1 to {EMOJI_MAX} visible characters, without spaces",
        )
