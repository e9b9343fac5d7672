"""A room or a conversation, and the messages the client holds of it.

`Target` names one (a room or a peer, compared by the name's key); `Conversation`
keeps its messages by `msg_id`, so a message seen twice (an event and a history
page, or a catch-up after a reconnection) is kept once, and a message that changed
replaces the one held. The messages held are always a run with no gap: from the
oldest held to the newest on the server, or, after a jump back in time to a message
(`more_after`), a window around it that newer pages extend. Beside the messages it
keeps the client's own lines written there (`Note`: command output, notices,
someone joining), each after the message that was the newest then, and where the
user's read marker was when they opened it. No I/O here.
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
NoteKind = Literal["note", "notice", "join"]
"""A line from the client (command output, errors), an administrator's notice, or
someone joining or leaving a room."""

NOTES_KEPT = 200  # the client's own lines kept per conversation, the newest


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


@dataclass(frozen=True)
class Note:
    """A line from the client in a conversation, never sent: it shows after the
    message `after` (the newest held when it was written; 0: before any)."""

    text: str
    after: int = 0
    kind: NoteKind = "note"


@dataclass(frozen=True)
class Outgoing:
    """A message the user sent that the server has not confirmed yet."""

    target: Target
    body: str
    nonce: str
    reply_to: int | None = None
    action: bool = False


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
    notes: list[Note] = field(default_factory=list)  # the client's own lines, oldest first
    cleared: int = 0  # `/clear`: the messages up to this one are not shown
    marker: int | None = None  # the first message unread when it was opened
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

    def note(self, text: str, kind: NoteKind = "note") -> Note:
        """Keep a line from the client, after the newest message held."""
        note = Note(text, self.newest_id, kind)
        self.notes = [*self.notes[-(NOTES_KEPT - 1) :], note]
        return note

    def clear(self) -> None:
        """`/clear`: show neither the messages held nor the notes written so far."""
        self.cleared = max(self.cleared, self.last_msg_id, self.newest_id)
        self.notes.clear()
        self.marker = None

    def mark_unread(self, me: str) -> None:
        """Put the read marker before the unread messages (the others', the newest
        `unread` of them), or nowhere when none are."""
        theirs = [msg for msg in self.messages if name_key(msg.sender) != name_key(me)]
        unread = min(self.unread, len(theirs))
        self.marker = theirs[-unread].msg_id if unread > 0 else None

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
