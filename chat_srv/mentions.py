"""Mentions: the users a message names as `@name`.

`@` starts a mention where it does not follow a name character (so `bob@example.org`
mentions no one), and the name runs to the next character that cannot be in a name.
Names end a sentence too: `thanks @alice.` mentions `alice`, since trailing dots and
dashes that make no known name are dropped. Names match case-insensitively, by the
same key as logins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from chat_core.names import USER_NAME_MAX, name_key

T = TypeVar("T")

# A name character is `\w`, `.` or `-` (chat_core.names); `@` itself may not precede.
_MENTION = re.compile(r"(?<![\w.@-])@([\w.-]+)")


def mentioned(body: str, find: Callable[[str], T | None]) -> list[T]:
    """The users `body` mentions, in order of first mention, each once.

    `find` looks a name key up (None: nobody of that name).
    """
    if "@" not in body:
        return []
    found: dict[int, T] = {}
    for match in _MENTION.finditer(body):
        word = match.group(1)
        while word:
            if len(word) <= USER_NAME_MAX:
                user = find(name_key(word))
                if user is not None:
                    found.setdefault(id(user), user)
                    break
            if word[-1] not in ".-":
                break
            word = word[:-1]
    return list(found.values())
