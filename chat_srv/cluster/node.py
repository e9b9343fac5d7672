"""One node of a cluster: what it stores goes to the others through the broker, what
they store reaches its own clients, in id order, exactly once.

MySQL is the log: message ids are dense and follow commit order across nodes (the
store's counter row), so a node knows exactly what comes next. It keeps the next id
it owes its clients; a message from the broker past it waits in `_held` while the
gap is filled, from the broker if the missing message arrives within `GAP_WAIT`,
else from MySQL. Duplicates (an id already delivered) are dropped, and a change
another node relays to a message still held waits for it. Every `HEARTBEAT`
seconds a node publishes the last id it committed, so the loss of a last message is
noticed too; while the broker is away, the node reads the log instead, and once it
is back (subscribed first), catches up, then goes on.

Rooms, accounts, roles, memberships, sanctions and topics travel too, as control
records sent once stored: a node applies them to its picture and to its own clients
(`member` events; a kick, ban or kill closes the target's connections on every
node). A node that may have missed some (the broker was away) reloads them from
MySQL. Away statuses travel as records too (each node keeps them, and ends one when
the user's last connection anywhere closes). Changes to messages, topics and notices
are relayed as the events they are.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import TYPE_CHECKING, NamedTuple

import msgspec

from chat_core.messages import Role
from chat_srv.cluster.broker import Broker
from chat_srv.picture import Audience
from chat_srv.service import Delivery
from chat_srv.store.base import MembershipState, RoomRecord, Sanction, SanctionKind

if TYPE_CHECKING:
    from chat_srv.service import Service

log = logging.getLogger(__name__)

GAP_WAIT = 0.05  # seconds a missing id may take to arrive from the broker
HEARTBEAT = 1.0  # seconds between two heartbeats (and polls of the log, broker away)
LOG_PAGE = 500  # messages read from the log at once
NODE_TIMEOUT = 5.0  # seconds without a heartbeat before a node's users count as offline
CLOSE_WAIT = 2.0  # seconds the node's tasks may take to stop
OUTBOX_MAX = 10_000  # publications waiting for the broker before new ones are dropped


class NodeView(NamedTuple):
    """A node as the console's `nodes` shows it."""

    node: str
    connections: int
    heard_ago: float  # seconds since its last heartbeat (0 for this node)
    this: bool


class NewAccount(NamedTuple):
    """An account created on another node."""

    user_id: int
    name: str
    role: str


class MemberChange(NamedTuple):
    """A membership stored on another node ("" state: none)."""

    user_id: int
    room_id: int
    state: str


class Imposed(NamedTuple):
    """A sanction stored on another node, and the goodbye for what it closes."""

    sanction_id: int
    kind: str
    target: str
    until: int | None
    reason: str
    created_by: str
    created_at: int
    goodbye: bytes


class Lifted(NamedTuple):
    """Sanctions lifted on another node."""

    kind: str
    target: str


class Closed(NamedTuple):
    """A user's connections closed on another node (`kill`)."""

    user_id: int
    goodbye: bytes


class Relayed(NamedTuple):
    """An event sent on another node, for this node's connections too."""

    frame: bytes
    audience: Audience


class NewRoom(NamedTuple):
    """A room created on another node."""

    room_id: int
    name: str
    approval: bool


class RoleGiven(NamedTuple):
    """A role stored on another node."""

    user_id: int
    role: str


class TopicSet(NamedTuple):
    """A room's topic stored on another node ("": none)."""

    room_id: int
    topic: str


class StatusSet(NamedTuple):
    """A user's away status set on another node, and the users they have a
    conversation with (who hear of it)."""

    user_id: int
    away: bool
    text: str
    peers: list[int]


class Publication(msgspec.Struct, array_like=True, omit_defaults=True):
    """What a node publishes: its newest committed id, and what it stored."""

    node: str
    last: int
    accounts: list[NewAccount] = []
    members: list[MemberChange] = []
    messages: list[Delivery] = []
    imposed: list[Imposed] = []
    lifted: list[Lifted] = []
    closed: list[Closed] = []
    online: list[int] = []  # users whose first connection opened on the node
    offline: list[int] = []  # users whose last connection closed there
    everyone: bool = False  # `online` is the node's every online user (heartbeats)
    connections: int = 0  # the node's open connections (heartbeats)
    topics: list[TopicSet] = []
    rooms: list[NewRoom] = []
    roles: list[RoleGiven] = []
    statuses: list[StatusSet] = []
    relayed: list[Relayed] = []  # after everything above


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Publication)


