"""The rules: what each request does, who may do it, and who hears about it.

`Service` answers requests from a connection's own identity: the account rules
come from `chat_srv.accounts`, the picture of users and rooms they all read from
`chat_srv.picture` (kept in step with a cluster's other nodes by
`chat_srv.elsewhere`), changes to messages from `chat_srv.changes`, typing, status
and topics from `chat_srv.noticing`; rooms, messages and the rest are here. It does no socket I/O:
connections and fan-out are the hub's; durability is the store's, reached
through the group committer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_core.names import name_key
from chat_srv.changes import MessageChanges
from chat_srv.clock import Clock
from chat_srv.committer import Committer
from chat_srv.config import ServerConfig
from chat_srv.elsewhere import Elsewhere
from chat_srv.hub import Hub
from chat_srv.noticing import Noticing
from chat_srv.passwords import HasherBusy, PasswordHasher
from chat_srv.picture import Audience, Client, User, logged
from chat_srv.search import MessageSearch
from chat_srv.store.base import (
    LoggedMessage,
    MembershipState,
    NewMessage,
    Store,
    StoredId,
    StoredMessage,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Awaitable[m.Reply]]


class Delivery(NamedTuple):
    """A stored message on its way to the connections that receive it (and, in a
    cluster, to the other nodes: `chat_srv.cluster.node`)."""

    msg_id: int
    sender_id: int
    room_id: int | None
    recipient_id: int | None
    frame: bytes  # the encoded `message` event


Moderator = Callable[[Client, m.Moderate], Awaitable[m.Reply]]
"""Runs a `moderate` request's console line (`chat_srv.moderation`, set by the server)."""


