"""The console's commands and the executor that runs them.

`COMMANDS` lists every command with its handler; `parse` reads a line against
it (see `grammar`); `CommandLine.run` checks that the `Admin`'s actor may run the
command (the one permission check, for every door: terminal, admin socket,
`moderate`), runs it through the `Admin` API, and always answers with an
`Outcome` holding a Rich renderable: a table for lists, one line for actions, an
error line plus the usage for every mistake. Nothing here raises, prints, or
reaches past `Admin`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rich.console import RenderableType
from rich.text import Text

from chat_core.messages import Role
from chat_srv.admin import Admin, AdminError
from chat_srv.console import grammar
from chat_srv.console import render as r
from chat_srv.console.durations import format_duration
from chat_srv.console.grammar import Command, Invocation, Kind, Param, UsageError
from chat_srv.store.base import StoreUnavailable

__all__ = ["COMMANDS", "CommandLine", "Kind", "Outcome", "UsageError", "parse"]

log = logging.getLogger(__name__)

# -- handlers --------------------------------------------------------------------------


async def _help(admin: Admin, inv: Invocation) -> RenderableType:
    topic = inv.optional_text("command")
    mine = [c for c in COMMANDS if admin.may_run(c.name)]  # what this actor may run
    if not topic:
        return r.help_table([(c.usage, c.summary) for c in mine])
    words = topic.split()
    chosen = [c for c in mine if c.words[: len(words)] == tuple(words[: len(c.words)])]
    if not chosen:
        raise UsageError(f"no command called {topic}", (inv.command.usage,))
    return r.help_table([(c.usage, c.summary) for c in chosen])


async def _messages(admin: Admin, inv: Invocation) -> RenderableType:
    found = await admin.messages_since(inv.duration("duration"), inv.optional_text("room"))
    return r.messages_table(found)


async def _users(admin: Admin, inv: Invocation) -> RenderableType:
    return r.users_table(admin.users())


async def _rooms(admin: Admin, inv: Invocation) -> RenderableType:
    return r.rooms_table(admin.rooms())


async def _add_room(admin: Admin, inv: Invocation) -> RenderableType:
    names = inv.names("rooms") or []
    is_open = inv.optional_text("open") is not None
    created = await admin.add_rooms(names, approval=not is_open)
    kind = "open" if is_open else "approval needed"
    return r.line(f"added ({kind}): ", r.plain(", ".join(created), "bold"))


async def _add_user(admin: Admin, inv: Invocation) -> RenderableType:
    account = await admin.add_user(inv.text("username"))
    return r.line(
        "added user ",
        r.plain(account.name, "bold"),
        "; its password, shown only this once: ",
        r.plain(account.password, "bold"),
    )


async def _pending(admin: Admin, inv: Invocation) -> RenderableType:
    return r.pending_table(admin.pending(inv.optional_text("username")))


async def _accept(admin: Admin, inv: Invocation) -> RenderableType:
    done = await admin.accept(inv.text("username"), inv.names("rooms"))
    user = r.plain(inv.text("username"), "bold")
    return r.line("accepted ", user, " into ", r.plain(", ".join(done)))


async def _reject(admin: Admin, inv: Invocation) -> RenderableType:
    done = await admin.reject(inv.text("username"), inv.names("rooms"))
    user = r.plain(inv.text("username"), "bold")
    return r.line("rejected ", user, " from ", r.plain(", ".join(done)))


async def _kick(admin: Admin, inv: Invocation) -> RenderableType:
    duration = inv.duration("duration")
    done = await admin.kick(inv.text("username"), duration, inv.text("reason"))
    return r.line(
        "kicked ",
        r.plain(done.target, "bold"),
        f" for {format_duration(duration)}, until {r.when(done.until)}",
        f" ({_closed(done.closed)}): ",
        r.plain(inv.text("reason")),
    )


async def _unkick(admin: Admin, inv: Invocation) -> RenderableType:
    name = await admin.unkick(inv.text("username"))
    return r.line("unkicked ", r.plain(name, "bold"), ": may log in again")


async def _ban(admin: Admin, inv: Invocation) -> RenderableType:
    done = await admin.ban(inv.text("username"), inv.text("reason"))
    return r.line(
        "banned ",
        r.plain(done.target, "bold"),
        f" ({_closed(done.closed)}): ",
        r.plain(inv.text("reason")),
    )


async def _ban_ip(admin: Admin, inv: Invocation) -> RenderableType:
    done = await admin.ban_ip(inv.text("address"), inv.text("reason"))
    return r.line(
        "banned address ",
        r.plain(done.target, "bold"),
        f" ({_closed(done.closed)}): ",
        r.plain(inv.text("reason")),
    )


async def _unban(admin: Admin, inv: Invocation) -> RenderableType:
    name = await admin.unban(inv.text("username"))
    return r.line("unbanned ", r.plain(name, "bold"))


async def _unban_ip(admin: Admin, inv: Invocation) -> RenderableType:
    network = await admin.unban_ip(inv.text("address"))
    return r.line("unbanned address ", r.plain(network, "bold"))


async def _kill(admin: Admin, inv: Invocation) -> RenderableType:
    done = await admin.kill(inv.text("username"), inv.text("reason"))
    return r.line(
        "killed ",
        r.plain(done.target, "bold"),
        f" ({_closed(done.closed)}): ",
        r.plain(inv.text("reason")),
    )


async def _redact(admin: Admin, inv: Invocation) -> RenderableType:
    msg_id = await admin.redact(inv.number("msg_id"), inv.text("reason"))
    return r.line(f"message {msg_id} deleted: ", r.plain(inv.text("reason")))


async def _topic(admin: Admin, inv: Invocation) -> RenderableType:
    room, topic = await admin.topic(inv.text("room"), inv.optional_text("text") or "")
    if topic is None:
        return r.line("topic of ", r.plain(room, "bold"), " cleared")
    return r.line("topic of ", r.plain(room, "bold"), ": ", r.plain(topic))


async def _nodes(admin: Admin, inv: Invocation) -> RenderableType:
    return r.nodes_table(admin.nodes())


async def _bans(admin: Admin, inv: Invocation) -> RenderableType:
    return r.bans_table(admin.bans())


async def _notice(admin: Admin, inv: Invocation) -> RenderableType:
    reached = await admin.notice(inv.text("text"))
    return r.line(f"notice sent to {r.count(reached, 'user')}: ", r.plain(inv.text("text")))


async def _op(admin: Admin, inv: Invocation) -> RenderableType:
    name, role = await admin.set_role(inv.text("username"), Role(inv.text("role")))
    return r.line(r.plain(name, "bold"), f" is now {role}")


async def _deop(admin: Admin, inv: Invocation) -> RenderableType:
    name, _ = await admin.set_role(inv.text("username"), Role.USER)
    return r.line(r.plain(name, "bold"), " is a plain user again")


async def _backup(admin: Admin, inv: Invocation) -> RenderableType:
    path = await admin.backup(inv.text("path"))
    return r.line("database copied to ", r.plain(path, "bold"))


async def _shutdown(admin: Admin, inv: Invocation) -> RenderableType:
    await admin.shutdown()
    return Text("server stopped")


def _closed(count: int) -> str:
    return f"{r.count(count, 'connection')} closed"


_U = Param("username", Kind.USER)
_REASON = Param("reason", Kind.TEXT)

COMMANDS: tuple[Command, ...] = (
    Command(
        ("help",),
        (Param("command", Kind.COMMAND, True),),
        "list commands, or help CMD for one",
        _help,
    ),
    Command(
        ("messages",),
        (Param("duration", Kind.DURATION), Param("room", Kind.ROOM, True)),
        "messages since e.g. 10m, 2h, 7d (one room's if given)",
        _messages,
    ),
    Command(("users",), (), "connected users: name, IP, since, rooms", _users),
    Command(("rooms",), (), "rooms: approval?, members, pending, online", _rooms),
    Command(
        ("add", "room"),
        (Param("rooms", Kind.NEW_ROOMS, label="room1,room2,..."), Param("open", Kind.OPEN, True)),
        "create rooms (approval needed unless open)",
        _add_room,
    ),
    Command(
        ("add", "user"),
        (Param("username", Kind.NEW_USER),),
        "create an account with a generated password (shown once)",
        _add_user,
    ),
    Command(
        ("pending", "rooms"),
        (Param("username", Kind.USER, True),),
        "pending join requests (all, or one user's)",
        _pending,
    ),
    Command(
        ("accept", "pending"),
        (_U, Param("rooms", Kind.ROOMS)),
        "approve requests: room,room,... or all (the user gets membership)",
        _accept,
    ),
    Command(
        ("reject", "pending"),
        (_U, Param("rooms", Kind.ROOMS)),
        "refuse requests: room,room,... or all",
        _reject,
    ),
    Command(
        ("kick",),
        (_U, Param("duration", Kind.DURATION), _REASON),
        "disconnect; logins refused until then (30s, 10m, 2h, 7d, 1y)",
        _kick,
    ),
    Command(("unkick",), (_U,), "lift a kick early", _unkick),
    Command(("ban",), (_U, _REASON), "disconnect; logins refused until unban", _ban),
    Command(
        ("ban", "ip"),
        (Param("address", Kind.NETWORK), _REASON),
        "close and refuse connections from an address or CIDR block",
        _ban_ip,
    ),
    Command(("unban",), (_U,), "lift a user's ban", _unban),
    Command(("unban", "ip"), (Param("address", Kind.NETWORK),), "lift an IP ban", _unban_ip),
    Command(("kill",), (_U, _REASON), "disconnect now; may log in again at once", _kill),
    Command(
        ("redact",),
        (Param("msg_id", Kind.MSG_ID, label="message id"), _REASON),
        "delete a message (its body is gone from the store); logged",
        _redact,
    ),
    Command(
        ("topic",),
        (Param("room", Kind.ROOM), Param("text", Kind.TEXT, True)),
        "set a room's topic (none: clear it)",
        _topic,
    ),
    Command(("bans",), (), "active kicks, user bans and IP bans", _bans),
    Command(("notice",), (Param("text", Kind.TEXT),), "a notice to every connected user", _notice),
    Command(
        ("op",),
        (_U, Param("role", Kind.ROLE, label="moderator|admin")),
        "make a user a moderator or an admin (the moderate request)",
        _op,
    ),
    Command(("deop",), (_U,), "take a moderator's or admin's role back", _deop),
    Command(
        ("backup",),
        (Param("path", Kind.TEXT, label="file"),),
        "copy the SQLite database to a new file, while serving",
        _backup,
    ),
    Command(("nodes",), (), "the cluster's nodes: connections, last heartbeat", _nodes),
    Command(("shutdown",), (), "graceful shutdown (as on SIGTERM; this node only)", _shutdown),
)
"""Every command, in the order `help` lists them."""


def parse(line: str) -> Invocation | None:
    """`line` as an invocation of one of `COMMANDS`; None if blank (`UsageError` if wrong)."""
    return grammar.parse(COMMANDS, line)


# -- executor ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a line gave: what to show, and whether it failed and why."""

    shown: RenderableType  # what a terminal prints (errors included)
    failed: bool = False
    forbidden: bool = False  # not the actor's to run (checked at the door)
    message: str = ""  # the explanation, when it failed
    usage: tuple[str, ...] = ()  # the forms of the command, when it failed

    @property
    def explanation(self) -> str:
        """The message and the usage, as plain lines (for the doors without Rich)."""
        return "\n".join([self.message, *(f"usage: {form}" for form in self.usage)])


