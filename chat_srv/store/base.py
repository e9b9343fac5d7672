"""The storage interface every backend implements, and the records it returns.

A store knows tables, not rules: the service decides who may do what and calls
the store to remember it. Users and rooms are addressed by integer ids once
looked up; names are looked up by their uniqueness key (`chat_core.names.name_key`).
Every method may raise `StoreUnavailable` when the database cannot be reached.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass

from chat_core.messages import Role


class StoreError(Exception):
    """Base of the errors a store raises."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or failed; the caller may try again later."""


class Conflict(StoreError):
    """A uniqueness rule was broken: a user or room name already taken, or a user name
    that looks like one taken (`lookalike_of`: the name it looks like)."""

    def __init__(self, message: str, *, lookalike_of: str | None = None) -> None:
        super().__init__(message)
        self.lookalike_of = lookalike_of


class SearchTooBroad(StoreError):
    """A search would take too long to answer (MySQL: common words in a phrase that
    few messages hold)."""


class MembershipState(enum.StrEnum):
    """A user's standing in a room, as stored (`none` is the absence of a row)."""

    MEMBER = "member"
    PENDING = "pending"


class SanctionKind(enum.StrEnum):
    """What a sanction forbids."""

    KICK = "kick"  # a user, until a time
    BAN = "ban"  # a user, until lifted
    IP_BAN = "ip_ban"  # an address or CIDR block, until lifted


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An account."""

    id: int
    name: str  # as registered
    password_hash: str
    created_at: int  # ms since the epoch
    last_ip: str | None
    role: Role = Role.USER


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room."""

    id: int
    name: str  # as created
    approval: bool  # joining needs an administrator
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """One row of the membership table: a member (with read marker) or a pending request."""

    user_id: int
    room_id: int
    state: MembershipState
    read_marker: int  # msg_id of the last message read; 0 for pending
    since: int  # ms since the epoch: when joined or asked


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store: exactly one of `room_id` and `recipient_id` is set.

    `reply_to` must name a message of the same room or conversation: the store
    checks it in the transaction that stores the message (`StoredId.bad_reply`).
    """

    sender_id: int
    body: str
    ts: int
    room_id: int | None = None
    recipient_id: int | None = None
    nonce: str | None = None
    reply_to: int | None = None
    action: bool = False
    mentions: tuple[int, ...] = ()  # room messages: the members it mentions (not the sender)


@dataclass(frozen=True, slots=True)
class StoredId:
    """What storing a `NewMessage` gave: its id and time, and whether it is new.

    `fresh` is False when the sender had already stored a message with the same
    nonce: `msg_id` and `ts` are then the original's and nothing was written.
    `reused` adds that the earlier message said something else (another body, room
    or peer): the nonce was used for another message.
    """

    msg_id: int
    ts: int
    fresh: bool
    reused: bool = False
    bad_reply: bool = False  # nothing stored: `reply_to` is not in the same place


Reactions = dict[str, list[str]]
"""Emoji -> names of the users who put it on, oldest first."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message read back, as it is now: names for the sender, recipient and room.

    A deleted message has an empty body and no reactions.
    """

    msg_id: int
    ts: int
    sender: str
    body: str
    room: str | None = None
    recipient: str | None = None
    reply_to: int | None = None
    action: bool = False
    edited: int | None = None  # time of the last edit
    deleted: bool = False
    reactions: Reactions | None = None


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """A message read from the log in id order (`Store.message_log`), with the ids
    that say who receives it."""

    message: StoredMessage
    sender_id: int
    room_id: int | None
    recipient_id: int | None


class ChangeKind(enum.StrEnum):
    """What a change did to a message."""

    EDIT = "edit"
    DELETE = "delete"
    REACT = "react"  # a reaction put on
    UNREACT = "unreact"  # a reaction taken back


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where a message is and whose it is: what the rules look at before a change."""

    msg_id: int
    sender_id: int
    room_id: int | None
    recipient_id: int | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class NewChange:
    """A change to store: an edit (`body`), a deletion, or a reaction (`emoji`)."""

    kind: ChangeKind
    msg_id: int
    actor: str  # who: a user name, or `console` for the server's operator
    ts: int
    actor_id: int | None = None  # the user's id (reactions need it)
    body: str | None = None
    emoji: str | None = None
    reason: str | None = None  # a moderator's deletion
    mentions: tuple[int, ...] = ()  # an edit of a room message: whom the new body mentions


