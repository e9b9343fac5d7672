"""The input line's `/commands`: parsing, help text and tab completion.

Pure functions over strings, so the rules can be tested without a screen. A line
that does not start with `/` is a message; `//text` sends `/text` as a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chat_core.names import name_key

COMMANDS: dict[str, tuple[str, str]] = {
    "/join": ("ROOM", "join a room, or ask to (rooms needing approval wait for it)"),
    "/leave": ("[ROOM]", "leave the current room, or ROOM"),
    "/msg": ("USER [TEXT]", "open the conversation with USER, and send TEXT"),
    "/who": ("", "who is in the current room (online first)"),
    "/rooms": ("", "browse every room and join one"),
    "/help": ("", "keys and commands"),
    "/quit": ("", "leave chat-tui"),
}
"""Each command: its arguments and what it does (shown by /help)."""


@dataclass(frozen=True)
class Command:
    """A parsed input line: `name` is a command (`/join`) or `say` for a message."""

    name: str
    args: tuple[str, ...] = ()
    text: str = ""  # the message (say) or the trailing text (/msg)


@dataclass(frozen=True)
class Invalid:
    """A line that cannot be run, and why, in plain words."""

    problem: str


def parse(line: str) -> Command | Invalid | None:
    """What the user asked for with `line` (None for a blank line)."""
    if not line.strip():
        return None
    if line.startswith("//"):
        return Command("say", text=line[1:])
    if not line.startswith("/"):
        return Command("say", text=line)
    word, _, rest = line.partition(" ")
    name = word.lower()
    if name not in COMMANDS:
        return Invalid(f"unknown command {word} (/help lists them)")
    usage = f"usage: {name} {COMMANDS[name][0]}".rstrip()
    if name == "/msg":
        user, _, text = rest.strip().partition(" ")
        if not user:
            return Invalid(usage)
        return Command(name, (user,), text.strip())
    args = tuple(rest.split())
    if name == "/join" and len(args) != 1:
        return Invalid(usage)
    if name == "/leave" and len(args) > 1:
        return Invalid(usage)
    if name in ("/who", "/rooms", "/help", "/quit") and args:
        return Invalid(usage)
    return Command(name, args)


def help_lines() -> list[tuple[str, str]]:
    """`(usage, description)` for every command."""
    return [(f"{name} {args}".rstrip(), text) for name, (args, text) in COMMANDS.items()]


def completions(
    line: str, cursor: int, users: Iterable[str], rooms: Iterable[str]
) -> tuple[int, list[str]]:
    """What the word before `cursor` could be completed to.

    Commands complete at the start of the line, rooms after `/join` and `/leave`,
    user names anywhere else (an `@` before the name is kept).

    Returns:
        Where the word starts, and the candidates (sorted, case-insensitively).
    """
    head = line[:cursor]
    start = max(head.rfind(" "), head.rfind("\t")) + 1
    word = head[start:]
    before = head[:start].split()
    at_user = False
    if not before and word.startswith("/"):
        pool: list[str] = list(COMMANDS)
    elif len(before) == 1 and before[0].lower() in ("/join", "/leave"):
        pool = list(rooms)
    elif before and before[0].startswith("/") and before[0].lower() != "/msg":
        return start, []
    else:
        pool, at_user = list(users), word.startswith("@")
    prefix = "@" if at_user else ""
    word = word.removeprefix(prefix)
    key = name_key(word)
    found = sorted({c for c in pool if name_key(c).startswith(key)}, key=name_key)
    return start, [prefix + c for c in found]