class ClusterNode:
    """Orders deliveries across nodes and keeps the picture in step."""

    def __init__(self, service: Service, broker: Broker, node_id: str) -> None:
        self._service = service
        self._broker = broker
        self.node_id = node_id
        self._next = 1  # the id of the next message owed to this node's clients
        self._last = 0  # the newest id this node committed itself
        self._newest_heard = 0  # the newest id any node said it committed
        self._held: dict[int, Delivery] = {}
        # Changes relayed by other nodes to messages held above, in the order heard.
        self._changes_held: collections.deque[Relayed] = collections.deque()
        self._broker_up = False
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._overflowing = False
        self._tasks: list[asyncio.Task[None]] = []
        self._gap: asyncio.TimerHandle | None = None
        self._filling: asyncio.Task[None] | None = None
        self._heard: dict[str, float] = {}  # node id -> when it was last heard (loop time)
        self._connections: dict[str, int] = {}  # node id -> its last heartbeat's count

    @property
    def next_id(self) -> int:
        """The id of the next message this node will deliver."""
        return self._next

    async def start(self) -> None:
        """Start from the log's end, then listen and publish."""
        self._next = await self._service.store.last_msg_id() + 1
        self._last = self._next - 1
        await self._broker.start(self._received, self._broker_state)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name="cluster-publish"),
            asyncio.create_task(self._heartbeat_loop(), name="cluster-heartbeat"),
        ]

    async def close(self) -> None:
        """Stop publishing and listening (what was committed is in the log)."""
        if self._gap is not None:
            self._gap.cancel()
        if self._tasks:
            publisher = self._tasks[0]
            # What is queued goes out first (the goodbyes' presence among it). The
            # publisher is told to end rather than cancelled: the Redis client may
            # swallow a cancellation in the middle of a command, and wait forever.
            self._outbox.put_nowait(None)
            await asyncio.wait([publisher], timeout=CLOSE_WAIT)
            publisher.cancel()
        for task in (*self._tasks[1:], self._filling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
        await self._broker.close()

    # -- what this node stored ----------------------------------------------------------

    def committed(self, deliveries: list[Delivery]) -> None:
        """A batch this node committed (in id order): to the others, and to its own
        clients in turn."""
        if deliveries:
            self._last = max(self._last, deliveries[-1].msg_id)
            self._send(Publication(self.node_id, self._last, messages=deliveries))
            self._accept(deliveries)

    def account_created(self, user_id: int, name: str, role: Role, general: int | None) -> None:
        """An account this node created (a member of Général, when there is one)."""
        members = [MemberChange(user_id, general, MembershipState.MEMBER)] if general else []
        self._send(
            Publication(
                self.node_id,
                self._last,
                accounts=[NewAccount(user_id, name, role)],
                members=members,
            )
        )

    def membership_changed(self, user_id: int, room_id: int, state: str) -> None:
        """A membership this node stored."""
        self._send(
            Publication(self.node_id, self._last, members=[MemberChange(user_id, room_id, state)])
        )

    def sanctioned(self, sanction: Sanction, goodbye: bytes) -> None:
        """A kick, ban or IP ban this node stored: the others refuse and close too."""
        s = sanction
        imposed = Imposed(
            s.id, s.kind, s.target, s.until, s.reason, s.created_by, s.created_at, goodbye
        )
        self._send(Publication(self.node_id, self._last, imposed=[imposed]))

    def lifted(self, kind: SanctionKind, target: str) -> None:
        """Sanctions this node lifted."""
        self._send(Publication(self.node_id, self._last, lifted=[Lifted(kind, target)]))

    def closed_user(self, user_id: int, goodbye: bytes) -> None:
        """A user whose connections this node closed (`kill`)."""
        self._send(Publication(self.node_id, self._last, closed=[Closed(user_id, goodbye)]))

    def presence(self, user_id: int, online: bool) -> None:
        """A user's first connection on this node opened, or their last one closed."""
        if online:
            self._send(Publication(self.node_id, self._last, online=[user_id]))
        else:
            self._send(Publication(self.node_id, self._last, offline=[user_id]))

    def relayed(self, frame: bytes, audience: Audience) -> None:
        """An event this node sent (a change, a topic, typing, a notice):
        the others send it to their connections in the audience too.

        Unlike messages, such events are not read back from the log when the broker
        loses one: a client catches up on changes with `changes`."""
        self._send(Publication(self.node_id, self._last, relayed=[Relayed(frame, audience)]))

    def status_set(self, user_id: int, away: bool, text: str | None, peers: list[int]) -> None:
        """A status set on this node: the others keep it too, and tell their clients.
        Its end (the user's last connection anywhere closed) each node sees itself."""
        status = StatusSet(user_id, away, text or "", peers)
        self._send(Publication(self.node_id, self._last, statuses=[status]))

    def topic_set(self, room_id: int, topic: str | None) -> None:
        """A room's topic this node stored."""
        self._send(Publication(self.node_id, self._last, topics=[TopicSet(room_id, topic or "")]))

    def room_created(self, room_id: int, name: str, approval: bool) -> None:
        """A room this node created."""
        room = NewRoom(room_id, name, approval)
        self._send(Publication(self.node_id, self._last, rooms=[room]))

    def role_given(self, user_id: int, role: Role) -> None:
        """A role this node stored."""
        given = RoleGiven(user_id, role)
        self._send(Publication(self.node_id, self._last, roles=[given]))

    def _send(self, publication: Publication) -> None:
        if self._outbox.qsize() >= OUTBOX_MAX:  # the broker hangs: lose speed, not memory
            if not self._overflowing:
                log.warning("the cluster broker does not keep up: publications dropped")
            self._overflowing = True
            return
        self._overflowing = False
        self._outbox.put_nowait(_encoder.encode(publication))

    async def _publish_loop(self) -> None:
        """Publish in order, one at a time, until told to end (None); a failure loses
        only speed (the log has it)."""
        while (data := await self._outbox.get()) is not None:
            await self._broker.publish(data)

    async def _heartbeat_loop(self) -> None:
        """Say this node is alive, with its online users; forget silent nodes."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HEARTBEAT)
            hub = self._service.hub
            self._send(
                Publication(
                    self.node_id,
                    self._last,
                    online=list(hub.online_users()),
                    everyone=True,
                    connections=len(hub.connections),
                )
            )
            if not self._broker_up:
                self._fill_soon(at_once=True)  # nothing comes from the broker: read the log
            self.forget_silent(loop.time())

    def forget_silent(self, now: float) -> list[str]:
        """Count as offline the users of the nodes not heard for `NODE_TIMEOUT` at `now`
        (loop time): a node killed says no goodbye. The nodes forgotten."""
        silent = [node for node, heard in self._heard.items() if now - heard > NODE_TIMEOUT]
        for node in silent:
            log.warning("cluster node %s is silent: its users are offline", node)
            del self._heard[node]
            self._connections.pop(node, None)
            self._service.remote_presence(node, set(), whole=True)
        return silent

    def nodes(self) -> list[NodeView]:
        """This node and the others heard from, by name."""
        now = asyncio.get_running_loop().time()
        views = [NodeView(self.node_id, len(self._service.hub.connections), 0.0, True)]
        for node, heard in self._heard.items():
            views.append(NodeView(node, self._connections.get(node, 0), now - heard, False))
        return sorted(views)

    # -- what other nodes stored ---------------------------------------------------------

    def _received(self, data: bytes) -> None:
        try:
            publication = _decoder.decode(data)
        except msgspec.DecodeError:
            log.warning("ignored a malformed cluster publication of %d bytes", len(data))
            return
        if publication.node == self.node_id:
            return
        self._heard[publication.node] = asyncio.get_running_loop().time()
        if publication.everyone:
            self._connections[publication.node] = publication.connections
        service = self._service
        for new in publication.rooms:
            if new.room_id not in service.rooms_by_id:
                service.add_room(RoomRecord(new.room_id, new.name, new.approval), remote=True)
        for account in publication.accounts:
            service.remember_remote_user(account.user_id, account.name, Role(account.role))
        for change in publication.members:
            state = MembershipState(change.state) if change.state else None
            service.apply_remote_membership(change.user_id, change.room_id, state)
        for i in publication.imposed:
            sanction = Sanction(
                i.sanction_id,
                SanctionKind(i.kind),
                i.target,
                i.until,
                i.reason,
                i.created_by,
                i.created_at,
            )
            service.impose(sanction, i.goodbye, remote=True)
        for lift in publication.lifted:
            service.lift(SanctionKind(lift.kind), lift.target, remote=True)
        for close in publication.closed:
            service.close_user(close.user_id, close.goodbye, remote=True)
        if publication.online or publication.everyone:
            service.remote_presence(
                publication.node, set(publication.online), whole=publication.everyone
            )
        if publication.offline:
            service.remote_offline(publication.node, set(publication.offline))
        for given in publication.roles:
            user = service.users_by_id.get(given.user_id)
            if user is not None:
                service.give_role(user, Role(given.role), remote=True)
        for topic in publication.topics:
            room = service.rooms_by_id.get(topic.room_id)
            if room is not None:
                room.topic = topic.topic or None
        for status in publication.statuses:
            text = status.text or None
            service.noticing.remote_status(status.user_id, status.away, text, status.peers)
        for relay in publication.relayed:
            self._relay(relay)
        self._newest_heard = max(self._newest_heard, publication.last)
        self._accept(publication.messages)

    def _broker_state(self, up: bool) -> None:
        self._broker_up = up
        if up:  # subscribed again: what was missed meanwhile is in MySQL
            self._fill_soon(at_once=True, reload=True)

    # -- in order, exactly once -------------------------------------------------------------

    def _accept(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if delivery.msg_id >= self._next:
                self._held[delivery.msg_id] = delivery
        self._drain()

    def _drain(self) -> None:
        """Deliver every held message that comes next; wait for a gap to be filled."""
        ready: list[Delivery] = []
        while (delivery := self._held.pop(self._next, None)) is not None:
            ready.append(delivery)
            self._next += 1
        if ready:
            self._service.fan_out(ready)
            self._release_changes()
        if self._held or self._newest_heard >= self._next:
            self._fill_soon()

    def _relay(self, relay: Relayed) -> None:
        """Send an event relayed by another node to this node's connections; a change
        to a message not delivered here yet (it waits for a gap to be filled) waits
        for it, and the changes after it too, so that they keep their order."""
        changed = relay.audience.msg_id
        if changed and (self._changes_held or changed >= self._next):
            self._changes_held.append(relay)
        else:
            self._service.send_event(relay.frame, relay.audience, remote=True)

    def _release_changes(self) -> None:
        """Send the held changes whose messages are delivered now, in order."""
        held = self._changes_held
        while held and held[0].audience.msg_id < self._next:
            relay = held.popleft()
            self._service.send_event(relay.frame, relay.audience, remote=True)

    def _fill_soon(self, *, at_once: bool = False, reload: bool = False) -> None:
        if reload:
            self._start_fill(reload=True)
        elif at_once:
            self._start_fill()
        elif self._gap is None:
            self._gap = asyncio.get_running_loop().call_later(GAP_WAIT, self._start_fill)

    def _start_fill(self, *, reload: bool = False) -> None:
        self._gap = None
        if self._filling is not None and not self._filling.done():
            return
        self._filling = asyncio.create_task(self._fill(reload), name="cluster-fill")

    async def _fill(self, reload: bool) -> None:
        """Read from the log what the broker did not bring, up to the newest known."""
        try:
            if reload:
                await self._service.reload_picture()
            while True:
                logged = await self._service.store.message_log(self._next - 1, LOG_PAGE)
                if not logged:
                    return
                self._accept([self._service.delivery_of(entry) for entry in logged])
                if len(logged) < LOG_PAGE:
                    return
        except Exception as error:  # MySQL away too: the next heartbeat tries again
            log.warning("catching up from the log failed: %s", error)
        finally:
            self._filling = None
            if self._held:
                self._fill_soon()
