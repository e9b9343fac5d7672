"""The server's sense of time, in one object that tests can replace.

The rules read the time only through a `Clock`: wall-clock milliseconds for what
is stored and shown (message times, kick deadlines), and a monotonic clock for
rate limits and windows of failed attempts, which must not jump when the system
clock is set. A test hands the service a clock it moves by hand, so a kick's
expiry or a window's end is tested without waiting.
"""

from __future__ import annotations

import time


class Clock:
    """The real time."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for limits and windows)."""
        return time.monotonic()
