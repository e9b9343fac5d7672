"""The console's grammar: commands as words plus typed arguments, and a pure parser.

`parse` turns a line into an `Invocation` (or raises `UsageError`) against a
table of `Command`s without touching the server: durations, addresses and room
lists are checked and converted here, so a handler only ever sees good values.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.console import RenderableType

from chat_srv.console.durations import DurationError, parse_duration
from chat_srv.sanctions import parse_network

if TYPE_CHECKING:
    from chat_srv.admin import Admin


class Kind(enum.Enum):
    """What an argument is: it decides its parsing and its completion."""

    USER = "user"
    NEW_USER = "new user"  # a name for an account to create
    ROOM = "room"
    ROOMS = "rooms"  # existing rooms, comma-separated, or `all`
    NEW_ROOMS = "new rooms"  # comma-separated
    OPEN = "open"  # the literal word `open`
    ROLE = "role"  # `moderator` or `admin`
    DURATION = "duration"
    MSG_ID = "message id"  # a positive integer
    NETWORK = "network"
    TEXT = "text"  # the rest of the line, spaces included
    COMMAND = "command"  # help's topic: the rest of the line


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a command."""

    name: str  # the key handlers look it up by
    kind: Kind
    optional: bool = False
    label: str = ""  # how usage shows it, if not `<name>`

    def usage(self) -> str:
        """`<name>`, `[<name>]`, or the literal word for `open`."""
        shown = self.name if self.kind is Kind.OPEN else f"<{self.label or self.name}>"
        return f"[{shown}]" if self.optional else shown


Handler = Callable[["Admin", "Invocation"], Awaitable[RenderableType]]


@dataclass(frozen=True, slots=True)
class Command:
    """A command: its words, its arguments, what it does, and its handler."""

    words: tuple[str, ...]
    params: tuple[Param, ...]
    summary: str
    handler: Handler = field(repr=False)

    @property
    def name(self) -> str:
        """The command's words, as typed."""
        return " ".join(self.words)

    @property
    def usage(self) -> str:
        """The command's words and its arguments."""
        return " ".join([self.name, *(p.usage() for p in self.params)])


class UsageError(Exception):
    """A line that names no command, or a command given the wrong arguments."""

    def __init__(self, message: str, usage: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True, slots=True)
class Invocation:
    """A parsed line: the command and its converted arguments (absent if not given)."""

    command: Command
    args: Mapping[str, str | list[str] | timedelta | None]

    def text(self, name: str) -> str:
        """A required word or text argument."""
        value = self.args[name]
        assert isinstance(value, str)
        return value

    def optional_text(self, name: str) -> str | None:
        """An optional word or text argument."""
        value = self.args.get(name)
        assert value is None or isinstance(value, str)
        return value

    def names(self, name: str) -> list[str] | None:
        """A comma-separated list (None for `all`)."""
        value = self.args[name]
        assert value is None or isinstance(value, list)
        return value

    def duration(self, name: str) -> timedelta:
        """A duration argument."""
        value = self.args[name]
        assert isinstance(value, timedelta)
        return value

    def number(self, name: str) -> int:
        """A message id argument."""
        return int(self.text(name))


_WORD = re.compile(r"\S+")
ROLES = ("moderator", "admin")  # what `op` may give


def find(commands: Sequence[Command], words: list[str]) -> Command | None:
    """The command named by the longest matching prefix of `words`."""
    best: Command | None = None
    for command in commands:
        n = len(command.words)
        if tuple(words[:n]) == command.words and (best is None or n > len(best.words)):
            best = command
    return best


def parse(commands: Sequence[Command], line: str) -> Invocation | None:
    """A line as an invocation of one of `commands`; None for a blank line.

    Raises:
        UsageError: unknown command, missing or extra argument, or a malformed one.
    """
    spans = list(_WORD.finditer(line))
    if not spans:
        return None
    words = [span.group() for span in spans]
    command = find(commands, words)
    if command is None:
        forms = tuple(c.usage for c in commands if c.words[0] == words[0])
        if forms:
            raise UsageError(f"{command_text(words[:2])} is not a command", forms)
        raise UsageError(f"unknown command {words[0]}; type help for the list")
    # `ban` also shows `ban ip`: a mistake in the short form may mean the long one.
    usage = tuple(c.usage for c in commands if c.words[: len(command.words)] == command.words)
    args: dict[str, str | list[str] | timedelta | None] = {}
    position = len(command.words)
    for param in command.params:
        if position >= len(spans):
            if not param.optional:
                raise UsageError(f"missing {param.usage().strip('[]')}", usage)
            break
        if param.kind in (Kind.TEXT, Kind.COMMAND):
            args[param.name] = line[spans[position].start() :].strip()
            position = len(spans)
            continue
        args[param.name] = _convert(param, words[position], usage)
        position += 1
    if position < len(spans):
        raise UsageError(f"too many arguments: {command_text(words[position:])}", usage)
    return Invocation(command, args)


def command_text(words: list[str]) -> str:
    """Words joined back for an error message."""
    return " ".join(words)


def _convert(param: Param, word: str, usage: tuple[str, ...]) -> str | list[str] | timedelta | None:
    if param.kind is Kind.DURATION:
        try:
            return parse_duration(word)
        except DurationError as error:
            raise UsageError(f"bad duration {word}: {error}", usage) from None
    if param.kind is Kind.NETWORK:
        try:
            parse_network(word)
        except ValueError:
            raise UsageError(f"{word} is not an IP address or CIDR block", usage) from None
        return word
    if param.kind is Kind.MSG_ID:
        if not (word.isascii() and word.isdigit()) or not 0 < int(word) < 2**63:
            raise UsageError(f"{word} is not a message id (a number, as `messages` shows)", usage)
        return word
    if param.kind is Kind.OPEN:
        if word != "open":
            raise UsageError(f"expected the word open, not {word}", usage)
        return word
    if param.kind is Kind.ROLE:
        if word not in ROLES:
            raise UsageError(f"a role is moderator or admin, not {word}", usage)
        return word
    if param.kind in (Kind.ROOMS, Kind.NEW_ROOMS):
        if param.kind is Kind.ROOMS and word == "all":
            return None
        names = [name for name in word.split(",") if name]
        if not names:
            raise UsageError(f"{param.usage()} names no room", usage)
        return names
    return word
