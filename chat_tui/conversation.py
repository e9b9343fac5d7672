"""A room or a conversation, and the messages the client holds of it.

`Target` names one (a room or a peer, compared by the name's key); `Conversation`
keeps its messages by `msg_id`, so a message seen twice (an event and a history
page, or a catch-up after a reconnection) is kept once, and a message that changed
replaces the one held. The messages held are always a run with no gap: from the
oldest held to the newest on the server, or, after a jump back in time to a message
(`more_after`), a window around it that newer pages extend. No I/O here.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from chat_core import messages as m
from chat_core.names import name_key

Kind = Literal["room", "dm"]


class Target:
    """A room or a direct-message conversation, compared by its name's key."""

    __slots__ = ("key", "kind", "name")

    def __init__(self, kind: Kind, name: str) -> None:
        self.kind: Kind = kind
        self.name = name
        self.key = name_key(name)

    @classmethod
    def room(cls, name: str) -> Target:
        """The room called `name`."""
        return cls("room", name)

    @classmethod
    def dm(cls, peer: str) -> Target:
        """The conversation with `peer`."""
        return cls("dm", peer)

    @property
    def label(self) -> str:
        """`#room` or `@peer`."""
        return ("#" if self.kind == "room" else "@") + self.name

    def fields(self) -> dict[str, Any]:
        """The request fields naming this target: `room` or `peer`."""
        return {"room": self.name} if self.kind == "room" else {"peer": self.name}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and (self.kind, self.key) == (other.kind, other.key)

    def __hash__(self) -> int:
        return hash((self.kind, self.key))

    def __repr__(self) -> str:
        return f"Target({self.label})"


@dataclass(eq=False)
class Conversation:
    """A room the user is in (or waits for) or a DM conversation, and its messages."""

    target: Target
    state: str = m.MEMBER  # rooms: member | pending
    approval: bool = False
    unread: int = 0
    mentions: int = 0  # rooms: unread messages that mention the user
    topic: str | None = None  # rooms: as set by a moderator
    last_msg_id: int = 0
    messages: list[m.Message] = field(default_factory=list)  # by msg_id
    loaded: bool = False  # the newest page has been fetched (or a window, below)
    more_before: bool = True  # older messages remain on the server
    more_after: bool = False  # a window back in time: newer messages remain unfetched
    quoted: dict[int, m.Message] = field(default_factory=dict)  # parents fetched alone
    _by_id: dict[int, m.Message] = field(default_factory=dict, repr=False)

    @property
    def oldest_id(self) -> int | None:
        """The oldest message held, if any."""
        return self.messages[0].msg_id if self.messages else None

    @property
    def newest_id(self) -> int:
        """The newest message held, or 0."""
        return self.messages[-1].msg_id if self.messages else 0

    def add(self, messages: Iterable[m.Message]) -> list[m.Message]:
        """Keep the messages not held yet; return those, by msg_id."""
        added = []
        for message in messages:
            if message.msg_id in self._by_id:
                continue
            self._by_id[message.msg_id] = message
            self.quoted.pop(message.msg_id, None)
            bisect.insort(self.messages, message, key=lambda msg: msg.msg_id)
            added.append(message)
            self.last_msg_id = max(self.last_msg_id, message.msg_id)
        return sorted(added, key=lambda msg: msg.msg_id)

    def holds(self, msg_id: int) -> bool:
        """Whether `msg_id` is among the messages (not only a quoted parent)."""
        return msg_id in self._by_id

    def forget(self) -> None:
        """Drop the messages held (a window back in time, left): the next opening loads
        the newest page again."""
        self.messages.clear()
        self._by_id.clear()
        self.loaded, self.more_before, self.more_after = False, True, False

    def find(self, msg_id: int) -> m.Message | None:
        """The message `msg_id`, if held (among the messages or the quoted parents)."""
        return self._by_id.get(msg_id) or self.quoted.get(msg_id)

    def replace(self, message: m.Message) -> None:
        """Hold `message` (a new state of a message held) in place of the old one."""
        if message.msg_id in self._by_id:
            self._by_id[message.msg_id] = message
            index = bisect.bisect_left(self.messages, message.msg_id, key=lambda msg: msg.msg_id)
            self.messages[index] = message
        elif message.msg_id in self.quoted:
            self.quoted[message.msg_id] = message

    def replies_to(self, msg_id: int) -> list[m.Message]:
        """The messages held that reply to `msg_id` (their quotes show it)."""
        return [message for message in self.messages if message.reply_to == msg_id]


def mentions(body: str, me: str) -> list[tuple[int, int]]:
    """The spans of `body` that name the user `me` (as a word, `@` optional)."""
    if not me:
        return []
    pattern = rf"(?<![\w-])@?{re.escape(me)}(?![\w-])"
    return [match.span() for match in re.finditer(pattern, body, re.IGNORECASE)]
