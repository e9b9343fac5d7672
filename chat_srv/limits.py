"""Rate limits: a token bucket for requests, and a sliding window for attempts.

Both take the current time as an argument, so they hold no clock of their own and
tests can drive them exactly.
"""

from __future__ import annotations

import contextlib
from collections import deque


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; one token per request."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = now

    def take(self, now: float) -> float:
        """Spend a token: 0.0 if there was one, else the seconds until there will be."""
        tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self.rate


_SWEEP_EVERY = 1024  # events added between two sweeps of expired keys


class SlidingWindow:
    """At most `limit` events per key within the last `window` seconds.

    A caller may count an event when it starts (`add`), so that events still in
    flight count against the limit, and take it back if it came to nothing
    (`discard`).
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._adds = 0  # since the last sweep

    def retry_after(self, key: str, now: float) -> float:
        """0.0 if `key` may try now, else the seconds until its oldest event expires."""
        events = self._recent(key, now)
        if events is None or len(events) < self.limit:
            return 0.0
        return events[0] + self.window - now

    def count(self, key: str, now: float) -> int:
        """How many events of `key` are within the window."""
        events = self._recent(key, now)
        return 0 if events is None else len(events)

    def add(self, key: str, now: float) -> None:
        """Count an event for `key` at `now`."""
        events = self._recent(key, now)
        if events is None:
            events = self._events[key] = deque()
        events.append(now)
        self._adds += 1
        if self._adds >= _SWEEP_EVERY:
            self._sweep(now)

    def discard(self, key: str, when: float) -> None:
        """Take back the event counted for `key` at `when` (if it is still counted)."""
        events = self._events.get(key)
        if events is None:
            return
        with contextlib.suppress(ValueError):
            events.remove(when)
        if not events:
            del self._events[key]

    def forget(self, key: str) -> None:
        """Clear every event of `key`."""
        self._events.pop(key, None)

    def __len__(self) -> int:
        """How many keys have events (recent or not yet swept)."""
        return len(self._events)

    def _sweep(self, now: float) -> None:
        """Drop the keys whose events have all expired: keys never met again (a name
        tried once) would otherwise stay for good. Amortised: once per `_SWEEP_EVERY`."""
        self._adds = 0
        for key in [k for k, events in self._events.items() if events[-1] <= now - self.window]:
            del self._events[key]

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= now - self.window:
            events.popleft()
        if not events:
            del self._events[key]  # the table holds only keys with recent events
            return None
        return events


class AttemptLimit:
    """At most `limit` attempts per key: those that failed within the last `window`
    seconds and those still being checked, together.

    Attempts in flight count, so sixty guesses sent at once cannot all be checked
    before the first failure is known. One that succeeds leaves nothing behind, and
    one refused only because others are still in flight is told to come back
    `soon` (when they will be done), not when a failure expires.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self._failures = SlidingWindow(limit, window)
        self._running: dict[str, int] = {}

    def retry_after(self, key: str, now: float, soon: float) -> float:
        """0.0 if an attempt for `key` may start now, else the seconds to wait."""
        wait = self._failures.retry_after(key, now)
        if wait > 0:
            return wait
        if self._failures.count(key, now) + self._running.get(key, 0) >= self.limit:
            return soon
        return 0.0

    def start(self, key: str) -> None:
        """An attempt for `key` is being checked."""
        self._running[key] = self._running.get(key, 0) + 1

    def finish(self, key: str, now: float, *, failed: bool) -> None:
        """The attempt started for `key` is over; it stays counted if it `failed`."""
        left = self._running.get(key, 1) - 1
        if left:
            self._running[key] = left
        else:
            self._running.pop(key, None)
        if failed:
            self._failures.add(key, now)

    def forget(self, key: str) -> None:
        """Clear the failures of `key` (after a success)."""
        self._failures.forget(key)
