"""Noticing one another: typing, away status, room topics.

`typing` is relayed, never stored, at most once per `TYPING_INTERVAL` per connection
and target (the rest are dropped without a word: a client sends them while keys are
pressed). A status is the user's own, in memory, until changed or until their last
connection closes; it goes to everyone who shares a room or a conversation with them.
In a cluster every node keeps it (`chat_srv.cluster.node` carries it) and ends it
when the user's last connection anywhere closes.
A topic is stored with its room and announced to the room's online members.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_srv.hub import Peer
from chat_srv.picture import Audience, Client, Picture, Room, User, logged

log = logging.getLogger(__name__)

TYPING_INTERVAL = 3.0  # seconds between two `typing` relayed for one connection and target
_TYPING_KEPT = 16  # targets a connection's throttle remembers before it forgets stale ones


class Noticing:
    """The rules of `typing`, `status` and `set_topic`."""

    def __init__(self, picture: Picture) -> None:
        self._picture = picture
        self._hub = picture.hub

    # -- typing -------------------------------------------------------------------------

    async def typing(self, client: Client, request: m.Typing) -> m.Reply:
        """Tell the room's other members, or the peer, that the caller is typing."""
        user = logged(client)
        picture = self._picture
        if request.room is not None:
            room = picture._member_room(user, request.room)
            target: tuple[bool, int] = (True, room.id)
        else:
            assert request.peer is not None
            peer = picture._user(request.peer)
            if peer.id == user.id:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "one does not type to oneself")
            target = (False, peer.id)
        if not self._may_relay(client, target):
            return m.Ok(id=request.id)
        if request.room is not None:
            event = m.UserTyping(user=user.name, room=room.name)
            audience = Audience(room_ids=(room.id,), skip_user=user.id)
        else:
            event = m.UserTyping(user=user.name, to=peer.name)
            audience = Audience(user_ids=(peer.id,))
        self._picture.send_event(m.encode(event), audience)
        return m.Ok(id=request.id)

    def _may_relay(self, client: Client, target: tuple[bool, int]) -> bool:
        """Whether a `typing` to `target` is due on this connection; if so, note it."""
        now = self._picture.clock.monotonic()
        sent = client.typing
        if sent is None:
            sent = client.typing = {}
        last = sent.get(target)
        if last is not None and now - last < TYPING_INTERVAL:
            return False
        if len(sent) >= _TYPING_KEPT:
            for key in [k for k, at in sent.items() if now - at >= TYPING_INTERVAL]:
                del sent[key]
        sent[target] = now
        return True

    # -- status -------------------------------------------------------------------------

    async def status(self, client: Client, request: m.SetStatus) -> m.Reply:
        """Set the caller away (with an optional text) or back."""
        user = logged(client)
        text = (request.text or "").strip() or None if request.away else None
        if (user.away, user.away_text) != (request.away, text):
            user.away, user.away_text = request.away, text
            self.announce_status(user, skip=client)
            cluster = self._picture.cluster
            if cluster is not None:
                peers = sorted(user.dm_peers or ())
                cluster.status_set(user.id, user.away, user.away_text, peers)
        return m.Ok(id=request.id)

    def remote_status(self, user_id: int, away: bool, text: str | None, peers: list[int]) -> None:
        """A status set on another node of the cluster: in the picture, and to this
        node's connections that hear of it (`peers`: the user's conversations).

        Ignored for a user this node does not count online: their status ended when
        they went offline (a node silent too long counts offline).
        """
        picture = self._picture
        user = picture.users_by_id.get(user_id)
        if user is None or not picture.is_online(user_id):
            return
        if (user.away, user.away_text) != (away, text):
            user.away, user.away_text = away, text
            self.announce_status(user, peers=peers)

    def gone(self, user: User) -> None:
        """The user's last connection closed, in the whole cluster as far as this node
        knows: their status ends. Every node sees that moment for itself (the last
        connection was its own, or another node said so, or fell silent), so each
        tells its own connections, once, and relays nothing."""
        if user.away:
            user.away, user.away_text = False, None
            self.announce_status(user)

    def announce_status(
        self, user: User, skip: Client | None = None, peers: Iterable[int] | None = None
    ) -> None:
        """Send the user's status to this node's connections of whoever shares a room
        or a conversation with them, and to their own (but `skip`).

        The conversations: `peers` if given, else the user's own (known while they
        are online here), else those of this node's online users that name them.
        """
        hub = self._hub
        listeners: set[Peer] = set()
        for room_id in user.rooms:
            listeners.update(hub.room_connections(room_id))
        if peers is None:
            peers = user.dm_peers if user.dm_peers is not None else self._conversing(user)
        for peer_id in peers:
            listeners.update(hub.user_connections(peer_id))
        listeners.update(hub.user_connections(user.id))
        if skip is not None:
            listeners.discard(skip)
        data = m.encode(m.UserStatus(user=user.name, away=user.away, text=user.away_text))
        hub.to_peers(listeners, data)

    def _conversing(self, user: User) -> list[int]:
        """The users online here who have a conversation with `user`, who is not online
        here: a walk over this node's online users, made only when the status of a
        user of another node ends."""
        found: list[int] = []
        users = self._picture.users_by_id
        for peer_id in self._hub.online_users():
            peer = users.get(peer_id)
            if peer is not None and peer.dm_peers is not None and user.id in peer.dm_peers:
                found.append(peer_id)
        return found

    # -- topics -------------------------------------------------------------------------

    async def set_topic(self, client: Client, request: m.SetTopic) -> m.Reply:
        """Set a room's topic: moderators and admins."""
        user = logged(client)
        if user.role is Role.USER:
            raise ProtocolError(ErrorCode.FORBIDDEN, "topics are set by moderators and admins")
        await self.change_topic(self._picture._room(request.room), request.topic, by=user.name)
        return m.Ok(id=request.id)

    async def change_topic(self, room: Room, topic: str, *, by: str) -> str | None:
        """Store and announce a room's topic ("" or blank clears it); the topic set."""
        m.check_line(topic, m.TOPIC_MAX, "a topic")
        value = topic.strip() or None
        await self._picture.store.set_topic(room.id, value)
        room.topic = value
        if self._picture.cluster is not None:
            self._picture.cluster.topic_set(room.id, value)
        event = m.Topic(room=room.name, topic=value or "", by=by)
        self._picture.send_event(m.encode(event), Audience(room_ids=(room.id,)))
        log.info(
            "%s %s the topic of %s",
            by,
            "set" if value is not None else "cleared",
            room.name,
        )
        return value
