"""The service's picture of the server: users, rooms, memberships and sanctions.

Loaded from the store at start and written through on every change, it is what
every family of rules reads: `chat_srv.accounts` (registering, logging in, going
online and offline) and `chat_srv.service` (rooms, messages, the rest). It holds
the look-ups every rule shares and the views of a room a user is shown. No I/O of
its own: the store is reached by the rules, the hub is told who is where.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_core.names import name_key
from chat_srv.clock import Clock
from chat_srv.config import ServerConfig
from chat_srv.hub import Hub, Peer
from chat_srv.limits import TokenBucket
from chat_srv.lookalikes import LookalikeIndex
from chat_srv.mentions import mentioned
from chat_srv.sanctions import Sanctions
from chat_srv.store.base import (
    MembershipState,
    RoomRecord,
    RoomUnread,
    Sanction,
    SanctionKind,
    Store,
)

DEFAULT_ROOM = "Général"


@dataclass(slots=True)
class User:
    """An account as the service keeps it in memory."""

    id: int
    name: str
    rooms: set[int] = field(default_factory=set)  # ids of rooms the user is a member of
    bucket: TokenBucket | None = None  # requests over all the user's connections, while online
    role: Role = Role.USER
    # Status, until changed or the last connection closes (in a cluster: anywhere).
    away: bool = False
    away_text: str | None = None
    # Ids of the users they have a conversation with, while online (status goes
    # there): NO_PEERS, shared, for the many with none (a set is 216 bytes more).
    dm_peers: Set[int] | None = None

    def add_dm_peer(self, peer_id: int) -> None:
        """Note a conversation with `peer_id`, if the peers are kept (while online)."""
        peers = self.dm_peers
        if isinstance(peers, set):
            peers.add(peer_id)
        elif peers is not None:
            self.dm_peers = {peer_id}


NO_PEERS: Set[int] = frozenset()


@dataclass(slots=True)
class Room:
    """A room as the service keeps it in memory."""

    id: int
    name: str
    approval: bool
    last_msg_id: int = 0
    members: dict[int, MembershipState] = field(default_factory=dict)  # user id -> state
    topic: str | None = None


class Client(Peer, Protocol):
    """What the service needs of a connection, beyond the hub's `Peer`."""

    user: User | None
    # When `typing` was last relayed, by target (room or peer); made on first use.
    typing: dict[tuple[bool, int], float] | None
    session: str | None  # the digest of the session token it logged in with

    @property
    def closed(self) -> bool:
        """Whether the connection has gone (closing or closed)."""

    def close_after_reply(self) -> None:
        """Close the connection once the current reply is written."""


class Audience(NamedTuple):
    """Who an event goes to: rooms' members and users' connections (all of them with
    `everyone`), but `skip_user`'s; `change_id`, the change it announces (if one), and
    `msg_id`, the message it changes (a cluster's other nodes send it once they have
    delivered that message)."""

    room_ids: tuple[int, ...] = ()
    user_ids: tuple[int, ...] = ()
    everyone: bool = False
    skip_user: int = 0
    change_id: int = 0
    msg_id: int = 0


class ClusterLink(Protocol):
    """What the picture tells the other nodes of a cluster (`chat_srv.cluster.node`)."""

    def account_created(self, user_id: int, name: str, role: Role, general: int | None) -> None:
        """An account was created here (a member of Général, when there is one)."""

    def membership_changed(self, user_id: int, room_id: int, state: str) -> None:
        """A membership was stored here ("": none)."""

    def committed(self, deliveries: list[Any]) -> None:
        """A batch of messages was committed here (`chat_srv.service.Delivery`)."""

    def sanctioned(self, sanction: Sanction, goodbye: bytes) -> None:
        """A kick, ban or IP ban was stored here; `goodbye` closes what it targets."""

    def lifted(self, kind: SanctionKind, target: str) -> None:
        """Sanctions were lifted here."""

    def closed_user(self, user_id: int, goodbye: bytes) -> None:
        """A user's connections were closed here (`kill`): close theirs elsewhere too."""

    def presence(self, user_id: int, online: bool) -> None:
        """A user's first connection here opened, or their last one closed."""

    def relayed(self, frame: bytes, audience: Audience) -> None:
        """An event sent here: send it to its audience's connections on the other nodes."""

    def status_set(self, user_id: int, away: bool, text: str | None, peers: list[int]) -> None:
        """A user set their status here; `peers`: those they have a conversation with."""

    def topic_set(self, room_id: int, topic: str | None) -> None:
        """A room's topic was stored here."""

    def room_created(self, room_id: int, name: str, approval: bool) -> None:
        """A room was created here."""

    def role_given(self, user_id: int, role: Role) -> None:
        """A user's role was stored here."""


