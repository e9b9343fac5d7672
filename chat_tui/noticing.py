"""Noticing one another: who is typing where, when to say one is typing, auto-away.

Plain data with no I/O and no Textual, driven by a clock given to it (`Clock`:
monotonic seconds), so tests move time instead of waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from chat_core.names import name_key
from chat_tui.conversation import Target

Clock = Callable[[], float]
"""Monotonic seconds: `time.monotonic`, or a test's own."""

MONOTONIC: Clock = time.monotonic

TYPING_EVERY = 3.0  # seconds between two `typing` sent for one conversation
TYPING_SHOWN = 6.0  # seconds "alice is typing…" stays after her last `typing`


class TypingThrottle:
    """Whether a `typing` is due for a conversation: at most one every `every` seconds.

    Args:
        every: The seconds between two.
    """

    def __init__(self, every: float = TYPING_EVERY) -> None:
        self.every = every
        self._sent: dict[Target, float] = {}

    def due(self, target: Target, now: float) -> bool:
        """Whether to send one for `target` now; if so, it counts as sent."""
        last = self._sent.get(target)
        if last is not None and now - last < self.every:
            return False
        self._sent[target] = now
        return True


class Typists:
    """Who is typing in each conversation, each until `shown` seconds after their last
    `typing` event (or until their message arrives).

    Args:
        shown: How long a `typing` event counts.
    """

    def __init__(self, shown: float = TYPING_SHOWN) -> None:
        self.shown = shown
        self._until: dict[Target, dict[str, tuple[str, float]]] = {}  # user key -> name, end

    def saw(self, target: Target, user: str, now: float) -> None:
        """`user` is typing in `target`."""
        self._until.setdefault(target, {})[name_key(user)] = (user, now + self.shown)

    def stopped(self, target: Target, user: str) -> bool:
        """`user` sent a message to `target` (or left): whether they were listed."""
        typing = self._until.get(target, {})
        return typing.pop(name_key(user), None) is not None

    def expire(self, now: float) -> set[Target]:
        """Forget the typing that is over; the conversations whose typists changed."""
        changed = set()
        for target, typing in list(self._until.items()):
            for key, (_, until) in list(typing.items()):
                if until <= now:
                    del typing[key]
                    changed.add(target)
            if not typing:
                del self._until[target]
        return changed

    def names(self, target: Target) -> list[str]:
        """Who is typing in `target`, by name."""
        return sorted((name for name, _ in self._until.get(target, {}).values()), key=name_key)


def typing_line(names: Iterable[str]) -> str:
    """`alice is typing…`, `alice and bob are typing…`, `several people are typing…`."""
    names = list(names)
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    if len(names) == 2:
        return f"{names[0]} and {names[1]} are typing…"
    return "several people are typing…"


class AutoAway:
    """When idleness sets the user away, and when their next key brings them back.

    Only an away status this set is ended by a key: `/away` lasts until `/back`.

    Args:
        after: Seconds without a key before the user is away (None: never).
        now: The time of the last key so far (the start).
    """

    def __init__(self, after: float | None, now: float) -> None:
        self.after = after
        self.last_key = now
        self.auto = False
        """Whether the away status now is this one's doing."""

    def key(self, now: float) -> bool:
        """A key was pressed; whether that ends an automatic away status."""
        self.last_key = now
        back, self.auto = self.auto, False
        return back

    def due(self, now: float, *, away: bool) -> bool:
        """Whether the user has been idle long enough to be set away (if not already)."""
        if self.after is None or away or now - self.last_key < self.after:
            return False
        self.auto = True
        return True
