"""The input line's `/commands`: parsing, help text and tab completion.

Pure functions over strings, so the rules can be tested without a screen. A text
(of one line or several) is a command when its first line starts with a single
`/`: the command's name is that line's first word. Anything else is a message;
`//text` sends `/text` as a message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chat_core import messages as m
from chat_core.names import name_key

COMMANDS: dict[str, tuple[str, str]] = {
    "/join": ("ROOM", "join a room, or ask to (rooms needing approval wait for it)"),
    "/leave": ("[ROOM]", "leave the current room, or ROOM"),
    "/msg": ("USER [TEXT]", "open the conversation with USER, and send TEXT"),
    "/me": ("TEXT", "an action: `/me waves` shows as `* alice waves`"),
    "/react": ("EMOJI", "react to the newest message (again: take it back)"),
    "/away": ("[TEXT]", "say you are away (with TEXT, if given) until /back"),
    "/back": ("", "say you are back"),
    "/who": ("", "who is in the current room (online first)"),
    "/search": ("[WORDS]", 'search the messages you can read: words, "a phrase", prefix*'),
    "/rooms": ("", "browse every room and join one"),
    "/help": ("", "keys and commands"),
    "/logout": ("[all]", "log out, back to the login screen (all: end every session of yours)"),
    "/quit": ("", "log out and leave chat-tui"),
    "/clear": ("", "empty the message pane (here only; nothing is deleted)"),
    "/names": ("", "the same as /who"),
    "/query": ("USER [TEXT]", "the same as /msg"),
    "/part": ("[ROOM]", "the same as /leave"),
}
"""Each command: its arguments and what it does (shown by /help)."""

SEARCH_MAX = 200  # characters of a search query (the protocol's `query`)

MODERATION: dict[str, tuple[str, str]] = {
    "/kick": ("USER DURATION REASON", "disconnect USER; logins refused for DURATION (10m, 2h)"),
    "/ban": ("USER REASON", "disconnect USER; logins refused until /unban"),
    "/unban": ("USER", "lift USER's ban"),
    "/kill": ("USER REASON", "disconnect USER now (may log in again at once)"),
    "/pending": ("[USER]", "join requests waiting for approval"),
    "/accept": ("USER ROOM,...|all", "approve USER's requests"),
    "/reject": ("USER ROOM,...|all", "refuse USER's requests"),
    "/notice": ("TEXT", "a notice to everyone connected"),
    "/topic": ("[TEXT]", "set the current room's topic (alone: clear it)"),
    "/mod": ("LINE", "any line of the server's console (/mod help: what you may run)"),
}
"""Moderators' and admins' commands: each is a line of the server's console, but
`/topic` (a request of its own)."""

# The console's words for each moderation command (the arguments follow as typed).
_CONSOLE_WORDS = {
    "/kick": "kick",
    "/ban": "ban",
    "/unban": "unban",
    "/kill": "kill",
    "/pending": "pending rooms",
    "/accept": "accept pending",
    "/reject": "reject pending",
    "/notice": "notice",
    "/mod": "",
}
# Commands whose first argument is a user name (completed as one).
_USER_FIRST = frozenset(
    {"/msg", "/query", "/kick", "/ban", "/unban", "/kill", "/pending", "/accept", "/reject"}
)
_MIN_ARGS = {"/kick": 3, "/ban": 2, "/unban": 1, "/kill": 2, "/accept": 2, "/reject": 2}


@dataclass(frozen=True)
class Command:
    """A parsed input line: `name` is a command (`/join`) or `say` for a message.

    Every moderation command becomes `/mod`, its `text` the console line to run
    (but `/topic`, whose `text` is the topic).
    """

    name: str
    args: tuple[str, ...] = ()
    text: str = ""  # a message (say, /me), the text after (/msg, /away, /topic), a console line


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
    first, newline, more = line.partition("\n")
    word, _, rest = first.partition(" ")
    rest += newline + more
    name = word.lower()
    if name == "/topic":
        return _line(name, rest.strip(), m.TOPIC_MAX, "a topic")
    if name in MODERATION:
        return _moderation(name, rest)
    if name not in COMMANDS:
        return Invalid(f"unknown command {word} (/help lists them)")
    usage = f"usage: {name} {COMMANDS[name][0]}".rstrip()
    if name == "/msg":
        user, _, text = rest.strip().partition(" ")
        if not user:
            return Invalid(usage)
        return Command(name, (user,), text.strip())
    if name == "/me":
        return Command(name, text=rest) if rest.strip() else Invalid(usage)
    if name == "/away":
        return _line(name, rest.strip(), m.STATUS_TEXT_MAX, "an away message")
    if name == "/search":
        return _line(name, rest.strip(), SEARCH_MAX, "a search")
    args = tuple(rest.split())
    if name == "/join" and len(args) != 1:
        return Invalid(usage)
    if name == "/leave" and len(args) > 1:
        return Invalid(usage)
    if name == "/react" and len(args) != 1:
        return Invalid(usage)
    if name in ("/who", "/rooms", "/help", "/quit", "/back") and args:
        return Invalid(usage)
    if name == "/logout" and args not in ((), ("all",)):
        return Invalid(usage)
    return Command(name, args)


def _line(name: str, text: str, maximum: int, what: str) -> Command | Invalid:
    """A command whose argument is one line of at most `maximum` characters."""
    if len(text) > maximum:
        return Invalid(f"{what} is at most {maximum} characters (this one has {len(text)})")
    return Command(name, text=text)


def _moderation(name: str, rest: str) -> Command | Invalid:
    """A moderation command as the console line it stands for."""
    args = rest.split()
    if len(args) < _MIN_ARGS.get(name, 0) or (name in ("/notice", "/mod") and not args):
        return Invalid(f"usage: {name} {MODERATION[name][0]}")
    if name == "/pending" and len(args) > 1:
        return Invalid(f"usage: {name} {MODERATION[name][0]}")
    return Command("/mod", text=" ".join([_CONSOLE_WORDS[name], rest.strip()]).strip())


def help_lines(moderator: bool = False) -> list[tuple[str, str]]:
    """`(usage, description)` for every command (moderators' too, for one)."""
    shown = {**COMMANDS, **MODERATION} if moderator else COMMANDS
    return [(f"{name} {args}".rstrip(), text) for name, (args, text) in shown.items()]


def completions(
    line: str, cursor: int, users: Iterable[str], rooms: Iterable[str], moderator: bool = False
) -> tuple[int, list[str]]:
    """What the word before `cursor` could be completed to.

    Commands complete at the start of the line (a moderator's too, for one), rooms
    after `/join` and `/leave`, user names anywhere else (an `@` before the name is
    kept). A user name that starts a message is addressed to them: `bob:`.

    Returns:
        Where the word starts, and the candidates (sorted, case-insensitively).
    """
    head = line[:cursor]
    start = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n")) + 1
    word = head[start:]
    before = head[:start].split()
    at_user = address = False
    if not before and word.startswith("/"):
        pool: list[str] = [*COMMANDS, *(MODERATION if moderator else ())]
    elif len(before) == 1 and before[0].lower() in ("/join", "/leave", "/part"):
        pool = list(rooms)
    elif before and before[0].startswith("/") and before[0].lower() not in _USER_FIRST:
        return start, []
    else:
        pool, at_user = list(users), word.startswith("@")
        address = not before and not at_user
    prefix = "@" if at_user else ""
    suffix = ":" if address else ""
    word = word.removeprefix(prefix)
    key = name_key(word)
    found = sorted({c for c in pool if name_key(c).startswith(key)}, key=name_key)
    return start, [prefix + c + suffix for c in found]
