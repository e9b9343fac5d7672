"""The administrator's operations: moderation, rooms, pending requests, look-ups.

`Admin` is the narrow API the console calls. It validates everything first and
changes nothing when it refuses (`AdminError`); it writes to the store before it
changes memory or tells anyone, so a `StoreUnavailable` also leaves everything as
it was. Every method returns plain data: rendering is the console's business.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_core.names import check_room_name, check_user_name, has_forbidden_controls, name_key
from chat_srv.lookalikes import has_invisible
from chat_srv.passwords import HasherBusy
from chat_srv.picture import Audience, Room, User
from chat_srv.roles import CONSOLE, Actor
from chat_srv.sanctions import parse_network
from chat_srv.session import Connection
from chat_srv.store.base import (
    Conflict,
    MembershipState,
    Sanction,
    SanctionKind,
    StoredMessage,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:
    from chat_srv.cluster.node import NodeView
    from chat_srv.server import ChatServer

log = logging.getLogger(__name__)

REASON_MAX = 1000  # characters; a reason travels in every refused login
GENERATED_PASSWORD_BYTES = 12  # `add user`: 16 URL-safe characters, 96 random bits


class AdminError(Exception):
    """A mistake in an administrator's request (unknown user, nothing pending...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ConnectedUser:
    """One logged-in connection."""

    name: str
    ip: str | None
    since: int  # ms since the epoch
    rooms: tuple[str, ...]  # rooms the user is a member of


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """A room with its head counts."""

    name: str
    approval: bool
    members: int
    pending: int
    online: int  # members online now


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A join request waiting for an administrator."""

    user: str
    room: str


@dataclass(frozen=True, slots=True)
class SanctionView:
    """An active sanction, its target shown as registered (users) or canonical (IPs)."""

    kind: SanctionKind
    target: str
    until: int | None  # ms since the epoch; None = until lifted
    reason: str
    created_by: str
    created_at: int


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account made on the console, with the password generated for it."""

    name: str
    password: str  # shown once, to the administrator; only its hash is kept


@dataclass(frozen=True, slots=True)
class Moderated:
    """What a kick, ban, IP ban or kill did."""

    target: str  # the user as registered, or the canonical network
    closed: int  # connections closed
    until: int | None = None


