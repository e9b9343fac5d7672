"""Tab completion of console lines: command words, user names, room names.

`complete` is pure (a line and the current names in, candidates out) so tests
need no terminal; the shell wraps it in a prompt_toolkit `Completer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chat_core.names import name_key
from chat_srv.console.commands import COMMANDS, Kind
from chat_srv.console.grammar import ROLES

_WORD = re.compile(r"\S+")
DURATION_EXAMPLES = ("30s", "10m", "1h", "1d", "7d")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A completion: `text` replaces the last `replaces` characters before the cursor."""

    text: str
    replaces: int


def complete(before_cursor: str, users: Iterable[str], rooms: Iterable[str]) -> list[Candidate]:
    """The candidates for the word being typed at the end of `before_cursor`."""
    words = _WORD.findall(before_cursor)
    typing_a_word = bool(before_cursor) and not before_cursor[-1].isspace()
    current = words.pop() if typing_a_word else ""
    seen: set[str] = set()
    found: list[Candidate] = []
    for candidate in _candidates(words, current, list(users), list(rooms)):
        if candidate.text not in seen:
            seen.add(candidate.text)
            found.append(candidate)
    return found


def _candidates(
    done: list[str], current: str, users: list[str], rooms: list[str]
) -> Iterator[Candidate]:
    for command in COMMANDS:
        n = len(command.words)
        if len(done) < n:
            # Still typing the command's own words.
            if tuple(done) == command.words[: len(done)]:
                word = command.words[len(done)]
                if word.startswith(current):
                    yield Candidate(word, len(current))
            continue
        if tuple(done[:n]) != command.words:
            continue
        index = len(done) - n
        if index >= len(command.params):
            continue
        kind = command.params[index].kind
        if kind is Kind.USER:
            yield from _matching(users, current)
        elif kind is Kind.ROOM:
            yield from _matching(rooms, current)
        elif kind is Kind.ROOMS:
            # Complete the room after the last comma, keeping the ones before it.
            head, _, tail = current.rpartition(",")
            for candidate in _matching(rooms, tail):
                yield Candidate(candidate.text, len(tail))
            if not head:
                yield from _matching(["all"], current)
        elif kind is Kind.OPEN:
            yield from _matching(["open"], current)
        elif kind is Kind.ROLE:
            yield from _matching(ROLES, current)
        elif kind is Kind.DURATION:
            yield from _matching(DURATION_EXAMPLES, current)
        elif kind is Kind.COMMAND and index == 0:
            yield from _matching(sorted({c.words[0] for c in COMMANDS}), current)


def _matching(names: Iterable[str], prefix: str) -> Iterator[Candidate]:
    key = name_key(prefix)
    for name in names:
        if name_key(name).startswith(key):
            yield Candidate(name, len(prefix))
