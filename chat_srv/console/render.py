"""Turning the admin API's plain data into Rich renderables, safely.

Every text that came from a user (names, bodies, reasons, addresses, even a
mistyped argument) is put in a `rich.text.Text`, never in a markup string, so
`[bold]` is shown as typed; and every character that is invisible, reorders the
line or breaks it is replaced by its escape first (`chat_srv.escapes`), because
Rich passes ESC, bidi controls and newlines through to the terminal untouched.
A message is one row: its newlines show as `\\n`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from chat_srv.admin import ConnectedUser, PendingRequest, RoomSummary, SanctionView
from chat_srv.escapes import escape, needs_escaping, runs
from chat_srv.store.base import SanctionKind, StoredMessage

if TYPE_CHECKING:
    from chat_srv.cluster.node import NodeView

ERROR_STYLE = "bold red"
ESCAPE_STYLE = "reverse"
KIND_LABELS = {SanctionKind.KICK: "kick", SanctionKind.BAN: "ban", SanctionKind.IP_BAN: "ip ban"}


def plain(text: str, style: str = "") -> Text:
    """User text as a Rich `Text`: no markup, every hidden character escaped.

    The escapes are drawn in reverse video: on a terminal, a `\\n` the user
    typed and a newline escaped here never look the same.
    """
    if not needs_escaping(text):
        return Text(text, style=style)
    shown = Text(style=style)
    for part, hidden in runs(text):
        if hidden:
            shown.append(escape(part), style=ESCAPE_STYLE)
        else:
            shown.append(part)
    return shown


def line(*parts: str | Text) -> Text:
    """One line from our own words (`str`, shown as is) and user texts (`Text`).

    `str` parts are never parsed as markup either, so callers may embed user
    text in them only through `plain`.
    """
    return Text.assemble(*(part if isinstance(part, Text) else Text(part) for part in parts))


def error(message: str, usage: Iterable[str] = ()) -> Text:
    """A refused command: a one-line explanation, then the usage."""
    text = Text("error: ", style=ERROR_STYLE)
    text.append_text(plain(message, ERROR_STYLE))
    for form in usage:
        text.append("\nusage: ", style="dim")
        text.append(form)
    return text


def when(ms: int | None, never: str = "until lifted") -> str:
    """A time in ms since the epoch as local date and time."""
    if ms is None:
        return never
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def count(n: int, noun: str) -> str:
    """`1 room`, `2 rooms`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _empty(what: str) -> Text:
    return Text(f"no {what}", style="dim")


def users_table(users: list[ConnectedUser]) -> RenderableType:
    """The `users` command: one row per logged-in connection."""
    if not users:
        return _empty("user is connected")
    table = _table(count(len(users), "connection"), "user", "ip", "since", "rooms")
    for user in users:
        table.add_row(
            plain(user.name, "bold"),
            plain(user.ip or "?"),
            when(user.since),
            plain(", ".join(user.rooms)),
        )
    return table


def rooms_table(rooms: list[RoomSummary]) -> RenderableType:
    """The `rooms` command."""
    table = _table(count(len(rooms), "room"), "room", "approval", "members", "pending", "online")
    for room in rooms:
        table.add_row(
            plain(room.name, "bold"),
            "yes" if room.approval else "open",
            str(room.members),
            str(room.pending),
            str(room.online),
        )
    return table


def pending_table(requests: list[PendingRequest]) -> RenderableType:
    """The `pending rooms` command."""
    if not requests:
        return _empty("pending requests")
    table = _table(count(len(requests), "pending request"), "user", "room")
    for request in requests:
        table.add_row(plain(request.user, "bold"), plain(request.room))
    return table


def bans_table(sanctions: list[SanctionView]) -> RenderableType:
    """The `bans` command: kicks, user bans and IP bans in force."""
    if not sanctions:
        return _empty("active kicks or bans")
    table = _table(f"{len(sanctions)} in force", "kind", "target", "until", "reason", "since")
    for sanction in sanctions:
        table.add_row(
            KIND_LABELS[sanction.kind],
            plain(sanction.target, "bold"),
            when(sanction.until),
            plain(sanction.reason),
            when(sanction.created_at),
        )
    return table


def nodes_table(nodes: list[NodeView] | None) -> RenderableType:
    """The `nodes` command: the cluster's nodes, their connections and last heartbeat."""
    if nodes is None:
        return Text("this server runs alone (no --cluster)")
    table = _table(count(len(nodes), "node"), "node", "connections", "last heard")
    for node, connections, heard_ago, this in nodes:
        table.add_row(
            plain(node, "bold" if this else ""),
            str(connections),
            "this node" if this else f"{heard_ago:.1f} s ago",
        )
    return table


MESSAGES_SHOWN = 500  # more would scroll the console away; narrow with a room or duration


def messages_table(messages: list[StoredMessage]) -> RenderableType:
    """The `messages` command: the newest `MESSAGES_SHOWN` messages, oldest first."""
    if not messages:
        return _empty("messages")
    shown = messages[-MESSAGES_SHOWN:]
    table = _table(count(len(messages), "message"), "id", "time", "where", "from", "message")
    for message in shown:
        if message.room is not None:
            where = plain(message.room)
        else:
            where = line("→ ", plain(message.recipient or "?"))
        table.add_row(
            str(message.msg_id),
            when(message.ts),
            where,
            plain(message.sender, "bold"),
            _message_cell(message),
        )
    if len(shown) < len(messages):
        note = Text(
            f"only the newest {len(shown)} of {len(messages)} are shown; "
            "give a shorter duration or a room",
            style="dim",
        )
        return Group(table, note)
    return table


def _message_cell(message: StoredMessage) -> Text:
    """A message's body as it is now, with what happened to it."""
    if message.deleted:
        return Text("(deleted)", style="dim italic")
    cell = Text()
    if message.reply_to is not None:
        cell.append(f"↪ {message.reply_to} ", style="dim")
    if message.action:
        cell.append("* ", style="dim")
    cell.append_text(plain(message.body))
    if message.edited is not None:
        cell.append(" (edited)", style="dim")
    return cell


def help_table(entries: list[tuple[str, str]]) -> RenderableType:
    """The `help` command: usage and summary of each command."""
    table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
    table.add_column("usage", style="bold", no_wrap=True)
    table.add_column("summary")
    for usage, summary in entries:
        table.add_row(Text(usage), Text(summary))
    return table


def render_lines(renderable: RenderableType, width: int, *, ansi: bool) -> list[str]:
    """`renderable` as the lines a terminal `width` columns wide would show.

    With `ansi`, styles are ANSI sequences (for the admin socket's console);
    without, plain text (for `moderate` and one-shot commands piped elsewhere).
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=ansi,
        color_system="standard" if ansi else None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(renderable)
    text = buffer.getvalue()
    return text.rstrip("\n").split("\n") if text.strip() else []
