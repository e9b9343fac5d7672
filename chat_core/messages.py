"""Every frame of the protocol, defined once: requests, replies, events.

Frames are `msgspec` structs tagged by their `type` field and encoded as
MessagePack maps. `decode_request` turns an untrusted payload into a validated
request or raises `ProtocolError` with the code the protocol names;
`decode_server_payload` does the same for what a client receives.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Final, TypeVar

import msgspec

from chat_core import names
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_core.framing import HEADER_SIZE, frame

RequestId = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
MsgId = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=200)]
Nonce = Annotated[str, msgspec.Meta(min_length=1, max_length=names.NONCE_MAX)]
PositiveId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
ChangesLimit = Annotated[int, msgspec.Meta(ge=1, le=500)]
ProtocolVersion = Annotated[int, msgspec.Meta(ge=1, le=2)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
SearchLimit = Annotated[int, msgspec.Meta(ge=1, le=50)]
SearchText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

HISTORY_LIMIT_DEFAULT: Final = 50
CHANGES_LIMIT_DEFAULT: Final = 200
SEARCH_LIMIT_DEFAULT: Final = 20

MEMBER: Final = "member"
PENDING: Final = "pending"
NONE: Final = "none"

COMMAND_MAX = 5000  # characters in one console line sent with `moderate`
STATUS_TEXT_MAX = 100  # characters of an away message
TOPIC_MAX = 300  # characters of a room's topic


class Role(enum.StrEnum):
    """What an account may do beyond chatting (version 2)."""

    USER = "user"
    MODERATOR = "moderator"  # moderation commands (see `moderate`)
    ADMIN = "admin"  # every console command but `shutdown`


class Frame(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """A frame: a MessagePack map whose `type` names the struct."""


# --------------------------------------------------------------------------- requests


class Request(Frame, forbid_unknown_fields=True, kw_only=True):
    """A request from a client; the server answers it with one reply of the same id."""

    id: RequestId

    def check(self) -> None:
        """Apply the rules a type alone cannot say; normalise names to NFC."""


class Register(Request, tag="register", kw_only=True):
    """Create an account, join Général and log in."""

    user: str
    password: str
    protocol: ProtocolVersion | None = None  # 2: the connection speaks version 2

    def check(self) -> None:
        self.user = names.check_user_name(self.user)
        names.check_password(self.password)


class Login(Request, tag="login", kw_only=True):
    """Log in to an existing account, with its password or a session token."""

    user: str
    password: str | None = None
    token: Token | None = None  # version 2: from an earlier login's result
    protocol: ProtocolVersion | None = None  # 2: the connection speaks version 2

    def check(self) -> None:
        self.user = names.check_user_name(self.user)
        if (self.password is None) == (self.token is None):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "give exactly one of `password` and `token`")
        if self.password is not None:
            names.check_password(self.password)


class Logout(Request, tag="logout", kw_only=True):
    """Log out, revoking this connection's session token (`all`: every one of the
    user's); the server replies and closes the connection."""

    all: bool = False


class ListRooms(Request, tag="rooms", kw_only=True):
    """Every room, with the caller's state in each."""


class Join(Request, tag="join", kw_only=True):
    """Join a room, or ask to."""

    room: str

    def check(self) -> None:
        self.room = names.check_room_name(self.room)


class Leave(Request, tag="leave", kw_only=True):
    """Leave a room, or withdraw a pending request."""

    room: str

    def check(self) -> None:
        self.room = names.check_room_name(self.room)


class Send(Request, tag="send", kw_only=True):
    """Post a message to a room."""

    room: str
    body: str
    nonce: Nonce | None = None
    reply_to: PositiveId | None = None  # version 2: a message of the same room
    action: bool = False  # version 2: a `/me` line

    def check(self) -> None:
        self.room = names.check_room_name(self.room)
        names.check_body(self.body)


class Dm(Request, tag="dm", kw_only=True):
    """Send a direct message to a user, online or not."""

    to: str
    body: str
    nonce: Nonce | None = None
    reply_to: PositiveId | None = None  # version 2: a message of the same conversation
    action: bool = False  # version 2: a `/me` line

    def check(self) -> None:
        self.to = names.check_user_name(self.to)
        names.check_body(self.body)


class Edit(Request, tag="edit", kw_only=True):
    """Replace the body of one's own message (version 2)."""

    msg_id: PositiveId
    body: str

    def check(self) -> None:
        names.check_body(self.body)