class Picture:
    """Users, rooms, memberships and sanctions in memory, and the look-ups over them."""

    def __init__(self, store: Store, hub: Hub, config: ServerConfig, clock: Clock) -> None:
        self.store = store
        self.hub = hub
        self.config = config
        self.clock = clock
        self.metrics = hub.metrics  # the server's counters (chat_srv.metrics)
        self.sanctions = Sanctions()
        self.users: dict[str, User] = {}  # by name key
        self.users_by_id: dict[int, User] = {}
        self.rooms: dict[str, Room] = {}  # by name key
        self.rooms_by_id: dict[int, Room] = {}
        # Names taken or being created, by look-alike key (`chat_srv.lookalikes`).
        self.user_lookalikes = LookalikeIndex()
        self.room_lookalikes = LookalikeIndex()
        self.last_change_id = 0  # the newest change to any message (`login`'s result)
        self.cluster: ClusterLink | None = None  # the node, when one of several
        # In a cluster: the users online on other nodes, by user id -> node ids.
        self.online_elsewhere: dict[int, set[str]] = {}

    async def load(self) -> None:
        """Read users, rooms, memberships and sanctions from the store."""
        for record in await self.store.get_users():
            self._remember_user(record.id, record.name, record.role)
        last_ids = await self.store.room_last_ids()
        for room_record in await self.store.get_rooms():
            room = self._remember_room(
                room_record.id,
                room_record.name,
                room_record.approval,
                last_ids.get(room_record.id, 0),
            )
            room.topic = room_record.topic
        for ms in await self.store.get_memberships():
            self._set_member_state(ms.user_id, ms.room_id, ms.state)
        self.sanctions.load(await self.store.active_sanctions(self.clock.now_ms()))
        self.last_change_id = await self.store.last_change_id()

    # -- memberships and what a user sees of a room -------------------------------------

    def set_membership(
        self, user_id: int, room: Room, state: MembershipState | None, *, remote: bool = False
    ) -> None:
        """Apply a stored membership change in memory, in the hub, and announce it.

        Becoming a member or leaving sends `member` to the room (the user's own
        connections included); a pending request is silent. A change stored here
        goes to the cluster's other nodes too (`remote`: it came from one).
        """
        if self.cluster is not None and not remote:
            self.cluster.membership_changed(user_id, room.id, str(state) if state else "")
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

    def _room_infos(self, user: User, positions: list[RoomUnread]) -> list[m.RoomInfo]:
        by_room = {p.room_id: p for p in positions}
        return [self.room_info(room, user, by_room) for room in self._sorted_rooms()]

    def room_info(
        self, room: Room, user: User | None, positions: dict[int, RoomUnread]
    ) -> m.RoomInfo:
        """A room as `user` sees it, given their position in the rooms they are in.

        `unread` and `mentions` only where the user is a member. Of a room that
        needs approval, a user who is not a member learns only its name, that it
        needs approval, and their own state: not how many are in it, what it is
        about, nor whether anything is said there.
        """
        state = room.members.get(user.id) if user is not None else None
        member = state is MembershipState.MEMBER
        if room.approval and not member:
            return m.RoomInfo(
                name=room.name, approval=True, state=str(state) if state is not None else m.NONE
            )
        position = positions.get(room.id)
        return m.RoomInfo(
            name=room.name,
            approval=room.approval,
            state=str(state) if state is not None else m.NONE,
            online=self.online_members(room),
            last_msg_id=room.last_msg_id,
            unread=(position.unread if position is not None else 0) if member else None,
            topic=room.topic or None,
            mentions=(position.mentions if position is not None else 0) if member else None,
        )

    def is_online(self, user_id: int) -> bool:
        """Whether the user has a connection here or, in a cluster, on another node."""
        return self.hub.is_online(user_id) or user_id in self.online_elsewhere

    def online_user_ids(self) -> set[int]:
        """Every user online, here or on another node."""
        return set(self.hub.online_users()) | self.online_elsewhere.keys()

    def online_members(self, room: Room) -> int:
        """How many members of the room are online now."""
        here = self.hub.room_users(room.id)
        elsewhere = sum(
            1
            for user_id in self.online_elsewhere
            if user_id not in here and room.members.get(user_id) is MembershipState.MEMBER
        )
        return len(here) + elsewhere

    def mention_names(self, body: str) -> list[str] | None:
        """The names of the users `body` mentions, as registered (None: nobody)."""
        return [u.name for u in mentioned(body, self.users.get)] or None

    def mention_ids(self, body: str, room_id: int, sender_id: int) -> tuple[int, ...]:
        """The members of the room `body` mentions, the sender left out (stored, for
        their unread mention counts)."""
        members = self.rooms_by_id[room_id].members
        return tuple(
            u.id
            for u in mentioned(body, self.users.get)
            if u.id != sender_id and members.get(u.id) is MembershipState.MEMBER
        )

    # -- sanctions that close connections -----------------------------------------------

    def impose(self, sanction: Sanction, goodbye: bytes, *, remote: bool = False) -> int:
        """Apply a stored sanction: refuse from now on, close the connections it
        targets with `goodbye`; how many closed. Stored here (not `remote`): the
        cluster's other nodes do the same."""
        self.sanctions.add(sanction)
        if sanction.kind is SanctionKind.IP_BAN:
            closing = [p for p in self.hub.connections if self.sanctions.ip_ban(p.ip) is not None]
            for peer in closing:
                peer.close_with(goodbye)
            closed = len(closing)
        else:
            target = self.users.get(sanction.target)
            closed = self.hub.close_user(target.id, goodbye) if target is not None else 0
        if self.cluster is not None and not remote:
            self.cluster.sanctioned(sanction, goodbye)
        return closed

    def lift(self, kind: SanctionKind, target: str, *, remote: bool = False) -> None:
        """Lift a stored sanction's effect (after `Store.lift_sanctions`)."""
        self.sanctions.lift(kind, target)
        if self.cluster is not None and not remote:
            self.cluster.lifted(kind, target)

    def close_user(self, user_id: int, goodbye: bytes, *, remote: bool = False) -> int:
        """Close every connection of a user, on every node; how many closed here."""
        closed = self.hub.close_user(user_id, goodbye)
        if self.cluster is not None and not remote:
            self.cluster.closed_user(user_id, goodbye)
        return closed

    # -- events for more than this node's clients ------------------------------------

    def send_event(self, frame: bytes, audience: Audience, *, remote: bool = False) -> None:
        """Send an encoded event to its audience's connections here and (not
        `remote`) on the cluster's other nodes."""
        hub = self.hub
        if audience.everyone:
            hub.to_everyone(frame)
        elif audience.skip_user:
            peers: set[Peer] = set()
            for room_id in audience.room_ids:
                peers.update(hub.room_connections(room_id))
            for user_id in audience.user_ids:
                peers.update(hub.user_connections(user_id))
            peers.difference_update(hub.user_connections(audience.skip_user))
            hub.to_peers(peers, frame)
        else:
            for room_id in audience.room_ids:
                hub.to_room(room_id, frame)
            for user_id in audience.user_ids:
                hub.to_user(user_id, frame)
        self.last_change_id = max(self.last_change_id, audience.change_id)
        if self.cluster is not None and not remote:
            self.cluster.relayed(frame, audience)

    def _sorted_rooms(self) -> list[Room]:
        return [self.rooms[key] for key in sorted(self.rooms)]

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

    def add_room(self, record: RoomRecord, *, remote: bool = False) -> Room:
        """Remember a room just created in the store (by the admin console, here or,
        `remote`, on another node of the cluster)."""
        if self.cluster is not None and not remote:
            self.cluster.room_created(record.id, record.name, record.approval)
        return self._remember_room(record.id, record.name, record.approval, 0)

    def give_role(self, user: User, role: Role, *, remote: bool = False) -> None:
        """Apply a stored role (here, and on the cluster's other nodes)."""
        user.role = role
        if self.cluster is not None and not remote:
            self.cluster.role_given(user.id, role)

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


def logged(client: Client) -> User:
    """The connection's user (`not_logged_in` if none)."""
    user = client.user
    if user is None:  # `handle` lets only pre-login requests through without a user
        raise ProtocolError(ErrorCode.NOT_LOGGED_IN, "log in first")
    return user