class Service(Elsewhere):
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
        super().__init__(store, hub, hasher, config, clock or Clock())
        self.committer: Committer[NewMessage, StoredId] = Committer(
            lambda batch: self.store.add_messages(batch),
            config.max_batch,
            self._deliver,
            self.metrics,
            fresh=lambda stored: stored.fresh,
            stored=self.metrics.messages_stored.inc,
        )
        self.changes = MessageChanges(self, config.max_batch)
        self.noticing = Noticing(self)
        self.searches = MessageSearch(self, self.message_object)
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
            m.Edit: self.changes.edit,
            m.Delete: self.changes.delete,
            m.React: self.changes.react,
            m.Changes: self.changes.changes,
            m.Typing: self.noticing.typing,
            m.SetStatus: self.noticing.status,
            m.SetTopic: self.noticing.set_topic,
            m.Search: self.searches.search,
        }

    def start_writers(self) -> None:
        """Start the group committers: messages, and changes to them."""
        self.committer.start()
        self.changes.committer.start()

    async def close_writers(self) -> None:
        """Store what is queued (and announce it), then stop the committers."""
        await self.committer.close()
        await self.changes.committer.close()

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
                    user.id,
                    request.body,
                    ts,
                    room_id=room.id,
                    nonce=request.nonce,
                    reply_to=request.reply_to,
                    action=request.action,
                    mentions=self.mention_ids(request.body, room.id, user.id),
                )
            else:
                peer = self._user(request.to)
                if peer.id == user.id:
                    raise ProtocolError(
                        ErrorCode.BAD_REQUEST, "a direct message goes to someone else"
                    )
                message = NewMessage(
                    user.id,
                    request.body,
                    ts,
                    recipient_id=peer.id,
                    nonce=request.nonce,
                    reply_to=request.reply_to,
                    action=request.action,
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
        if stored.bad_reply:
            return m.ErrorReply(
                id=request_id,
                code=ErrorCode.BAD_REQUEST,
                message="reply_to names no message of this room or conversation",
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

    # -- rooms ----------------------------------------------------------------

    async def _list_rooms(self, client: Client, request: m.ListRooms) -> m.Reply:
        user = logged(client)
        positions = await self.store.room_unread(user.id)
        return m.RoomsOk(id=request.id, rooms=self._room_infos(user, positions))

    async def _join(self, client: Client, request: m.Join) -> m.Reply:
        user = logged(client)
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
        user = logged(client)
        room = self._room(request.room)
        if room.members.get(user.id) is None:
            raise ProtocolError(ErrorCode.NOT_MEMBER, f"not a member of {room.name}")
        await self.store.delete_membership(user.id, room.id)
        self.set_membership(user.id, room, None)
        return m.Ok(id=request.id)

    # -- messages -------------------------------------------------------------

    def _deliver(self, batch: list[tuple[NewMessage, StoredId]]) -> None:
        """Fan out a committed batch (called by the committer, in id order); in a
        cluster, through the node, which keeps the order with the others' messages."""
        users = self.users_by_id
        deliveries: list[Delivery] = []
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
                    reply_to=message.reply_to,
                    action=message.action,
                    mentions=self.mention_names(message.body),
                )
            )
            deliveries.append(
                Delivery(
                    stored.msg_id, message.sender_id, message.room_id, message.recipient_id, data
                )
            )
        if self.cluster is not None:
            self.cluster.committed(deliveries)
        else:
            self.fan_out(deliveries)

    def fan_out(self, deliveries: list[Delivery]) -> None:
        """Send messages, in id order, to this server's connections that receive them.

        Each room's messages go to its members as one run of frames, so a member's
        connection gets one append per batch, not one per message.
        """
        to_rooms: dict[int, list[bytes]] = {}
        users = self.users_by_id
        for delivery in deliveries:
            if delivery.room_id is not None:
                room = self.rooms_by_id.get(delivery.room_id)
                if room is not None:
                    room.last_msg_id = max(room.last_msg_id, delivery.msg_id)
                to_rooms.setdefault(delivery.room_id, []).append(delivery.frame)
            elif delivery.recipient_id is not None:
                sender = users.get(delivery.sender_id)
                recipient = users.get(delivery.recipient_id)
                if sender is not None and recipient is not None:
                    _converse(sender, recipient)
                self.hub.to_user(delivery.sender_id, delivery.frame)
                self.hub.to_user(delivery.recipient_id, delivery.frame)
        for room_id, frames in to_rooms.items():
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            self.hub.to_room(room_id, data, frames=len(frames))

    def delivery_of(self, logged: LoggedMessage) -> Delivery:
        """A message read from the log, ready for `fan_out` (a cluster catching up)."""
        frame = m.encode(self.message_object(logged.message))
        return Delivery(
            logged.message.msg_id, logged.sender_id, logged.room_id, logged.recipient_id, frame
        )

    async def _history(self, client: Client, request: m.History) -> m.Reply:
        user = logged(client)
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
        messages = [self.message_object(s) for s in page]
        return m.HistoryOk(id=request.id, messages=messages, more=more)

    async def _mark_read(self, client: Client, request: m.MarkRead) -> m.Reply:
        user = logged(client)
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
            frame = m.encode(event)
            self.hub.to_user(user.id, frame, skip=client)
            if self.cluster is not None:  # the user's connections on the other nodes
                self.cluster.relayed(frame, Audience(user_ids=(user.id,)))
        return m.Ok(id=request.id)

    async def _who(self, client: Client, request: m.Who) -> m.Reply:
        user = logged(client)
        if request.room is not None:
            room = self._member_room(user, request.room)
            ids = [uid for uid, st in room.members.items() if st is MembershipState.MEMBER]
        else:
            ids = list(self.online_user_ids())
        people = [self.users_by_id[uid] for uid in ids]
        users = [
            m.UserInfo(
                name=u.name,
                online=self.is_online(u.id),
                role=u.role if u.role is not Role.USER else None,
                away=u.away,
                text=u.away_text,
            )
            for u in people
        ]
        users.sort(key=lambda u: (not u.online, name_key(u.name)))
        return m.WhoOk(id=request.id, users=users)

    async def _ping(self, client: Client, request: m.Ping) -> m.Reply:
        return m.Ok(id=request.id)

    def disconnected(self, client: Client) -> None:
        user = client.user
        super().disconnected(client)
        if user is not None and not self.hub.is_online(user.id):
            user.dm_peers = None  # kept while online here

    def went_offline(self, user: User) -> None:
        super().went_offline(user)
        self.noticing.gone(user)

    # -- message objects ----------------------------------------------------------

    def message_object(self, stored: StoredMessage) -> m.Message:
        """A stored message as the protocol shows it now: a deleted one keeps its place
        (id, time, sender, room or peer) and nothing else."""
        if stored.deleted:
            return m.Message(
                msg_id=stored.msg_id,
                ts=stored.ts,
                sender=stored.sender,
                room=stored.room,
                to=stored.recipient,
                deleted=True,
            )
        return m.Message(
            msg_id=stored.msg_id,
            ts=stored.ts,
            sender=stored.sender,
            body=stored.body,
            room=stored.room,
            to=stored.recipient,
            reply_to=stored.reply_to,
            action=stored.action,
            edited=stored.edited,
            reactions=stored.reactions,
            mentions=self.mention_names(stored.body),
        )

    async def _moderate(self, client: Client, request: m.Moderate) -> m.Reply:
        user = logged(client)
        if user.role is Role.USER or self.moderator is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, "moderation is for moderators and admins")
        return await self.moderator(client, request)


async def _ready(reply: m.Reply) -> m.Reply:
    return reply


def _converse(sender: User, recipient: User) -> None:
    """Note a conversation in the parties' peers, for whoever is online (their status)."""
    sender.add_dm_peer(recipient.id)
    recipient.add_dm_peer(sender.id)