class Delete(Request, tag="delete", kw_only=True):
    """Delete a message: one's own, or a room's as a moderator (version 2)."""

    msg_id: PositiveId


class React(Request, tag="react", kw_only=True):
    """Put one's reaction on a message, or take it back (version 2)."""

    msg_id: PositiveId
    emoji: str
    on: bool

    def check(self) -> None:
        names.check_emoji(self.emoji)


class Changes(Request, tag="changes", kw_only=True):
    """The changes to readable messages after a `change_id` (version 2)."""

    since: MsgId
    limit: ChangesLimit = CHANGES_LIMIT_DEFAULT


def _one_target(room: str | None, peer: str | None) -> tuple[str | None, str | None]:
    if (room is None) == (peer is None):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "give exactly one of `room` and `peer`")
    if room is not None:
        return names.check_room_name(room), None
    assert peer is not None
    return None, names.check_user_name(peer)


class History(Request, tag="history", kw_only=True):
    """A page of a room's or a conversation's messages."""

    room: str | None = None
    peer: str | None = None
    before: MsgId | None = None
    after: MsgId | None = None
    limit: Limit = HISTORY_LIMIT_DEFAULT

    def check(self) -> None:
        self.room, self.peer = _one_target(self.room, self.peer)
        if self.before is not None and self.after is not None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "give at most one of `before` and `after`")


class Search(Request, tag="search", kw_only=True):
    """Messages the caller can read that match a query, newest first (version 2).

    `room` or `peer` (at most one) narrows the search to that room or conversation;
    `before` pages backwards. The query language is the server's (docs/protocol.md).
    """

    query: SearchText
    room: str | None = None
    peer: str | None = None
    before: MsgId | None = None
    limit: SearchLimit = SEARCH_LIMIT_DEFAULT

    def check(self) -> None:
        if self.room is not None and self.peer is not None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "give at most one of `room` and `peer`")
        if self.room is not None:
            self.room = names.check_room_name(self.room)
        if self.peer is not None:
            self.peer = names.check_user_name(self.peer)


class Who(Request, tag="who", kw_only=True):
    """The members of a room, or every online user."""

    room: str | None = None

    def check(self) -> None:
        if self.room is not None:
            self.room = names.check_room_name(self.room)


class MarkRead(Request, tag="mark_read", kw_only=True):
    """Move the caller's read marker in a room or conversation."""

    msg_id: MsgId
    room: str | None = None
    peer: str | None = None

    def check(self) -> None:
        self.room, self.peer = _one_target(self.room, self.peer)


class Ping(Request, tag="ping", kw_only=True):
    """Check the connection."""


class Moderate(Request, tag="moderate", kw_only=True):
    """Run one line of the administrator's console (moderators and admins)."""

    command: Annotated[str, msgspec.Meta(min_length=1, max_length=COMMAND_MAX)]
    # The columns the client shows the output in (tables are laid out for it).
    width: Annotated[int, msgspec.Meta(ge=20, le=1000)] | None = None

    def check(self) -> None:
        check_command_line(self.command)


def check_command_line(line: str) -> None:
    """Raise `bad_request` unless `line` is one line of text (no control characters)."""
    if names.has_controls(line):
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "a command is one line, without control characters"
        )


class Typing(Request, tag="typing", kw_only=True):
    """Say the caller is typing in a room or to a user (version 2); never stored."""

    room: str | None = None
    peer: str | None = None

    def check(self) -> None:
        self.room, self.peer = _one_target(self.room, self.peer)


class SetStatus(Request, tag="status", kw_only=True):
    """Say the caller is away (with a text) or back (version 2)."""

    away: bool
    text: str | None = None

    def check(self) -> None:
        if self.text is not None:
            check_line(self.text, STATUS_TEXT_MAX, "an away message")


class SetTopic(Request, tag="set_topic", kw_only=True):
    """Set a room's topic; "" clears it (version 2; moderators and admins)."""

    room: str
    topic: str

    def check(self) -> None:
        self.room = names.check_room_name(self.room)
        check_line(self.topic, TOPIC_MAX, "a topic")


def check_line(text: str, maximum: int, what: str) -> None:
    """Raise `bad_request` unless `text` is 0..`maximum` characters of one line."""
    if len(text) > maximum:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{what} is at most {maximum} characters")
    if names.has_controls(text):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{what} cannot hold control characters")