@dataclass(frozen=True, slots=True)
class StoredChange:
    """What storing a `NewChange` gave.

    `applied` is False for a reaction that was already so (put on twice, or taken
    back when absent): nothing was written, and `change_id` is the newest so far.
    """

    change_id: int
    applied: bool = True


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A change read back (`Store.changes_since`), with the message's place as names."""

    change_id: int
    kind: ChangeKind
    msg_id: int
    actor: str
    ts: int
    sender: str  # the message's sender
    room: str | None
    recipient: str | None
    body: str | None
    emoji: str | None


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """One term of a search query (`chat_srv.store.search.parse_query`): a word, or
    a phrase (its words side by side, in order); `prefix`: the one word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchScope:
    """Where a search looks: the messages of these rooms, and the conversations of
    `user_id` (only the one with `peer_id` when that is set)."""

    room_ids: tuple[int, ...] = ()
    user_id: int | None = None
    peer_id: int | None = None


@dataclass(frozen=True, slots=True)
class RoomUnread:
    """A member's position in one room."""

    room_id: int
    last_msg_id: int  # newest message in the room, 0 if none
    unread: int  # messages after the marker not sent by the member
    mentions: int = 0  # of those, how many mention the member


@dataclass(frozen=True, slots=True)
class DmUnread:
    """A user's position in one direct-message conversation."""

    peer_id: int
    peer: str  # the peer's name as registered
    last_msg_id: int
    unread: int  # messages from the peer after the user's marker


@dataclass(frozen=True, slots=True)
class Sanction:
    """A kick, user ban or IP ban."""

    id: int
    kind: SanctionKind
    target: str  # the user's name key, or an address/CIDR in canonical form
    until: int | None  # ms since the epoch; None = until lifted
    reason: str
    created_by: str
    created_at: int


