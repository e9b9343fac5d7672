"""Rate limits: a token bucket for requests and a sliding window for failed logins.

Both take the current time as an argument, so they hold no clock of their own and
tests can drive them exactly.
"""

from __future__ import annotations

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


class FailureWindow:
    """At most `limit` failures per key within `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> float:
        """0.0 if `key` may try now, else the seconds until its oldest failure expires."""
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - now

    def fail(self, key: str, now: float) -> None:
        """Count a failure for `key`."""
        failures = self._recent(key, now)
        if failures is None:
            failures = self._failures[key] = deque()
        failures.append(now)

    def forget(self, key: str) -> None:
        """Clear `key`'s failures (after a success)."""
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]  # the table holds only keys with recent failures
            return None
        return failures