REQUEST_TYPES: Final[tuple[type[Request], ...]] = (
    Register,
    Login,
    Logout,
    ListRooms,
    Join,
    Leave,
    Send,
    Dm,
    History,
    Who,
    MarkRead,
    Ping,
    Moderate,
    Edit,
    Delete,
    React,
    Changes,
    Typing,
    SetStatus,
    SetTopic,
    Search,
)
REQUEST_TAGS: Final[frozenset[str]] = frozenset(str(t.__struct_config__.tag) for t in REQUEST_TYPES)
PRE_LOGIN_TYPES: Final[tuple[type[Request], ...]] = (Register, Login, Ping)


# ------------------------------------------------------------------- shared objects


class RoomInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A room as a user sees it. `unread` and `mentions` only for rooms the user is a
    member of; `online`, `last_msg_id` and `topic` not for a room needing approval
    that they are not in."""

    name: str
    approval: bool
    state: str  # member | pending | none
    online: int | None = None
    last_msg_id: int | None = None
    unread: int | None = None
    topic: str | None = None  # version 2, when set
    mentions: int | None = None  # version 2: unread messages that mention the user


class DmInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A direct-message conversation as one of its parties sees it."""

    peer: str
    last_msg_id: int
    unread: int
    away: bool = False  # version 2: the peer's status
    text: str | None = None


class UserInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A user in a `who` answer; `role` only where it is not `user`."""

    name: str
    online: bool
    role: str | None = None
    away: bool = False  # version 2: `text` is the away message, if any
    text: str | None = None


# ------------------------------------------------------------------------- events


class Event(Frame, kw_only=True):
    """An unsolicited frame from the server; it carries no id."""


Reactions = dict[str, list[str]]
"""Emoji -> the names of the users who put it on, oldest first."""


class Message(Event, tag="message", kw_only=True):
    """A room message (`room` set) or a direct message (`to` set), as it is now.

    A deleted message keeps its place with `deleted` and no body (version 2).
    """

    msg_id: int
    ts: int
    sender: str = msgspec.field(name="from")
    body: str | None = None  # None only when deleted
    room: str | None = None
    to: str | None = None
    # Version 2: what the message has become since it was sent.
    reply_to: int | None = None
    action: bool = False
    edited: int | None = None  # time of the last edit
    reactions: Reactions | None = None
    deleted: bool = False
    mentions: list[str] | None = None  # version 2: names mentioned as @name

    @property
    def text(self) -> str:
        """The body, or "" for a deleted message."""
        return self.body or ""


class PresenceChange(msgspec.Struct, kw_only=True):
    """One user's coming or going, in a coalesced `presence` event."""

    user: str
    online: bool


class Presence(Event, tag="presence", kw_only=True):
    """A user sharing a room with you came online or went offline (`user`, `online`);
    to a version-2 connection, several at once (`changes`)."""

    user: str | None = None
    online: bool | None = None
    changes: list[PresenceChange] | None = None

    def entries(self) -> list[PresenceChange]:
        """The changes this event reports, whichever its shape."""
        if self.changes is not None:
            return self.changes
        if self.user is None or self.online is None:
            return []
        return [PresenceChange(user=self.user, online=self.online)]


class Member(Event, tag="member", kw_only=True):
    """Someone joined or left a room you are in."""

    room: str
    user: str
    joined: bool


class Membership(Event, tag="membership", kw_only=True):
    """Your own membership of a room changed (accepted, rejected, removed)."""

    room: str
    state: str


class Read(Event, tag="read", kw_only=True):
    """Your read marker moved on another of your connections."""

    msg_id: int
    room: str | None = None
    peer: str | None = None


class RoomAdded(Event, tag="room_added", kw_only=True):
    """An administrator created a room."""

    room: str
    approval: bool


class Notice(Event, tag="notice", kw_only=True):
    """A message from the server's administrator."""

    text: str


class Disconnect(Event, tag="disconnect", kw_only=True):
    """The server is about to close the connection."""

    reason: DisconnectReason
    text: str
    until: int | None = None


class Edited(Event, tag="edited", kw_only=True):
    """A message's body was replaced by its sender (version 2)."""

    change_id: int
    msg_id: int
    sender: str = msgspec.field(name="from")
    body: str
    edited: int  # time of the edit
    room: str | None = None
    to: str | None = None
    mentions: list[str] | None = None  # names the new body mentions


class Deleted(Event, tag="deleted", kw_only=True):
    """A message was deleted, by its sender or a moderator (`by`) (version 2)."""

    change_id: int
    msg_id: int
    by: str
    room: str | None = None
    to: str | None = None
    sender: str | None = msgspec.field(default=None, name="from")  # the message's


