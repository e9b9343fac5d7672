"""Changes to messages already sent: edits, deletions and reactions, folded in order.

Each change event says what one thing became (a body, a deletion, one user's one
reaction), so applying the changes in `change_id` order gives the current state.
Live events and a catch-up page can cross (an event may arrive before the page that
also holds an older change to the same thing), so `ChangeLog` remembers, for each
thing changed, the newest change applied, and refuses older ones. No I/O here.
"""

from __future__ import annotations

import msgspec

from chat_core import messages as m
from chat_core.names import name_key

REACTIONS = ("👍", "👎", "😄", "🎉", "❤️", "😮", "😢", "👀")
"""The reactions offered first, in the picker and its number keys."""

Key = tuple[int, str, str]  # (msg_id, what, who): the thing one change sets


def _key(change: m.Change) -> Key:
    if isinstance(change, m.Reaction):
        return (change.msg_id, change.emoji, name_key(change.user))
    return (change.msg_id, "", "")  # an edit or a deletion: the message itself


class ChangeLog:
    """Which changes were seen: where to catch up from, and the newest change applied
    to each thing, so none is applied twice or out of order.

    Args:
        last: The newest `change_id` already reflected in the messages held.
    """

    def __init__(self, last: int = 0) -> None:
        self.last = last
        """Every change up to this one is known: where a catch-up starts."""
        self._newest = last  # the newest seen, live events included
        self._holding = False
        self._applied: dict[Key, int] = {}

    def accept(self, change: m.Change) -> bool:
        """Note `change`; whether it is newer than what was applied to the same thing."""
        self._newest = max(self._newest, change.change_id)
        if not self._holding:
            self.last = self._newest
        key = _key(change)
        if self._applied.get(key, 0) >= change.change_id:
            return False
        self._applied[key] = change.change_id
        return True

    def hold(self) -> None:
        """The connection dropped: until `release()`, only `caught_up_to()` moves `last`.

        Live events on the new connection may come before the catch-up has fetched
        the older changes; moving `last` past those would lose them if the catch-up
        were cut short.
        """
        self._holding = True

    def caught_up_to(self, change_id: int) -> None:
        """A catch-up page ended with `change_id`: everything up to it is known."""
        self.last = max(self.last, change_id)

    def release(self) -> None:
        """The catch-up is complete: the live events count again."""
        self._holding = False
        self.last = max(self.last, self._newest)


def changed(message: m.Message, change: m.Change) -> m.Message:
    """`message` as `change` leaves it (a deleted message changes no more)."""
    if message.deleted:
        return message
    if isinstance(change, m.Deleted):
        return m.Message(
            msg_id=message.msg_id,
            ts=message.ts,
            sender=message.sender,
            room=message.room,
            to=message.to,
            deleted=True,
        )
    if isinstance(change, m.Edited):
        return msgspec.structs.replace(message, body=change.body, edited=change.edited)
    return msgspec.structs.replace(message, reactions=reacted(message.reactions, change))


def reacted(reactions: m.Reactions | None, change: m.Reaction) -> m.Reactions | None:
    """The reactions once `change.user` put `change.emoji` on or took it back."""
    result = {emoji: list(users) for emoji, users in (reactions or {}).items()}
    user = name_key(change.user)
    had = result.get(change.emoji, [])
    if change.on and any(name_key(name) == user for name in had):
        return reactions  # already there (a catch-up replaying it): keep the order
    users = [name for name in had if name_key(name) != user]
    if change.on:
        users.append(change.user)
    if users:
        result[change.emoji] = users
    else:
        result.pop(change.emoji, None)
    return result or None


def has_reacted(message: m.Message, emoji: str, me: str) -> bool:
    """Whether the user `me` has put `emoji` on `message`."""
    users = (message.reactions or {}).get(emoji, [])
    return any(name_key(user) == name_key(me) for user in users)