class Admin:
    """The console's view of a running `ChatServer`: one method per operation.

    `actor` is who runs them (the operator by default): the log names them, and
    the sanctions they make are `created_by` their name. Whether they may run a
    command at all is checked at the door (`CommandLine`), with `may_run`.
    """

    def __init__(self, server: ChatServer, actor: Actor = CONSOLE) -> None:
        self._server = server
        self._actor = actor
        self._service = server.service
        self._hub = server.hub
        self._store = server.store
        self._clock = server.service.clock

    @property
    def actor(self) -> Actor:
        """Who runs the operations."""
        return self._actor

    def may_run(self, command: str) -> bool:
        """Whether the actor may run the command named by its words."""
        return self._actor.may_run(command)

    # -- look-ups -------------------------------------------------------------

    def user_names(self) -> list[str]:
        """Every registered user's name (for completion)."""
        return sorted((u.name for u in self._service.users.values()), key=name_key)

    def room_names(self) -> list[str]:
        """Every room's name (for completion)."""
        return [room.name for _, room in sorted(self._service.rooms.items())]

    def users(self) -> list[ConnectedUser]:
        """The logged-in connections, by user name then age."""
        found = []
        for conn in self._hub.connections:
            if isinstance(conn, Connection) and conn.user is not None:
                user = conn.user
                rooms = sorted(
                    (self._service.rooms_by_id[room_id].name for room_id in user.rooms),
                    key=name_key,
                )
                since = int(conn.connected_at * 1000)
                found.append(ConnectedUser(user.name, conn.ip, since, tuple(rooms)))
        found.sort(key=lambda c: (name_key(c.name), c.since))
        return found

    def rooms(self) -> list[RoomSummary]:
        """Every room, by name."""
        summaries = []
        for _, room in sorted(self._service.rooms.items()):
            states = list(room.members.values())
            summaries.append(
                RoomSummary(
                    name=room.name,
                    approval=room.approval,
                    members=states.count(MembershipState.MEMBER),
                    pending=states.count(MembershipState.PENDING),
                    online=self._service.online_members(room),
                )
            )
        return summaries

    def pending(self, user: str | None = None) -> list[PendingRequest]:
        """Pending join requests: everyone's, or one user's."""
        only = self._user(user).id if user is not None else None
        found = [
            PendingRequest(self._service.users_by_id[user_id].name, room.name)
            for _, room in sorted(self._service.rooms.items())
            for user_id, state in room.members.items()
            if state is MembershipState.PENDING and only in (None, user_id)
        ]
        found.sort(key=lambda p: (name_key(p.user), name_key(p.room)))
        return found

    def bans(self) -> list[SanctionView]:
        """Active kicks, user bans and IP bans, oldest first."""
        return [self._view(s) for s in self._service.sanctions.active(self._clock.now_ms())]

    async def messages_since(
        self, duration: timedelta, room: str | None = None
    ) -> list[StoredMessage]:
        """Room messages and direct messages of the last `duration` (one room's if given)."""
        room_id = self._room(room).id if room is not None else None
        since = self._clock.now_ms() - int(duration.total_seconds() * 1000)
        return await self._store.messages_since(since, room_id)

    # -- rooms and requests -----------------------------------------------------

    async def add_rooms(self, names: list[str], *, approval: bool = True) -> list[str]:
        """Create rooms and announce them (`room_added`); their names as created."""
        checked: dict[str, str] = {}
        for name in names:
            try:
                name = check_room_name(name)
            except ProtocolError as error:
                raise AdminError(f"{name!r}: {error.message}") from None
            if has_invisible(name):
                raise AdminError(f"{name!r}: a room name cannot hold invisible characters")
            key = name_key(name)
            if key in self._service.rooms or key in checked:
                raise AdminError(f"a room called {name} exists")
            clash = self._service.room_lookalikes.clash(name)
            if clash is not None:
                raise AdminError(f"{name} looks too much like the room {clash}")
            checked[key] = name
        created = []
        for name in checked.values():
            try:
                record = await self._store.create_room(name, approval)
            except Conflict:
                raise AdminError(f"a room called {name} exists") from None
            room = self._service.add_room(record)
            event = m.RoomAdded(room=room.name, approval=room.approval)
            self._service.send_event(m.encode(event), Audience(everyone=True))
            log.info(
                "%s: added room %s (%s)",
                self._actor.label,
                room.name,
                "approval" if approval else "open",
            )
            created.append(room.name)
        return created

    async def add_user(self, name: str) -> NewAccount:
        """Create an account with a generated password (also when registration is closed).

        The name rules are the same as for `register`, but a reserved name may be
        given here: the administrator is who those names are kept for.
        """
        try:
            name = check_user_name(name)
            password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
            user = await self._service.create_account(name, password, None, reserved_ok=True)
        except ProtocolError as error:
            if error.code is ErrorCode.INVALID_NAME:
                raise AdminError(f"{name!r}: {error.message}") from None
            raise AdminError(error.message) from None  # it names the name already
        except HasherBusy:
            raise AdminError("password hashing is busy; try again in a moment") from None
        self._service.announce_account(user)
        log.info("%s: added user %s", self._actor.label, user.name)
        return NewAccount(user.name, password)

    async def accept(self, user: str, rooms: list[str] | None) -> list[str]:
        """Turn pending requests into memberships (`rooms=None`: all of them)."""
        target, chosen = self._pending_rooms(user, rooms)
        for room in chosen:
            await self._store.set_membership(
                target.id, room.id, MembershipState.MEMBER, self._clock.now_ms()
            )
            # The user hears of their own membership before the room hears of them.
            event = m.Membership(room=room.name, state=m.MEMBER)
            self._service.send_event(m.encode(event), Audience(user_ids=(target.id,)))
            self._service.set_membership(target.id, room, MembershipState.MEMBER)
            log.info("%s: accepted %s into %s", self._actor.label, target.name, room.name)
        return [room.name for room in chosen]

    async def reject(self, user: str, rooms: list[str] | None) -> list[str]:
        """Refuse pending requests (`rooms=None`: all of them)."""
        target, chosen = self._pending_rooms(user, rooms)
        for room in chosen:
            await self._store.delete_membership(target.id, room.id)
            self._service.set_membership(target.id, room, None)
            event = m.Membership(room=room.name, state=m.NONE)
            self._service.send_event(m.encode(event), Audience(user_ids=(target.id,)))
            log.info("%s: rejected %s from %s", self._actor.label, target.name, room.name)
        return [room.name for room in chosen]

    def _pending_rooms(self, name: str, rooms: list[str] | None) -> tuple[User, list[Room]]:
        user = self._user(name)
        if rooms is None:
            chosen = [
                room
                for _, room in sorted(self._service.rooms.items())
                if room.members.get(user.id) is MembershipState.PENDING
            ]
            if not chosen:
                raise AdminError(f"{user.name} has no pending request")
            return user, chosen
        chosen = []
        for room_name in rooms:
            room = self._room(room_name)
            if room.members.get(user.id) is not MembershipState.PENDING:
                raise AdminError(f"{user.name} has no pending request for {room.name}")
            if room not in chosen:
                chosen.append(room)
        if not chosen:
            raise AdminError("name at least one room, or all")
        return user, chosen

    # -- moderation ---------------------------------------------------------------

    async def kick(self, user: str, duration: timedelta, reason: str) -> Moderated:
        """Disconnect a user and refuse their logins for `duration`."""
        target = self._user(user)
        reason = _reason(reason)
        if duration <= timedelta(0):
            raise AdminError("a kick lasts longer than zero")
        now = self._clock.now_ms()
        until = now + int(duration.total_seconds() * 1000)
        key = name_key(target.name)
        # A new kick replaces the old one rather than piling up beside it.
        await self._store.lift_sanctions(SanctionKind.KICK, key, now)
        sanction = await self._store.add_sanction(
            SanctionKind.KICK, key, until, reason, self._actor.name, now
        )
        goodbye = m.Disconnect(
            reason=DisconnectReason.KICKED, text=f"you are kicked: {reason}", until=until
        )
        closed = self._service.impose(sanction, m.encode(goodbye))
        log.info(
            "%s: kicked %s until %s (%d connections closed), reason %r",
            self._actor.label,
            target.name,
            datetime.fromtimestamp(until / 1000).isoformat(sep=" ", timespec="seconds"),
            closed,
            reason,
        )
        return Moderated(target.name, closed, until)

    async def unkick(self, user: str) -> str:
        """Lift a user's kick early; the user's name."""
        target = self._user(user)
        key = name_key(target.name)
        now = self._clock.now_ms()
        self._service.sanctions.active(now)  # drops kicks that have run out
        if key not in self._service.sanctions.kicks:
            raise AdminError(f"{target.name} is not kicked")
        await self._store.lift_sanctions(SanctionKind.KICK, key, now)
        self._service.lift(SanctionKind.KICK, key)
        log.info("%s: unkicked %s", self._actor.label, target.name)
        return target.name

    async def ban(self, user: str, reason: str) -> Moderated:
        """Disconnect a user and refuse their logins until `unban`."""
        target = self._user(user)
        reason = _reason(reason)
        key = name_key(target.name)
        if key in self._service.sanctions.bans:
            raise AdminError(f"{target.name} is already banned")
        sanction = await self._store.add_sanction(
            SanctionKind.BAN, key, None, reason, self._actor.name, self._clock.now_ms()
        )
        goodbye = m.Disconnect(reason=DisconnectReason.BANNED, text=f"you are banned: {reason}")
        closed = self._service.impose(sanction, m.encode(goodbye))
        await self._store.revoke_sessions(target.id)
        log.info(
            "%s: banned %s (%d connections closed), reason %r",
            self._actor.label,
            target.name,
            closed,
            reason,
        )
        return Moderated(target.name, closed)

    async def unban(self, user: str) -> str:
        """Lift a user's ban; the user's name."""
        target = self._user(user)
        key = name_key(target.name)
        if key not in self._service.sanctions.bans:
            raise AdminError(f"{target.name} is not banned")
        await self._store.lift_sanctions(SanctionKind.BAN, key, self._clock.now_ms())
        self._service.lift(SanctionKind.BAN, key)
        log.info("%s: unbanned %s", self._actor.label, target.name)
        return target.name

    async def ban_ip(self, network: str, reason: str) -> Moderated:
        """Close the connections from an address or CIDR block and refuse new ones."""
        canonical = _network(network)
        reason = _reason(reason)
        sanctions = self._service.sanctions
        if parse_network(canonical) in sanctions.ip_bans:
            raise AdminError(f"{canonical} is already banned")
        sanction = await self._store.add_sanction(
            SanctionKind.IP_BAN, canonical, None, reason, self._actor.name, self._clock.now_ms()
        )
        # The same words a new connection from there gets (`ChatServer.connection_refusal`).
        goodbye = m.encode(m.Disconnect(reason=DisconnectReason.BANNED, text=f"banned: {reason}"))
        closed = self._service.impose(sanction, goodbye)
        log.info(
            "%s: banned address %s (%d connections closed), reason %r",
            self._actor.label,
            canonical,
            closed,
            reason,
        )
        return Moderated(canonical, closed)

    async def unban_ip(self, network: str) -> str:
        """Lift an IP ban (named as it was banned, in any spelling); the canonical network."""
        canonical = _network(network)
        if parse_network(canonical) not in self._service.sanctions.ip_bans:
            raise AdminError(f"{canonical} is not banned")
        await self._store.lift_sanctions(SanctionKind.IP_BAN, canonical, self._clock.now_ms())
        self._service.lift(SanctionKind.IP_BAN, canonical)
        log.info("%s: unbanned address %s", self._actor.label, canonical)
        return canonical

    async def kill(self, user: str, reason: str) -> Moderated:
        """Disconnect a user now; they may log in again at once."""
        target = self._user(user)
        reason = _reason(reason)
        if not self._service.is_online(target.id):
            raise AdminError(f"{target.name} is not connected")
        goodbye = m.Disconnect(
            reason=DisconnectReason.KILLED, text=f"disconnected by the administrator: {reason}"
        )
        closed = self._service.close_user(target.id, m.encode(goodbye))
        await self._store.revoke_sessions(target.id)  # the password logs in again
        log.info(
            "%s: killed %s (%d connections), reason %r",
            self._actor.label,
            target.name,
            closed,
            reason,
        )
        return Moderated(target.name, closed)

    def nodes(self) -> list[NodeView] | None:
        """The cluster's nodes, or None when the server runs alone."""
        cluster = self._server.cluster
        return None if cluster is None else cluster.nodes()

    async def redact(self, msg_id: int, reason: str) -> int:
        """Delete a message (`deleted` goes to whoever can read it); its id.

        Moderators redact room messages; admins and the operator any message.
        """
        reason = _reason(reason)
        try:
            await self._service.changes.redact(self._actor.name, self._actor.role, msg_id, reason)
        except ProtocolError as error:
            raise AdminError(error.message) from None
        return msg_id

    async def topic(self, room: str, text: str) -> tuple[str, str | None]:
        """Set a room's topic ("" clears it); the room's name and the topic set."""
        target = self._room(room)
        try:
            topic = await self._service.noticing.change_topic(target, text, by=self._actor.name)
        except ProtocolError as error:
            raise AdminError(error.message) from None
        return target.name, topic

    async def set_role(self, user: str, role: Role) -> tuple[str, Role]:
        """Give a user a role (`user` takes it back); their name and the role.

        It applies at once: the next `moderate` of their open connections sees it.
        """
        target = self._user(user)
        if target.role is role:
            raise AdminError(
                f"{target.name} is already {role}"
                if role is not Role.USER
                else f"{target.name} is neither a moderator nor an admin"
            )
        await self._store.set_role(target.id, role)
        self._service.give_role(target, role)
        log.info("%s: %s is now %s", self._actor.label, target.name, role)
        return target.name, role

    # -- everyone -------------------------------------------------------------------

    async def notice(self, text: str) -> int:
        """Send a `notice` to every logged-in connection; how many users it reached."""
        text = text.strip()
        if not text:
            raise AdminError("a notice needs some text")
        if len(text) > REASON_MAX * 4:
            raise AdminError(f"a notice is at most {REASON_MAX * 4} characters")
        if has_forbidden_controls(text):
            raise AdminError("a notice cannot hold control characters")
        self._service.send_event(m.encode(m.Notice(text=text)), Audience(everyone=True))
        reached = sum(1 for _ in self._hub.online_users())
        log.info(
            "%s: notice of %d characters sent to %d users", self._actor.label, len(text), reached
        )
        return reached

    async def backup(self, path: str) -> str:
        """Copy the database to a new file at `path` while the server runs; the path."""
        try:
            await self._store.backup(path)
        except StoreUnavailable:
            raise
        except StoreError as error:
            raise AdminError(str(error)) from None
        log.info("%s: backed up the database to %s", self._actor.label, path)
        return path

    async def shutdown(self) -> None:
        """Stop the server gracefully, as a signal would; returns once it has stopped."""
        log.info("%s: shutdown", self._actor.label)
        await self._server.stop()

    # -- helpers ----------------------------------------------------------------------

    def _user(self, name: str) -> User:
        user = self._service.users.get(name_key(name))
        if user is None:
            raise AdminError(f"no user called {name}")
        return user

    def _room(self, name: str) -> Room:
        room = self._service.rooms.get(name_key(name))
        if room is None:
            raise AdminError(f"no room called {name}")
        return room

    def _view(self, sanction: Sanction) -> SanctionView:
        target = sanction.target
        if sanction.kind is not SanctionKind.IP_BAN:
            user = self._service.users.get(target)
            target = user.name if user is not None else target
        return SanctionView(
            sanction.kind,
            target,
            sanction.until,
            sanction.reason,
            sanction.created_by,
            sanction.created_at,
        )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise AdminError("give a reason")
    if len(reason) > REASON_MAX:
        raise AdminError(f"a reason is at most {REASON_MAX} characters")
    if has_forbidden_controls(reason):  # it goes to clients: the body rule applies
        raise AdminError("a reason cannot hold control characters")
    return reason


def _network(text: str) -> str:
    try:
        return str(parse_network(text))
    except ValueError:
        raise AdminError(f"{text!r} is not an IP address or CIDR block") from None
