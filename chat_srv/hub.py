"""Who is online, which connections belong to which user and room, and fan-out.

The hub holds connections, not rules: the service tells it who joined what. A
broadcast encodes nothing: it hands the same bytes to every recipient, which only
appends them to its outbound buffer. Each fan-out adds its frames times its
recipients to `chat_deliveries` once, not once per recipient.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Protocol

from chat_srv.metrics import Metrics


class Peer(Protocol):
    """What the hub needs of a connection."""

    protocol: int  # the version it speaks: 2 gets coalesced presence
    ip: str | None  # the address it connected from (IP bans)

    def deliver(self, data: bytes) -> None:
        """Queue an encoded frame; never blocks."""

    def close_with(self, data: bytes) -> None:
        """Send a last encoded frame (a `disconnect`) and close."""


class Hub:
    """The registry of live connections, by user and by room."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self._deliveries = self.metrics.deliveries
        self.connections: set[Peer] = set()  # every open connection, logged in or not
        # A user's one connection, or a set of them when there are several: most users
        # have one, and a set of one would take 216 bytes more for each.
        self._by_user: dict[int, Peer | set[Peer]] = {}
        self._by_room: dict[int, set[Peer]] = {}
        # The same for the connections that speak version 1 only: each of them gets
        # presence one user at a time (`chat_srv.presence` merges it for the others).
        self._legacy_by_room: dict[int, set[Peer]] = {}
        # The users those connections belong to: a room's online count without a
        # walk over its members (each login's room info asks for it).
        self._users_by_room: dict[int, set[int]] = {}

    # -- registry -------------------------------------------------------------

    def attach(self, peer: Peer, user_id: int, room_ids: Iterable[int]) -> bool:
        """Register a logged-in connection; True if it is the user's first."""
        conns = self._by_user.get(user_id)
        first = conns is None
        if conns is None:
            self._by_user[user_id] = peer
        elif isinstance(conns, set):
            conns.add(peer)
        elif conns is not peer:
            self._by_user[user_id] = {conns, peer}
        legacy = peer.protocol < 2
        for room_id in room_ids:
            self._by_room.setdefault(room_id, set()).add(peer)
            self._users_by_room.setdefault(room_id, set()).add(user_id)
            if legacy:
                self._legacy_by_room.setdefault(room_id, set()).add(peer)
        return first

    def detach(self, peer: Peer, user_id: int, room_ids: Collection[int]) -> bool:
        """Forget a logged-in connection; True if it was the user's last."""
        for room_id in room_ids:
            for index in (self._by_room, self._legacy_by_room):
                room = index.get(room_id)
                if room is not None:
                    room.discard(peer)
        conns = self._by_user.get(user_id)
        if isinstance(conns, set):
            conns.discard(peer)
            if len(conns) > 1:
                return False
            if conns:  # one left: kept alone
                self._by_user[user_id] = next(iter(conns))
                return False
        elif conns is not peer:
            return False
        del self._by_user[user_id]
        for room_id in room_ids:
            self._users_by_room.get(room_id, set()).discard(user_id)
        return True

    def enter_room(self, user_id: int, room_id: int) -> None:
        """The user became a member: their connections now receive the room."""
        conns = self._connections(user_id)
        if conns:
            self._by_room.setdefault(room_id, set()).update(conns)
            self._users_by_room.setdefault(room_id, set()).add(user_id)
            legacy = [peer for peer in conns if peer.protocol < 2]
            if legacy:
                self._legacy_by_room.setdefault(room_id, set()).update(legacy)

    def exit_room(self, user_id: int, room_id: int) -> None:
        """The user left the room: their connections stop receiving it."""
        conns = self._connections(user_id)
        for index in (self._by_room, self._legacy_by_room):
            room = index.get(room_id)
            if room:
                room.difference_update(conns)
        self._users_by_room.get(room_id, set()).discard(user_id)

    # -- queries --------------------------------------------------------------

    def is_online(self, user_id: int) -> bool:
        """Whether the user has at least one logged-in connection."""
        return user_id in self._by_user

    def online_users(self) -> Iterator[int]:
        """Ids of the users with at least one connection."""
        return iter(self._by_user)

    def user_connections(self, user_id: int) -> Collection[Peer]:
        """The user's connections (empty if offline)."""
        return self._connections(user_id)

    def _connections(self, user_id: int) -> Collection[Peer]:
        conns = self._by_user.get(user_id)
        if conns is None:
            return ()
        return conns if isinstance(conns, set) else (conns,)

    def room_connections(self, room_id: int) -> set[Peer]:
        """The connections of the room's online members."""
        return self._by_room.get(room_id, set())

    def room_users(self, room_id: int) -> set[int]:
        """The room's members with a connection here."""
        return self._users_by_room.get(room_id, set())

    def legacy_room_connections(self, room_id: int) -> set[Peer]:
        """Those of them that speak version 1 only."""
        return self._legacy_by_room.get(room_id, set())

    # -- fan-out --------------------------------------------------------------

    def to_room(self, room_id: int, data: bytes, *, frames: int = 1) -> None:
        """Send to every online member of the room (`data` holding `frames` frames)."""
        peers = self._by_room.get(room_id)
        if not peers:
            return
        for peer in peers:
            peer.deliver(data)
        self._deliveries.inc(len(peers) * frames)

    def to_user(self, user_id: int, data: bytes, *, skip: Peer | None = None) -> None:
        """Send to every connection of the user (but `skip`)."""
        conns = self._connections(user_id)
        for peer in conns:
            if peer is not skip:
                peer.deliver(data)
        self._deliveries.inc(len(conns) - (skip in conns))

    def to_peers(self, peers: Iterable[Peer], data: bytes) -> None:
        """Send to the given connections."""
        count = 0
        for peer in peers:
            peer.deliver(data)
            count += 1
        self._deliveries.inc(count)

    def to_everyone(self, data: bytes) -> None:
        """Send to every logged-in connection."""
        count = 0
        for conns in self._by_user.values():
            if isinstance(conns, set):
                for peer in conns:
                    peer.deliver(data)
                count += len(conns)
            else:
                conns.deliver(data)
                count += 1
        self._deliveries.inc(count)

    def close_user(self, user_id: int, data: bytes) -> int:
        """Close every connection of the user with a last frame; how many closed."""
        conns = list(self._connections(user_id))
        for peer in conns:
            peer.close_with(data)
        return len(conns)