def _failure(message: str, usage: tuple[str, ...] = (), *, forbidden: bool = False) -> Outcome:
    return Outcome(r.error(message, usage), True, forbidden, message, usage)


class CommandLine:
    """Runs console lines against an `Admin`, checking first that its actor may."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin

    async def execute(self, line: str) -> RenderableType:
        """Run one line; what to show (a blank line gives an empty `Text`)."""
        return (await self.run(line)).shown

    async def run(self, line: str) -> Outcome:
        """Run one line; never raises."""
        try:
            invocation = parse(line)
        except UsageError as error:
            return _failure(error.message, error.usage)
        if invocation is None:
            return Outcome(Text())
        command = invocation.command
        if not self.admin.may_run(command.name):
            return _failure(f"{command.name} is not for {self.admin.actor.label}", forbidden=True)
        usage = (command.usage,)
        try:
            return Outcome(await command.handler(self.admin, invocation))
        except UsageError as error:
            return _failure(error.message, error.usage)
        except AdminError as error:
            return _failure(error.message, usage)
        except StoreUnavailable as error:
            log.warning("console: storage unavailable: %s", error)
            return _failure("storage unavailable; try again")
        except Exception:
            # A bug, not a mistake: the traceback goes to the log, the console stays up.
            log.exception("console command %r failed", command.name)
            return _failure(f"{command.name} failed unexpectedly; see the log")
