"""Durations as the console reads and writes them: `30s`, `10m`, `2h`, `7d`, `1y`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

UNITS: Final[dict[str, int]] = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "y": 365 * 86400,  # a calendar-free year: kicks are about waiting, not dates
}
MAX_DURATION: Final = timedelta(days=100 * 365)  # past this, a kick is a ban in disguise
_DURATION = re.compile(r"(\d{1,12})([smhdy])")


class DurationError(ValueError):
    """A duration that is malformed, zero, or too long; the message says which."""


def parse_duration(text: str) -> timedelta:
    """`30s`, `10m`, `2h`, `7d` or `1y` as a timedelta.

    Raises:
        DurationError: not a positive whole number followed by one of s, m, h, d, y,
            or longer than 100 years.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise DurationError("a duration is a whole number and a unit: 30s, 10m, 2h, 7d or 1y")
    count = int(match.group(1))
    if count == 0:
        raise DurationError("a duration must be longer than zero")
    seconds = count * UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError("a duration is at most 100y (use ban for longer)")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The shortest exact spelling of a duration in the biggest unit that divides it."""
    seconds = int(duration.total_seconds())
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