class Reaction(Event, tag="reaction", kw_only=True):
    """A user put a reaction on a message (`on`) or took it back (version 2)."""

    change_id: int
    msg_id: int
    user: str
    emoji: str
    on: bool
    room: str | None = None
    to: str | None = None
    sender: str | None = msgspec.field(default=None, name="from")  # the message's


class UserTyping(Event, tag="typing", kw_only=True):
    """Someone is typing in a room you are in, or to you (`to`) (version 2)."""

    user: str
    room: str | None = None
    to: str | None = None


class UserStatus(Event, tag="status", kw_only=True):
    """Someone you share a room or a conversation with went away or came back."""

    user: str
    away: bool
    text: str | None = None


class Topic(Event, tag="topic", kw_only=True):
    """A room's topic changed ("" when cleared) (version 2)."""

    room: str
    topic: str
    by: str


Change = Edited | Deleted | Reaction
"""A change to an existing message: the events `changes` replays."""

EVENT_TYPES: Final = (
    Message,
    Presence,
    Member,
    Membership,
    Read,
    RoomAdded,
    Notice,
    Disconnect,
    Edited,
    Deleted,
    Reaction,
    UserTyping,
    UserStatus,
    Topic,
)


# ------------------------------------------------------------------------ replies


class Reply(Frame, kw_only=True):
    """The answer to a request, carrying the request's id."""

    id: int | None = None


class Ok(Reply, tag="ok", kw_only=True):
    """Success with no result fields (logout, leave, mark_read, ping)."""


class LoginOk(Ok, kw_only=True):
    """Result of `login` and `register`."""

    user: str
    rooms: list[RoomInfo]
    dms: list[DmInfo]
    server_time: int
    role: str = Role.USER  # version 2; left out when `user`
    last_change_id: int | None = None  # version 2: the newest change to any message
    token: str | None = None  # version 2: logs in again without the password


class RoomsOk(Ok, kw_only=True):
    """Result of `rooms`."""

    rooms: list[RoomInfo]


class JoinOk(Ok, kw_only=True):
    """Result of `join`: `member` or `pending`."""

    state: str


class SentOk(Ok, kw_only=True):
    """Result of `send` and `dm`: the stored message's id and time."""

    msg_id: int
    ts: int


class HistoryOk(Ok, kw_only=True):
    """Result of `history`: a page, oldest first."""

    messages: list[Message]
    more: bool


class SearchOk(Ok, kw_only=True):
    """Result of `search`: matching messages, newest first; `more`: older ones match too."""

    messages: list[Message]
    more: bool


class WhoOk(Ok, kw_only=True):
    """Result of `who`."""

    users: list[UserInfo]


class ChangedOk(Ok, kw_only=True):
    """Result of `edit`, `delete` and `react`: the change's id."""

    change_id: int


class ChangesOk(Ok, kw_only=True):
    """Result of `changes`: change events, oldest first."""

    changes: list[Change]
    more: bool


class ModerateOk(Ok, kw_only=True):
    """Result of `moderate`: the command's output as plain text lines."""

    lines: list[str]


class ErrorReply(Reply, tag="error", kw_only=True):
    """Failure: a code from `ErrorCode`, a sentence, and the code's details."""

    code: ErrorCode
    message: str
    until: int | None = None
    reason: str | None = None
    retry_after_ms: int | None = None

    @classmethod
    def from_exception(cls, error: ProtocolError) -> ErrorReply:
        """The reply that reports `error`."""
        return cls(
            id=error.request_id,
            code=error.code,
            message=error.message,
            **error.details,
        )

    def to_exception(self) -> ProtocolError:
        """The exception a client raises for this reply."""
        details = {
            key: value
            for key, value in (
                ("until", self.until),
                ("reason", self.reason),
                ("retry_after_ms", self.retry_after_ms),
            )
            if value is not None
        }
        return ProtocolError(self.code, self.message, request_id=self.id, **details)


RESULT_TYPES: Final[dict[type[Request], type[Ok]]] = {
    Register: LoginOk,
    Login: LoginOk,
    ListRooms: RoomsOk,
    Join: JoinOk,
    Send: SentOk,
    Dm: SentOk,
    History: HistoryOk,
    Who: WhoOk,
    Moderate: ModerateOk,
    Edit: ChangedOk,
    Delete: ChangedOk,
    React: ChangedOk,
    Changes: ChangesOk,
    Search: SearchOk,
}
"""The `ok` reply each request gets; requests not listed get a plain `Ok`."""