class Store(abc.ABC):
    """The persistence operations the server needs; one implementation per database."""

    # -- lifecycle -------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, create or migrate the schema, create the default rooms if missing."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish pending writes and disconnect."""

    async def backup(self, path: str) -> None:
        """Copy the whole database to a new file at `path`, while it serves.

        Raises:
            StoreError: this backend has no such copy (MySQL: use mariadb-dump), or
                the file exists or cannot be written.
        """
        raise StoreError("this database is backed up with its own tools (see docs/deploy.md)")

    @abc.abstractmethod
    async def ping(self) -> None:
        """Run a trivial query (`SELECT 1`): the health check of `/healthz`.

        The caller bounds the wait (`asyncio.timeout`); cancelled, the query still
        ends in the store's own time, as every operation does.

        Raises:
            StoreUnavailable: the database failed or is unreachable, or the store
                is not open.
        """

    # -- users -----------------------------------------------------------------

    @abc.abstractmethod
    async def create_user(
        self, name: str, password_hash: str, now: int, ip: str | None
    ) -> UserRecord:
        """Create an account; `Conflict` if the name's key is taken, or one of its
        look-alike keys (`chat_srv.lookalikes`: the name looks like one taken)."""

    @abc.abstractmethod
    async def get_user(self, name: str) -> UserRecord | None:
        """The account whose name has the same key as `name`, if any."""

    @abc.abstractmethod
    async def get_users(self) -> list[UserRecord]:
        """Every account, in id order."""

    @abc.abstractmethod
    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace a password hash (rehash on login)."""

    @abc.abstractmethod
    async def record_login(self, user_id: int, ip: str | None, now: int) -> None:
        """Remember that a user logged in from `ip` (the last address, and one known)."""

    @abc.abstractmethod
    async def known_address(self, user_id: int, ip: str) -> bool:
        """Whether the user has logged in (or registered) from `ip` before."""

    @abc.abstractmethod
    async def set_role(self, user_id: int, role: Role) -> None:
        """Give a user a role (`user` takes it back)."""

    # -- session tokens ----------------------------------------------------------

    @abc.abstractmethod
    async def add_session(self, digest: str, user_id: int, now: int, lifetime: int) -> None:
        """Remember a session token, by its digest (never the token itself), and
        forget the user's tokens unused for `lifetime` ms."""

    @abc.abstractmethod
    async def session_user(self, digest: str, now: int, lifetime: int) -> int | None:
        """The user whose token has this digest, if it was used within `lifetime` ms.

        Marks it used at `now` (to the hour: a storm of logins writes little). An
        expired token is removed.
        """

    @abc.abstractmethod
    async def revoke_sessions(self, user_id: int, digest: str | None = None) -> int:
        """Forget one token of the user (`digest`), or all of them; how many went."""

    # -- rooms -----------------------------------------------------------------

    @abc.abstractmethod
    async def create_room(self, name: str, approval: bool) -> RoomRecord:
        """Create a room; `Conflict` if the name's key is taken."""

    @abc.abstractmethod
    async def get_rooms(self) -> list[RoomRecord]:
        """Every room, sorted by name key."""

    @abc.abstractmethod
    async def set_topic(self, room_id: int, topic: str | None) -> None:
        """Set a room's topic (None clears it)."""

    # -- memberships -----------------------------------------------------------

    @abc.abstractmethod
    async def get_memberships(self) -> list[Membership]:
        """Every membership and pending request (loaded once at start)."""

    @abc.abstractmethod
    async def set_membership(
        self, user_id: int, room_id: int, state: MembershipState, now: int
    ) -> Membership:
        """Insert or update a membership.

        Becoming a member sets the read marker to the room's newest message, so old
        history is not unread; a pending row has marker 0.
        """

    @abc.abstractmethod
    async def delete_membership(self, user_id: int, room_id: int) -> bool:
        """Remove a membership or pending request; False if there was none."""

    # -- messages --------------------------------------------------------------

    @abc.abstractmethod
    async def add_messages(self, batch: list[NewMessage]) -> list[StoredId]:
        """Store a batch in one transaction (group commit), in order, with the
        mentions of its room messages.

        Returns one `StoredId` per message, in the same order. A message whose
        (sender, nonce) was stored before, earlier in the same batch included, is
        not stored again: its entry is the original's with `fresh=False`.
        Message ids increase across rooms and conversations alike.
        """

    @abc.abstractmethod
    async def room_history(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        """A page of a room, oldest first, and whether more remain beyond it.

        With `after`: the oldest `limit` messages with id > after (more = newer
        ones remain). Otherwise the newest `limit` with id < before (or overall),
        more = older ones remain.
        """

    @abc.abstractmethod
    async def dm_history(
        self, user_id: int, peer_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        """As `room_history`, for the messages between two users (either direction)."""

    @abc.abstractmethod
    async def messages_since(self, ts: int, room_id: int | None = None) -> list[StoredMessage]:
        """Room messages and DMs with ts >= `ts` (only that room's when given), oldest first.

        Without reactions: they are for history pages.
        """

    @abc.abstractmethod
    async def message_log(self, after: int, limit: int) -> list[LoggedMessage]:
        """The oldest `limit` messages with id > `after`, rooms and DMs alike, as they
        are now (for a cluster node catching up with what others stored)."""

    @abc.abstractmethod
    async def last_msg_id(self) -> int:
        """The newest message id, 0 if none."""

    @abc.abstractmethod
    async def search(
        self, terms: list[SearchTerm], scope: SearchScope, *, before: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        """The newest `limit` messages in `scope` with id < `before` (or overall) that
        match every term, newest first, and whether older matches remain.

        Never a deleted message; an edited one by its current body only. Messages
        are read back as `room_history` reads them (reactions included).

        Raises:
            SearchTooBroad: the search found nothing in the time it may take.
        """

    # -- changes to messages -----------------------------------------------------

    @abc.abstractmethod
    async def message_ref(self, msg_id: int) -> MessageRef | None:
        """Where the message is and whose it is; None if there is no such message."""

    @abc.abstractmethod
    async def add_changes(self, batch: list[NewChange]) -> list[StoredChange | None]:
        """Store a batch of changes in one transaction, in order.

        One entry per change: None when its message is missing or deleted (nothing
        written for it). Change ids increase by one for each change written, in
        commit order, with no gaps. An edit replaces the message's mentions;
        deleting a message empties its body, its edits' bodies, its reactions and
        its mentions.
        """

    @abc.abstractmethod
    async def changes_since(
        self, since: int, user_id: int, room_ids: list[int], limit: int
    ) -> tuple[list[ChangeRecord], bool]:
        """The oldest `limit` changes after `since` to messages of these rooms or of the
        user's conversations, and whether more remain. Edits and reactions of a
        deleted message are left out (its deletion says all)."""

    @abc.abstractmethod
    async def last_change_id(self) -> int:
        """The newest change id, 0 if none."""

    # -- read markers and unread counts -----------------------------------------

    @abc.abstractmethod
    async def mark_room_read(self, user_id: int, room_id: int, msg_id: int) -> bool:
        """Move a member's marker forward to `msg_id`; False if it did not move."""

    @abc.abstractmethod
    async def mark_dm_read(self, user_id: int, peer_id: int, msg_id: int) -> bool:
        """Move a user's marker in a conversation forward; False if it did not move."""

    @abc.abstractmethod
    async def room_unread(self, user_id: int) -> list[RoomUnread]:
        """Position in every room the user is a member of."""

    @abc.abstractmethod
    async def room_last_ids(self) -> dict[int, int]:
        """Newest message id per room that has messages."""

    @abc.abstractmethod
    async def dm_unread(self, user_id: int) -> list[DmUnread]:
        """Position in every conversation the user has, sorted by peer name key."""

    @abc.abstractmethod
    async def dm_peers(self, user_id: int) -> list[int]:
        """The ids of the users the user has a conversation with."""

    # -- sanctions ---------------------------------------------------------------

    @abc.abstractmethod
    async def add_sanction(
        self,
        kind: SanctionKind,
        target: str,
        until: int | None,
        reason: str,
        created_by: str,
        now: int,
    ) -> Sanction:
        """Record a sanction."""

    @abc.abstractmethod
    async def lift_sanctions(self, kind: SanctionKind, target: str, now: int) -> int:
        """End every active sanction of that kind on that target; how many ended."""

    @abc.abstractmethod
    async def active_sanctions(self, now: int) -> list[Sanction]:
        """Sanctions neither lifted nor expired at `now`, oldest first."""
