"""Coalesced presence for version-2 connections.

A version-1 connection hears of each user who comes or goes, one `presence` event
each. When a crowd logs in at once (after a restart), that is N events for each of N
members: N² frames. A connection that said `protocol: 2` at login instead gets one
`presence {changes: [...]}` per room every `window` seconds, holding every user of
the room who came or went meanwhile; a user who came and went (or went and came
back) inside the window is left out, since nothing changed for the listener.

A user's change is noted for each of their rooms. At the flush, a connection in one
changed room gets that room's event, encoded once for all its members; one in
several gets them merged into one event of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from chat_core import messages as m
from chat_srv.hub import Hub, Peer


class PresenceBatcher:
    """Merges presence changes over a short window, per room, for version 2."""

    def __init__(self, hub: Hub, window: float) -> None:
        self._hub = hub
        self._window = window
        # Room id -> user name -> [online before the window, online now].
        self._pending: dict[int, dict[str, list[bool]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def note(self, user: str, online: bool, room_ids: Iterable[int]) -> None:
        """A user came online or went offline; tell their rooms at the next flush."""
        for room_id in room_ids:
            changes = self._pending.setdefault(room_id, {})
            state = changes.get(user)
            if state is None:
                changes[user] = [not online, online]
            else:
                state[1] = online
        if self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self.flush)

    def flush(self) -> None:
        """Send what the window gathered (the timer calls it; tests may too)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, {}
        by_room: dict[int, list[m.PresenceChange]] = {}
        listeners: dict[Peer, list[int]] = {}
        for room_id, changes in pending.items():
            found = [
                m.PresenceChange(user=user, online=now)
                for user, (before, now) in changes.items()
                if before != now
            ]
            if not found:
                continue
            by_room[room_id] = found
            for peer in self._hub.room_connections(room_id):
                if peer.protocol >= 2:
                    listeners.setdefault(peer, []).append(room_id)
        shared = {
            room_id: m.encode(m.Presence(changes=found)) for room_id, found in by_room.items()
        }
        own: dict[tuple[int, ...], bytes] = {}  # merged events, by the set of rooms
        for peer, rooms in listeners.items():
            if len(rooms) == 1:
                data = shared[rooms[0]]
            else:
                key = tuple(rooms)
                data = own.get(key) or own.setdefault(key, _merged(by_room, rooms))
            peer.deliver(data)
        self._hub.metrics.deliveries.inc(len(listeners))

    def close(self) -> None:
        """Drop what is pending (the server is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()


def _merged(by_room: dict[int, list[m.PresenceChange]], rooms: list[int]) -> bytes:
    """One event for the changes of several rooms, each user once."""
    changes: dict[str, m.PresenceChange] = {}
    for room_id in rooms:
        for change in by_room[room_id]:
            changes[change.user] = change
    return m.encode(m.Presence(changes=list(changes.values())))