# ----------------------------------------------------------------------- encoding

_encoder = msgspec.msgpack.Encoder()


def encode(message: Frame) -> bytes:
    """One whole frame (length prefix and payload) for `message`."""
    buffer = bytearray(HEADER_SIZE)
    _encoder.encode_into(message, buffer, HEADER_SIZE)
    buffer[:HEADER_SIZE] = (len(buffer) - HEADER_SIZE).to_bytes(HEADER_SIZE, "big")
    return bytes(buffer)


def encode_payload(message: Frame) -> bytes:
    """The MessagePack payload of `message`, without the length prefix."""
    return _encoder.encode(message)


def encode_raw(payload: Any) -> bytes:
    """A frame holding any MessagePack-encodable value (for tests and fuzzing)."""
    return frame(_encoder.encode(payload))


# ----------------------------------------------------------------------- decoding

_request_decoder: Final = msgspec.msgpack.Decoder(
    Register
    | Login
    | Logout
    | ListRooms
    | Join
    | Leave
    | Send
    | Dm
    | History
    | Who
    | MarkRead
    | Ping
    | Moderate
    | Edit
    | Delete
    | React
    | Changes
    | Typing
    | SetStatus
    | SetTopic
    | Search
)
_any_decoder: Final = msgspec.msgpack.Decoder()


def _loads(payload: bytes) -> Any:
    """Decode MessagePack with no schema, mapping every failure to `bad_request`."""
    try:
        return _any_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as error:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f"payload is not valid MessagePack: {error}"
        ) from None


def _request_error(payload: bytes, error: Exception) -> ProtocolError:
    """Explain why `payload` is not a request, with the most specific code."""
    raw = _loads(payload)
    if not isinstance(raw, dict):
        return ProtocolError(ErrorCode.BAD_REQUEST, "a frame must hold a MessagePack map")
    request_id = raw.get("id")
    if type(request_id) is not int or not 0 <= request_id <= 2**31 - 1:
        request_id = None
    kind = raw.get("type")
    if not isinstance(kind, str):
        return ProtocolError(
            ErrorCode.BAD_REQUEST, "a frame needs a string `type`", request_id=request_id
        )
    if kind not in REQUEST_TAGS:
        return ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"no request is called {kind[:64]!r}", request_id=request_id
        )
    return ProtocolError(ErrorCode.BAD_REQUEST, str(error), request_id=request_id)


def decode_request(payload: bytes) -> Request:
    """Decode and validate one request payload from an untrusted client.

    Raises:
        ProtocolError: with `bad_request`, `unknown_type`, `invalid_name` or
            `invalid_password`, and the request's id when it could be read.
    """
    try:
        request: Request = _request_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as error:
        raise _request_error(payload, error) from None
    return checked(request)


RequestT = TypeVar("RequestT", bound=Request)


def checked(request: RequestT) -> RequestT:
    """`request` once its `check()` passed; its error carries the request's id."""
    try:
        request.check()
    except ProtocolError as error:
        error.request_id = request.id
        raise
    return request


_event_types_by_tag: Final = {str(t.__struct_config__.tag): t for t in EVENT_TYPES}

ReplyT = TypeVar("ReplyT", bound=Ok)


class RawReply:
    """A reply as received, to be typed by whoever sent the request."""

    __slots__ = ("fields", "id", "ok")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields
        self.id: int | None = fields.get("id")
        self.ok = fields.get("type") == "ok"

    def result(self, kind: type[ReplyT]) -> ReplyT:
        """The reply as `kind`, or the `ProtocolError` it reports raised."""
        if not self.ok:
            raise _convert(self.fields, ErrorReply).to_exception()
        return _convert(self.fields, kind)


T = TypeVar("T")


def _convert(fields: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as error:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"malformed {kind.__name__}: {error}") from None


def decode_server_payload(payload: bytes) -> Event | RawReply:
    """Decode one payload sent by a server: an event, or a reply to type later.

    Raises:
        ProtocolError: `bad_request` for anything that is not a known frame.
    """
    raw = _loads(payload)
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a frame must hold a MessagePack map")
    kind = raw.get("type")
    if kind in ("ok", "error"):
        if "id" in raw and type(raw["id"]) is not int:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a reply's `id` must be an integer")
        return RawReply(raw)
    event_type = _event_types_by_tag.get(kind) if isinstance(kind, str) else None
    if event_type is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown frame type {kind!r:.64}")
    return _convert(raw, event_type)
