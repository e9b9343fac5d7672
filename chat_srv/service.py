"""The rules: what each request does, who may do it, and who hears about it.

The service owns the in-memory picture of users, rooms and memberships (loaded
from the store at start, written through on every change) and answers requests
from a connection's own identity. It does no socket I/O: connections and fan-out
are the hub's; durability is the store's, reached through the group committer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_core.names import name_key
from chat_srv.clock import Clock
from chat_srv.committer import Committer
from chat_srv.config import Registration, ServerConfig
from chat_srv.hub import Hub, Peer
from chat_srv.limits import AttemptLimit, SlidingWindow, TokenBucket
from chat_srv.lookalikes import LookalikeIndex, has_invisible
from chat_srv.passwords import HasherBusy, PasswordHasher
from chat_srv.sanctions import Sanctions
from chat_srv.store.base import (
    Conflict,
    MembershipState,
    NewMessage,
    RoomRecord,
    Store,
    StoredId,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_ROOM = "Général"
_FAILURE_WINDOW = 60.0  # seconds over which login attempts are counted
_REGISTRATION_WINDOW = 3600.0  # seconds over which registrations are counted
_SOON = 0.05  # seconds: the least a login held back by others in flight is told to wait


@dataclass(slots=True)
class User:
    """An account as the service keeps it in memory."""

    id: int
    name: str
    rooms: set[int] = field(default_factory=set)  # ids of rooms the user is a member of
    bucket: TokenBucket | None = None  # requests over all the user's connections, while online
    role: Role = Role.USER


@dataclass(slots=True)
class Room:
    """A room as the service keeps it in memory."""

    id: int
    name: str
    approval: bool
    last_msg_id: int = 0
    members: dict[int, MembershipState] = field(default_factory=dict)  # user id -> state


class Client(Peer, Protocol):
    """What the service needs of a connection, beyond the hub's `Peer`."""

    user: User | None
    ip: str | None

    @property
    def closed(self) -> bool:
        """Whether the connection has gone (closing or closed)."""

    def close_after_reply(self) -> None:
        """Close the connection once the current reply is written."""


Handler = Callable[[Any, Any], Awaitable[m.Reply]]
Moderator = Callable[[Client, m.Moderate], Awaitable[m.Reply]]
"""Runs a `moderate` request's console line (`chat_srv.moderation`, set by the server)."""


class Service:
    """Answers requests; keeps users, rooms and memberships; tells the hub who hears what."""

    def __init__(
        self,
        store: Store,
        hub: Hub,
        hasher: PasswordHasher,
        config: ServerConfig,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.config = config
        self.clock = clock or Clock()
        self.metrics = hub.metrics  # the server's counters (chat_srv.metrics)
        self.committer = Committer(store, config.max_batch, self._deliver, self.metrics)
        self.hasher = hasher
        self.sanctions = Sanctions()
        # Login attempts: the failed ones and those being checked (see `_login`).
        self._user_attempts = AttemptLimit(config.login_failures_per_user, _FAILURE_WINDOW)
        self._ip_attempts = AttemptLimit(config.login_failures_per_ip, _FAILURE_WINDOW)
        self._registrations = SlidingWindow(config.registrations_per_ip, _REGISTRATION_WINDOW)
        self.users: dict[str, User] = {}  # by name key
        self.users_by_id: dict[int, User] = {}
        self.rooms: dict[str, Room] = {}  # by name key
        self.rooms_by_id: dict[int, Room] = {}
        # Names taken or being created, by look-alike key (`chat_srv.lookalikes`).
        self.user_lookalikes = LookalikeIndex()
        self.room_lookalikes = LookalikeIndex()
        self._reserved = LookalikeIndex(config.reserved_names)
        self.moderator: Moderator | None = None
        self._handlers: dict[type[m.Request], Handler] = {
            m.Register: self._register,
            m.Login: self._login,
            m.Logout: self._logout,
            m.ListRooms: self._list_rooms,
            m.Join: self._join,
            m.Leave: self._leave,
            m.History: self._history,
            m.Who: self._who,
            m.MarkRead: self._mark_read,
            m.Ping: self._ping,
            m.Moderate: self._moderate,
        }

    async def load(self) -> None:
        """Read users, rooms, memberships and sanctions from the store."""
        for record in await self.store.get_users():
            self._remember_user(record.id, record.name, record.role)
        last_ids = await self.store.room_last_ids()
        for room in await self.store.get_rooms():
            self._remember_room(room.id, room.name, room.approval, last_ids.get(room.id, 0))
        for ms in await self.store.get_memberships():
            self._set_member_state(ms.user_id, ms.room_id, ms.state)
        self.sanctions.load(await self.store.active_sanctions(self.clock.now_ms()))

    # -- dispatch ---------------------------------------------------------------

    async def handle(self, client: Client, request: m.Request) -> m.Reply:
        """Answer one request (not `send`/`dm`: see `submit`). Never raises."""
        try:
            if client.user is None and not isinstance(request, m.PRE_LOGIN_TYPES):
                raise ProtocolError(ErrorCode.NOT_LOGGED_IN, "log in first")
            return await self._handlers[type(request)](client, request)
        except Exception as error:
            return self._error_reply(request.id, error)

    def submit(self, client: Client, request: m.Send | m.Dm) -> Awaitable[m.Reply]:
        """Start storing a `send` or `dm`; the awaitable gives its reply. Never raises.

        Checks happen now, in request order; storing is batched with other sends.
        """
        try:
            user = client.user
            if user is None:
                raise ProtocolError(ErrorCode.NOT_LOGGED_IN, "log in first")
            ts = self.clock.now_ms()
            if isinstance(request, m.Send):
                room = self._member_room(user, request.room)
                message = NewMessage(
                    user.id, request.body, ts, room_id=room.id, nonce=request.nonce
                )
            else:
                peer = self._user(request.to)
                if peer.id == user.id:
                    raise ProtocolError(
                        ErrorCode.BAD_REQUEST, "a direct message goes to someone else"
                    )
                message = NewMessage(
                    user.id, request.body, ts, recipient_id=peer.id, nonce=request.nonce
                )
            future = self.committer.submit(message)
        except Exception as error:
            return _ready(self._error_reply(request.id, error))
        return self._sent_reply(request.id, future)

    async def _sent_reply(self, request_id: int, future: Awaitable[StoredId]) -> m.Reply:
        try:
            stored = await future
        except Exception as error:
            return self._error_reply(request_id, error)
        if stored.reused:
            return m.ErrorReply(
                id=request_id,
                code=ErrorCode.BAD_REQUEST,
                message="nonce already used for another message",
            )
        return m.SentOk(id=request_id, msg_id=stored.msg_id, ts=stored.ts)

    def _error_reply(self, request_id: int, error: Exception) -> m.ErrorReply:
        if isinstance(error, ProtocolError):
            error.request_id = request_id
            return m.ErrorReply.from_exception(error)
        if isinstance(error, HasherBusy):
            self.metrics.limited_hashing.inc()
            return m.ErrorReply(
                id=request_id,
                code=ErrorCode.RATE_LIMITED,
                message="the server is busy checking passwords; try again shortly",
                retry_after_ms=error.retry_after_ms,
            )
        if isinstance(error, StoreUnavailable):
            log.warning("storage unavailable: %s", error)
            return m.ErrorReply(
                id=request_id,
                code=ErrorCode.UNAVAILABLE,
                message="storage is unavailable; try again",
            )
        log.exception("request %d failed", request_id)
        return m.ErrorReply(id=request_id, code=ErrorCode.INTERNAL, message="internal error")

    # -- accounts -------------------------------------------------------------

    async def _register(self, client: Client, request: m.Register) -> m.Reply:
        self._check_not_logged_in(client)
        if self.config.registration is Registration.CLOSED:
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "registration is closed on this server: ask its administrator for an account",
            )
        self.check_new_user_name(request.user)
        ip = client.ip
        counted = ip is not None and self._limits_address(ip)
        now = self.clock.monotonic()
        if counted:
            assert ip is not None
            wait = self._registrations.retry_after(ip, now)
            if wait > 0:
                self.metrics.limited_registrations.inc()
                raise ProtocolError(
                    ErrorCode.RATE_LIMITED,
                    "too many new accounts from your address; try again later",
                    retry_after_ms=math.ceil(wait * 1000),
                )
            self._registrations.add(ip, now)  # from the start: registrations in flight count
        try:
            user = await self.create_account(request.user, request.password, ip)
        except BaseException:
            if counted:
                assert ip is not None
                self._registrations.discard(ip, now)  # no account was made
            raise
        log.info("registered %s from %s", user.name, ip)
        self.metrics.registrations.inc()
        reply = await self._logged_in(client, request.id, user)
        self.announce_account(user)
        return reply

    def announce_account(self, user: User) -> None:
        """Tell Général that a new account joined it, once the current reply is out.

        After the reply, so the new user's connection hears its own join as a
        logged-in client, like every other member.
        """
        general = self.rooms.get(name_key(DEFAULT_ROOM))
        if general is not None and user.id in general.members:
            event = m.encode(m.Member(room=general.name, user=user.name, joined=True))
            asyncio.get_running_loop().call_soon(self.hub.to_room, general.id, event)

    def check_new_user_name(self, name: str, *, reserved_ok: bool = False) -> None:
        """Raise unless `name` may be registered now (the rule is in docs/protocol.md).

        Invisible characters make it `invalid_name`; a name taken, one that looks
        like a name taken (UTS #39), or a reserved one (unless `reserved_ok`: the
        console) is `user_exists`.
        """
        if has_invisible(name):
            raise ProtocolError(
                ErrorCode.INVALID_NAME, "a user name cannot hold invisible or filler characters"
            )
        if name_key(name) in self.users:
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is taken")
        clash = self.user_lookalikes.clash(name)
        if clash is not None:
            raise ProtocolError(
                ErrorCode.USER_EXISTS, f"{name} looks too much like {clash}, which is taken"
            )
        if not reserved_ok and self._reserved.clash(name) is not None:
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is reserved")

    async def create_account(
        self, name: str, password: str, ip: str | None, *, reserved_ok: bool = False
    ) -> User:
        """Create an account (a member of Général) and remember it.

        Raises:
            ProtocolError: the name may not be registered (`check_new_user_name`).
            HasherBusy: the password cannot be hashed now.
            StoreUnavailable: the store failed; nothing was created.
        """
        self.check_new_user_name(name, reserved_ok=reserved_ok)
        # Claimed while it is created: a look-alike registering at the same time waits
        # for nothing and is refused.
        self.user_lookalikes.add(name)
        try:
            password_hash = await self.hasher.hash(password)
            record = await self.store.create_user(name, password_hash, self.clock.now_ms(), ip)
        except Conflict:
            self.user_lookalikes.remove(name)
            raise ProtocolError(ErrorCode.USER_EXISTS, f"{name} is taken") from None
        except BaseException:
            self.user_lookalikes.remove(name)
            raise
        user = self._remember_user(record.id, record.name)
        general = self.rooms.get(name_key(DEFAULT_ROOM))
        if general is not None:
            now = self.clock.now_ms()
            await self.store.set_membership(user.id, general.id, MembershipState.MEMBER, now)
            self._set_member_state(user.id, general.id, MembershipState.MEMBER)
        return user

    def _limits_address(self, ip: str) -> bool:
        """Whether per-address limits apply to `ip` (loopback only with limit_loopback)."""
        if self.config.limit_loopback:
            return True
        try:
            return not ipaddress.ip_address(ip).is_loopback
        except ValueError:
            return True

    async def _login(self, client: Client, request: m.Login) -> m.Reply:
        self._check_not_logged_in(client)
        record = await self.store.get_user(request.user)
        user_key = name_key(request.user)
        ip = client.ip
        known_here = (
            record is not None and ip is not None and await self.store.known_address(record.id, ip)
        )
        # The budgets this attempt spends (docs/security.md, "Failed logins"): at an
        # address the owner has logged in from, one of that address's own; anywhere
        # else, the account's budget for strangers and the address's.
        budgets = [(self._user_attempts, f"{user_key} {ip}" if known_here else user_key)]
        if ip is not None and not known_here:
            budgets.append((self._ip_attempts, ip))
        now = self.clock.monotonic()
        soon = max(_SOON, self.hasher.job_seconds)
        wait = max(limit.retry_after(key, now, soon) for limit, key in budgets)
        if wait > 0:
            self.metrics.limited_logins.inc()
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                "too many login attempts; wait a little",
                retry_after_ms=math.ceil(wait * 1000),
            )
        for limit, key in budgets:
            limit.start(key)
        failed = False  # a check the pool refused is no attempt
        try:
            known_hash = record.password_hash if record is not None else None
            failed = not await self.hasher.verify(known_hash, request.password)
        finally:
            for limit, key in budgets:
                limit.finish(key, self.clock.monotonic(), failed=failed)
        if failed:
            log.info("failed login for %r from %s", request.user, ip)
            self.metrics.login_failures.inc()
            raise ProtocolError(ErrorCode.AUTH_FAILED, "wrong user name or password")
        assert record is not None
        self._user_attempts.forget(budgets[0][1])
        self.sanctions.check_login(user_key, self.clock.now_ms())
        if self.hasher.needs_rehash(record.password_hash):
            await self.store.set_password_hash(record.id, await self.hasher.hash(request.password))
        user = self.users_by_id.get(record.id) or self._remember_user(
            record.id, record.name, record.role
        )
        return await self._logged_in(client, request.id, user)

    async def _logged_in(self, client: Client, request_id: int, user: User) -> m.Reply:
        await self.store.record_login(user.id, client.ip, self.clock.now_ms())
        if client.user is not None:  # a second login raced this one on the same connection
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN, "already logged in")
        unread = {r.room_id: r.unread for r in await self.store.room_unread(user.id)}
        dms = [
            m.DmInfo(peer=d.peer, last_msg_id=d.last_msg_id, unread=d.unread)
            for d in await self.store.dm_unread(user.id)
        ]
        # A kick or ban may have landed while this login waited on the store.
        self.sanctions.check_login(name_key(user.name), self.clock.now_ms())
        if not client.closed:  # gone while the login waited: nothing to attach
            client.user = user
            config = self.config
            # `request_rate` 0 turns request limiting off altogether (benchmarks).
            if user.bucket is None and config.request_rate > 0 and config.user_request_rate > 0:
                now = asyncio.get_running_loop().time()  # the connections' clock
                user.bucket = TokenBucket(config.user_request_rate, config.user_request_burst, now)
            if self.hub.attach(client, user.id, user.rooms):
                self._announce_presence(user, online=True)
            log.info("login %s from %s", user.name, client.ip)
            self.metrics.logins.inc()
        return m.LoginOk(
            id=request_id,
            user=user.name,
            rooms=self._room_infos(user, unread),
            dms=dms,
            server_time=self.clock.now_ms(),
            role=user.role,
        )

    async def _logout(self, client: Client, request: m.Logout) -> m.Reply:
        client.close_after_reply()
        return m.Ok(id=request.id)

    def disconnected(self, client: Client) -> None:
        """A connection closed: take it out of the hub, announce the user gone if last."""
        user = client.user
        if user is None:
            return
        client.user = None
        if self.hub.detach(client, user.id, user.rooms):
            user.bucket = None
            self._announce_presence(user, online=False)

    def _announce_presence(self, user: User, *, online: bool) -> None:
        peers: set[Peer] = set()
        for room_id in user.rooms:
            peers.update(self.hub.room_connections(room_id))
        peers.difference_update(self.hub.user_connections(user.id))
        if peers:
            self.hub.to_peers(peers, m.encode(m.Presence(user=user.name, online=online)))

    # -- rooms ----------------------------------------------------------------

    async def _list_rooms(self, client: Client, request: m.ListRooms) -> m.Reply:
        user = _logged(client)
        unread = {r.room_id: r.unread for r in await self.store.room_unread(user.id)}
        return m.RoomsOk(id=request.id, rooms=self._room_infos(user, unread))

    async def _join(self, client: Client, request: m.Join) -> m.Reply:
        user = _logged(client)
        room = self._room(request.room)
        state = room.members.get(user.id)
        if state is MembershipState.MEMBER:
            raise ProtocolError(ErrorCode.ALREADY_MEMBER, f"already a member of {room.name}")
        if state is MembershipState.PENDING:
            return m.JoinOk(id=request.id, state=m.PENDING)
        wanted = MembershipState.PENDING if room.approval else MembershipState.MEMBER
        await self.store.set_membership(user.id, room.id, wanted, self.clock.now_ms())
        self.set_membership(user.id, room, wanted)
        return m.JoinOk(id=request.id, state=str(wanted))

    async def _leave(self, client: Client, request: m.Leave) -> m.Reply:
        user = _logged(client)
        room = self._room(request.room)
        if room.members.get(user.id) is None:
            raise ProtocolError(ErrorCode.NOT_MEMBER, f"not a member of {room.name}")
        await self.store.delete_membership(user.id, room.id)
        self.set_membership(user.id, room, None)
        return m.Ok(id=request.id)

    def set_membership(self, user_id: int, room: Room, state: MembershipState | None) -> None:
        """Apply a stored membership change in memory, in the hub, and announce it.

        Becoming a member or leaving sends `member` to the room (the user's own
        connections included); a pending request is silent.
        """
        before = room.members.get(user_id)
        self._set_member_state(user_id, room.id, state)
        user = self.users_by_id[user_id]
        if state is MembershipState.MEMBER and before is not MembershipState.MEMBER:
            self.hub.enter_room(user_id, room.id)
            event = m.Member(room=room.name, user=user.name, joined=True)
            self.hub.to_room(room.id, m.encode(event))
        elif before is MembershipState.MEMBER and state is not MembershipState.MEMBER:
            event = m.Member(room=room.name, user=user.name, joined=False)
            data = m.encode(event)
            self.hub.to_room(room.id, data)  # the leaver's connections hear it too
            self.hub.exit_room(user_id, room.id)

    def _room_infos(self, user: User, unread: dict[int, int]) -> list[m.RoomInfo]:
        return [self.room_info(room, user, unread) for room in self._sorted_rooms()]

    def room_info(self, room: Room, user: User | None, unread: dict[int, int]) -> m.RoomInfo:
        """A room as `user` sees it.

        `unread` only where the user is a member. Of a room that needs approval, a
        user who is not a member learns only its name, that it needs approval, and
        their own state: not how many are in it, nor whether anything is said there.
        """
        state = room.members.get(user.id) if user is not None else None
        member = state is MembershipState.MEMBER
        if room.approval and not member:
            return m.RoomInfo(
                name=room.name, approval=True, state=str(state) if state is not None else m.NONE
            )
        return m.RoomInfo(
            name=room.name,
            approval=room.approval,
            state=str(state) if state is not None else m.NONE,
            online=self.online_members(room),
            last_msg_id=room.last_msg_id,
            unread=unread.get(room.id, 0) if member else None,
        )

    def online_members(self, room: Room) -> int:
        """How many members of the room are online now."""
        return sum(
            1
            for user_id, state in room.members.items()
            if state is MembershipState.MEMBER and self.hub.is_online(user_id)
        )

    def _sorted_rooms(self) -> list[Room]:
        return [self.rooms[key] for key in sorted(self.rooms)]

    # -- messages -------------------------------------------------------------

    def _deliver(self, batch: list[tuple[NewMessage, StoredId]]) -> None:
        """Fan out a committed batch (called by the committer, in id order).

        Each room's new messages go to its members as one run of frames, so a
        member's connection gets one append per batch, not one per message.
        """
        to_rooms: dict[int, list[bytes]] = {}
        users = self.users_by_id
        for message, stored in batch:
            sender = users[message.sender_id]
            room = self.rooms_by_id[message.room_id] if message.room_id is not None else None
            recipient = users[message.recipient_id] if message.recipient_id is not None else None
            data = m.encode(
                m.Message(
                    msg_id=stored.msg_id,
                    ts=stored.ts,
                    sender=sender.name,
                    body=message.body,
                    room=room.name if room is not None else None,
                    to=recipient.name if recipient is not None else None,
                )
            )
            if room is not None:
                room.last_msg_id = stored.msg_id
                to_rooms.setdefault(room.id, []).append(data)
            elif recipient is not None:
                self.hub.to_user(sender.id, data)
                self.hub.to_user(recipient.id, data)
        for room_id, frames in to_rooms.items():
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            self.hub.to_room(room_id, data, frames=len(frames))

    async def _history(self, client: Client, request: m.History) -> m.Reply:
        user = _logged(client)
        if request.room is not None:
            room = self._member_room(user, request.room)
            page, more = await self.store.room_history(
                room.id, before=request.before, after=request.after, limit=request.limit
            )
        else:
            assert request.peer is not None
            peer = self._user(request.peer)
            page, more = await self.store.dm_history(
                user.id, peer.id, before=request.before, after=request.after, limit=request.limit
            )
        messages = [
            m.Message(
                msg_id=s.msg_id,
                ts=s.ts,
                sender=s.sender,
                body=s.body,
                room=s.room,
                to=s.recipient,
            )
            for s in page
        ]
        return m.HistoryOk(id=request.id, messages=messages, more=more)

    async def _mark_read(self, client: Client, request: m.MarkRead) -> m.Reply:
        user = _logged(client)
        if request.room is not None:
            room = self._member_room(user, request.room)
            msg_id = min(request.msg_id, room.last_msg_id)
            moved = await self.store.mark_room_read(user.id, room.id, msg_id)
            event = m.Read(room=room.name, msg_id=msg_id)
        else:
            assert request.peer is not None
            peer = self._user(request.peer)
            newest, _ = await self.store.dm_history(
                user.id, peer.id, before=None, after=None, limit=1
            )
            msg_id = min(request.msg_id, newest[0].msg_id if newest else 0)
            moved = await self.store.mark_dm_read(user.id, peer.id, msg_id)
            event = m.Read(peer=peer.name, msg_id=msg_id)
        if moved:
            self.hub.to_user(user.id, m.encode(event), skip=client)
        return m.Ok(id=request.id)

    async def _who(self, client: Client, request: m.Who) -> m.Reply:
        user = _logged(client)
        if request.room is not None:
            room = self._member_room(user, request.room)
            ids = [uid for uid, st in room.members.items() if st is MembershipState.MEMBER]
        else:
            ids = list(self.hub.online_users())
        people = [self.users_by_id[uid] for uid in ids]
        users = [
            m.UserInfo(
                name=u.name,
                online=self.hub.is_online(u.id),
                role=u.role if u.role is not Role.USER else None,
            )
            for u in people
        ]
        users.sort(key=lambda u: (not u.online, name_key(u.name)))
        return m.WhoOk(id=request.id, users=users)

    async def _ping(self, client: Client, request: m.Ping) -> m.Reply:
        return m.Ok(id=request.id)

    async def _moderate(self, client: Client, request: m.Moderate) -> m.Reply:
        user = _logged(client)
        if user.role is Role.USER or self.moderator is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, "moderation is for moderators and admins")
        return await self.moderator(client, request)

    # -- look-ups and bookkeeping -----------------------------------------------

    def _check_not_logged_in(self, client: Client) -> None:
        if client.user is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN, "already logged in")

    def _room(self, name: str) -> Room:
        room = self.rooms.get(name_key(name))
        if room is None:
            raise ProtocolError(ErrorCode.NO_SUCH_ROOM, f"no room called {name}")
        return room

    def _member_room(self, user: User, name: str) -> Room:
        room = self._room(name)
        if room.members.get(user.id) is not MembershipState.MEMBER:
            raise ProtocolError(ErrorCode.NOT_MEMBER, f"not a member of {room.name}")
        return room

    def _user(self, name: str) -> User:
        user = self.users.get(name_key(name))
        if user is None:
            raise ProtocolError(ErrorCode.NO_SUCH_USER, f"no user called {name}")
        return user

    def _remember_user(self, user_id: int, name: str, role: Role = Role.USER) -> User:
        user = User(user_id, name, role=role)
        self.users[name_key(name)] = user
        self.users_by_id[user_id] = user
        self.user_lookalikes.add(name)
        return user

    def add_room(self, record: RoomRecord) -> Room:
        """Remember a room just created in the store (by the admin console)."""
        return self._remember_room(record.id, record.name, record.approval, 0)

    def _remember_room(self, room_id: int, name: str, approval: bool, last_msg_id: int) -> Room:
        room = Room(room_id, name, approval, last_msg_id)
        self.rooms[name_key(name)] = room
        self.rooms_by_id[room_id] = room
        self.room_lookalikes.add(name)
        return room

    def _set_member_state(self, user_id: int, room_id: int, state: MembershipState | None) -> None:
        room = self.rooms_by_id[room_id]
        user = self.users_by_id[user_id]
        if state is None:
            room.members.pop(user_id, None)
        else:
            room.members[user_id] = state
        if state is MembershipState.MEMBER:
            user.rooms.add(room_id)
        else:
            user.rooms.discard(room_id)


def _logged(client: Client) -> User:
    user = client.user
    if user is None:  # `handle` lets only pre-login requests through without a user
        raise ProtocolError(ErrorCode.NOT_LOGGED_IN, "log in first")
    return user


async def _ready(reply: m.Reply) -> m.Reply:
    return reply
