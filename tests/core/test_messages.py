"""Every frame type: its wire form, round trips, and every rejected request."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError

ROOM_INFO = m.RoomInfo(
    name="Général", approval=False, state=m.MEMBER, online=3, last_msg_id=41, unread=2
)
ROOM_INFO_WIRE = {
    "name": "Général",
    "approval": False,
    "state": "member",
    "online": 3,
    "last_msg_id": 41,
    "unread": 2,
}
OTHER_ROOM = m.RoomInfo(name="Marketing", approval=True, state=m.NONE, online=0, last_msg_id=0)
OTHER_ROOM_WIRE = {
    "name": "Marketing",
    "approval": True,
    "state": "none",
    "online": 0,
    "last_msg_id": 0,
}  # no `unread` for a room one is not a member of
ROOM_MESSAGE = m.Message(
    msg_id=42, ts=1_700_000_000_000, sender="alice", body="salut", room="Général"
)
ROOM_MESSAGE_WIRE = {
    "type": "message",
    "msg_id": 42,
    "ts": 1_700_000_000_000,
    "from": "alice",
    "body": "salut",
    "room": "Général",
}
DIRECT_MESSAGE = m.Message(msg_id=43, ts=1_700_000_000_001, sender="alice", body="psst", to="bob")
DIRECT_MESSAGE_WIRE = {
    "type": "message",
    "msg_id": 43,
    "ts": 1_700_000_000_001,
    "from": "alice",
    "body": "psst",
    "to": "bob",
}

REQUESTS: list[tuple[m.Request, dict[str, Any]]] = [
    (
        m.Register(id=0, user="Zoé", password="correct horse"),
        {"type": "register", "id": 0, "user": "Zoé", "password": "correct horse"},
    ),
    (
        m.Login(id=1, user="zoé", password="correct horse"),
        {"type": "login", "id": 1, "user": "zoé", "password": "correct horse"},
    ),
    (m.Logout(id=2), {"type": "logout", "id": 2}),
    (m.Logout(id=2, all=True), {"type": "logout", "id": 2, "all": True}),
    (
        m.Login(id=1, user="zoé", token="tok_3x", protocol=2),
        {"type": "login", "id": 1, "user": "zoé", "token": "tok_3x", "protocol": 2},
    ),
    (
        m.Register(id=0, user="Zoé", password="correct horse", protocol=2),
        {"type": "register", "id": 0, "user": "Zoé", "password": "correct horse", "protocol": 2},
    ),
    (m.ListRooms(id=3), {"type": "rooms", "id": 3}),
    (m.Join(id=4, room="Comptabilité"), {"type": "join", "id": 4, "room": "Comptabilité"}),
    (m.Leave(id=5, room="Général"), {"type": "leave", "id": 5, "room": "Général"}),
    (
        m.Send(id=6, room="Général", body="bonjour\n\tà tous"),
        {"type": "send", "id": 6, "room": "Général", "body": "bonjour\n\tà tous"},
    ),
    (
        m.Send(id=7, room="Blabla", body="again", nonce="n-1"),
        {"type": "send", "id": 7, "room": "Blabla", "body": "again", "nonce": "n-1"},
    ),
    (
        m.Dm(id=8, to="bob", body="hi", nonce="x"),
        {"type": "dm", "id": 8, "to": "bob", "body": "hi", "nonce": "x"},
    ),
    (m.Dm(id=9, to="bob", body="hi"), {"type": "dm", "id": 9, "to": "bob", "body": "hi"}),
    (m.History(id=10, room="Général"), {"type": "history", "id": 10, "room": "Général"}),
    (
        m.History(id=11, peer="bob", before=99, limit=200),
        {"type": "history", "id": 11, "peer": "bob", "before": 99, "limit": 200},
    ),
    (
        m.History(id=12, room="Général", after=2**63 - 1, limit=1),
        {"type": "history", "id": 12, "room": "Général", "after": 2**63 - 1, "limit": 1},
    ),
    (m.Who(id=13), {"type": "who", "id": 13}),
    (m.Who(id=14, room="Blabla"), {"type": "who", "id": 14, "room": "Blabla"}),
    (
        m.MarkRead(id=15, room="Blabla", msg_id=0),
        {"type": "mark_read", "id": 15, "room": "Blabla", "msg_id": 0},
    ),
    (
        m.MarkRead(id=16, peer="bob", msg_id=7),
        {"type": "mark_read", "id": 16, "peer": "bob", "msg_id": 7},
    ),
    (m.Ping(id=2**31 - 1), {"type": "ping", "id": 2**31 - 1}),
    (
        m.Moderate(id=17, command="kick bob 10m flooding"),
        {"type": "moderate", "id": 17, "command": "kick bob 10m flooding"},
    ),
    (
        m.Send(id=18, room="Général", body="waves", reply_to=42, action=True),
        {
            "type": "send",
            "id": 18,
            "room": "Général",
            "body": "waves",
            "reply_to": 42,
            "action": True,
        },
    ),
    (
        m.Edit(id=19, msg_id=42, body="salut !"),
        {"type": "edit", "id": 19, "msg_id": 42, "body": "salut !"},
    ),
    (m.Delete(id=20, msg_id=42), {"type": "delete", "id": 20, "msg_id": 42}),
    (
        m.React(id=21, msg_id=42, emoji="👨‍👩‍👧", on=False),
        {"type": "react", "id": 21, "msg_id": 42, "emoji": "👨‍👩‍👧", "on": False},
    ),
    (m.Changes(id=22, since=0), {"type": "changes", "id": 22, "since": 0}),
    (
        m.Changes(id=23, since=7, limit=500),
        {"type": "changes", "id": 23, "since": 7, "limit": 500},
    ),
    (m.Typing(id=24, room="Général"), {"type": "typing", "id": 24, "room": "Général"}),
    (m.Typing(id=25, peer="bob"), {"type": "typing", "id": 25, "peer": "bob"}),
    (
        m.SetStatus(id=26, away=True, text="déjeuner"),
        {"type": "status", "id": 26, "away": True, "text": "déjeuner"},
    ),
    (m.SetStatus(id=27, away=False), {"type": "status", "id": 27, "away": False}),
    (
        m.SetTopic(id=28, room="Général", topic=""),
        {"type": "set_topic", "id": 28, "room": "Général", "topic": ""},
    ),
    (m.Search(id=29, query="build"), {"type": "search", "id": 29, "query": "build"}),
    (
        m.Search(id=30, query='"mot de passe" oubli*', room="Général", before=99, limit=50),
        {
            "type": "search",
            "id": 30,
            "query": '"mot de passe" oubli*',
            "room": "Général",
            "before": 99,
            "limit": 50,
        },
    ),
    (
        m.Search(id=31, query="x", peer="bob", limit=1),
        {"type": "search", "id": 31, "query": "x", "peer": "bob", "limit": 1},
    ),
]

EDITED = m.Edited(
    change_id=3, msg_id=42, sender="alice", body="salut !", edited=1_700_000_000_500, room="Général"
)
EDITED_WIRE = {
    "type": "edited",
    "change_id": 3,
    "msg_id": 42,
    "from": "alice",
    "body": "salut !",
    "edited": 1_700_000_000_500,
    "room": "Général",
}
DELETED = m.Deleted(change_id=4, msg_id=43, by="alice", to="bob")
DELETED_WIRE = {"type": "deleted", "change_id": 4, "msg_id": 43, "by": "alice", "to": "bob"}

EVENTS: list[tuple[m.Event, dict[str, Any]]] = [
    (ROOM_MESSAGE, ROOM_MESSAGE_WIRE),
    (DIRECT_MESSAGE, DIRECT_MESSAGE_WIRE),
    (m.Presence(user="bob", online=True), {"type": "presence", "user": "bob", "online": True}),
    (m.Presence(user="bob", online=False), {"type": "presence", "user": "bob", "online": False}),
    (
        m.Presence(changes=[m.PresenceChange(user="bob", online=False)]),
        {"type": "presence", "changes": [{"user": "bob", "online": False}]},
    ),
    (
        m.Member(room="Général", user="bob", joined=False),
        {"type": "member", "room": "Général", "user": "bob", "joined": False},
    ),
    (
        m.Membership(room="Marketing", state=m.MEMBER),
        {"type": "membership", "room": "Marketing", "state": "member"},
    ),
    (m.Read(room="Général", msg_id=42), {"type": "read", "room": "Général", "msg_id": 42}),
    (m.Read(peer="bob", msg_id=43), {"type": "read", "peer": "bob", "msg_id": 43}),
    (
        m.RoomAdded(room="Jeux", approval=True),
        {"type": "room_added", "room": "Jeux", "approval": True},
    ),
    (m.Notice(text="maintenance à 18h"), {"type": "notice", "text": "maintenance à 18h"}),
    (
        m.Disconnect(reason=DisconnectReason.KICKED, text="calm down", until=1_700_000_600_000),
        {"type": "disconnect", "reason": "kicked", "text": "calm down", "until": 1_700_000_600_000},
    ),
    (
        m.Disconnect(reason=DisconnectReason.SHUTDOWN, text="bye"),
        {"type": "disconnect", "reason": "shutdown", "text": "bye"},
    ),
    (EDITED, EDITED_WIRE),
    (DELETED, DELETED_WIRE),
    (
        m.Reaction(change_id=5, msg_id=42, user="bob", emoji="👍", on=True, room="Général"),
        {
            "type": "reaction",
            "change_id": 5,
            "msg_id": 42,
            "user": "bob",
            "emoji": "👍",
            "on": True,
            "room": "Général",
        },
    ),
    (
        m.Message(
            msg_id=44,
            ts=9,
            sender="bob",
            body="ça marche",
            room="Général",
            reply_to=42,
            action=True,
            edited=10,
            reactions={"👍": ["alice", "carol"]},
        ),
        {
            "type": "message",
            "msg_id": 44,
            "ts": 9,
            "from": "bob",
            "body": "ça marche",
            "room": "Général",
            "reply_to": 42,
            "action": True,
            "edited": 10,
            "reactions": {"👍": ["alice", "carol"]},
        },
    ),
    (
        m.UserTyping(user="bob", room="Général"),
        {"type": "typing", "user": "bob", "room": "Général"},
    ),
    (m.UserTyping(user="bob", to="alice"), {"type": "typing", "user": "bob", "to": "alice"}),
    (
        m.UserStatus(user="bob", away=True, text="afk"),
        {"type": "status", "user": "bob", "away": True, "text": "afk"},
    ),
    (
        m.Topic(room="Général", topic="☕", by="mia"),
        {"type": "topic", "room": "Général", "topic": "☕", "by": "mia"},
    ),
    (
        m.Message(msg_id=46, ts=9, sender="bob", body="@Alice", to="alice", mentions=["alice"]),
        {
            "type": "message",
            "msg_id": 46,
            "ts": 9,
            "from": "bob",
            "body": "@Alice",
            "to": "alice",
            "mentions": ["alice"],
        },
    ),
    (
        m.Message(msg_id=45, ts=9, sender="bob", room="Général", deleted=True),
        {
            "type": "message",
            "msg_id": 45,
            "ts": 9,
            "from": "bob",
            "room": "Général",
            "deleted": True,
        },
    ),
]

OK_REPLIES: list[tuple[m.Ok, dict[str, Any]]] = [
    (m.Ok(id=1), {"type": "ok", "id": 1}),
    (
        m.LoginOk(
            id=2,
            user="Zoé",
            rooms=[ROOM_INFO, OTHER_ROOM],
            dms=[m.DmInfo(peer="bob", last_msg_id=43, unread=1)],
            server_time=1_700_000_000_002,
        ),
        {
            "type": "ok",
            "id": 2,
            "user": "Zoé",
            "rooms": [ROOM_INFO_WIRE, OTHER_ROOM_WIRE],
            "dms": [{"peer": "bob", "last_msg_id": 43, "unread": 1}],
            "server_time": 1_700_000_000_002,
        },
    ),
    (
        m.RoomsOk(id=3, rooms=[ROOM_INFO]),
        {"type": "ok", "id": 3, "rooms": [ROOM_INFO_WIRE]},
    ),
    (m.JoinOk(id=4, state=m.PENDING), {"type": "ok", "id": 4, "state": "pending"}),
    (m.SentOk(id=5, msg_id=44, ts=17), {"type": "ok", "id": 5, "msg_id": 44, "ts": 17}),
    (
        m.HistoryOk(id=6, messages=[ROOM_MESSAGE, DIRECT_MESSAGE], more=True),
        {"type": "ok", "id": 6, "messages": [ROOM_MESSAGE_WIRE, DIRECT_MESSAGE_WIRE], "more": True},
    ),
    (
        m.WhoOk(id=7, users=[m.UserInfo(name="bob", online=False)]),
        {"type": "ok", "id": 7, "users": [{"name": "bob", "online": False}]},
    ),
    (
        m.WhoOk(id=7, users=[m.UserInfo(name="eve", online=True, role=m.Role.MODERATOR)]),
        {"type": "ok", "id": 7, "users": [{"name": "eve", "online": True, "role": "moderator"}]},
    ),
    (
        m.ModerateOk(id=9, lines=["kicked bob for 10m"]),
        {"type": "ok", "id": 9, "lines": ["kicked bob for 10m"]},
    ),
    (m.ChangedOk(id=10, change_id=3), {"type": "ok", "id": 10, "change_id": 3}),
    (
        m.ChangesOk(id=11, changes=[EDITED, DELETED], more=False),
        {"type": "ok", "id": 11, "changes": [EDITED_WIRE, DELETED_WIRE], "more": False},
    ),
    (
        m.SearchOk(id=12, messages=[DIRECT_MESSAGE, ROOM_MESSAGE], more=True),
        {
            "type": "ok",
            "id": 12,
            "messages": [DIRECT_MESSAGE_WIRE, ROOM_MESSAGE_WIRE],
            "more": True,
        },
    ),
]

ERROR_REPLIES: list[tuple[m.ErrorReply, dict[str, Any]]] = [
    (
        m.ErrorReply(id=8, code=ErrorCode.NOT_MEMBER, message="join first"),
        {"type": "error", "id": 8, "code": "not_member", "message": "join first"},
    ),
    (
        m.ErrorReply(code=ErrorCode.BAD_REQUEST, message="not MessagePack"),
        {"type": "error", "code": "bad_request", "message": "not MessagePack"},  # no id
    ),
    (
        m.ErrorReply(id=9, code=ErrorCode.KICKED, message="no", until=5, reason="spam"),
        {"type": "error", "id": 9, "code": "kicked", "message": "no", "until": 5, "reason": "spam"},
    ),
    (
        m.ErrorReply(id=10, code=ErrorCode.RATE_LIMITED, message="slow", retry_after_ms=250),
        {
            "type": "error",
            "id": 10,
            "code": "rate_limited",
            "message": "slow",
            "retry_after_ms": 250,
        },
    ),
]


def wire(message: m.Frame) -> Any:
    """What a schema-less MessagePack reader sees in the frame's payload."""
    return msgspec.msgpack.decode(m.encode_payload(message))


def rejected(payload: bytes) -> ProtocolError:
    """The error `decode_request` raises for `payload`; any other exception fails."""
    with pytest.raises(ProtocolError) as info:
        m.decode_request(payload)
    return info.value


def rejected_map(fields: dict[Any, Any]) -> ProtocolError:
    return rejected(msgspec.msgpack.encode(fields))


# ---------------------------------------------------------------------- round trips


def test_examples_cover_every_type() -> None:
    assert {type(r) for r, _ in REQUESTS} == set(m.REQUEST_TYPES)
    assert {type(e) for e, _ in EVENTS} == set(m.EVENT_TYPES)
    assert {type(r) for r, _ in OK_REPLIES} == {
        m.Ok,
        m.LoginOk,
        m.RoomsOk,
        m.JoinOk,
        m.SentOk,
        m.HistoryOk,
        m.WhoOk,
        m.ModerateOk,
        m.ChangedOk,
        m.ChangesOk,
        m.SearchOk,
    }
    assert {str(w["type"]) for _, w in REQUESTS} == m.REQUEST_TAGS


@pytest.mark.parametrize(("request_", "expected"), REQUESTS, ids=[w["type"] for _, w in REQUESTS])
def test_request_round_trip(request_: m.Request, expected: dict[str, Any]) -> None:
    assert wire(request_) == expected
    payload = m.encode_payload(request_)
    decoded = m.decode_request(payload)
    assert type(decoded) is type(request_)
    assert decoded == request_
    # A client cannot mistake a request for a server's frame: its type names no
    # event, or (`typing`, `status`: a request and an event of the same name) it
    # lacks the event's fields.
    with pytest.raises(ProtocolError) as info:
        m.decode_server_payload(payload)
    shared = expected["type"] in {"typing", "status"}
    assert info.value.code is (ErrorCode.BAD_REQUEST if shared else ErrorCode.UNKNOWN_TYPE)


@pytest.mark.parametrize(("event", "expected"), EVENTS, ids=[type(e).__name__ for e, _ in EVENTS])
def test_event_round_trip(event: m.Event, expected: dict[str, Any]) -> None:
    assert wire(event) == expected
    decoded = m.decode_server_payload(m.encode_payload(event))
    assert type(decoded) is type(event)
    assert decoded == event


@pytest.mark.parametrize(
    ("reply", "expected"), OK_REPLIES, ids=[type(r).__name__ for r, _ in OK_REPLIES]
)
def test_ok_reply_round_trip(reply: m.Ok, expected: dict[str, Any]) -> None:
    assert wire(reply) == expected
    raw = m.decode_server_payload(m.encode_payload(reply))
    assert isinstance(raw, m.RawReply)
    assert raw.ok
    assert raw.id == reply.id
    assert raw.result(type(reply)) == reply
    assert raw.result(m.Ok) == m.Ok(id=reply.id)  # the plain Ok ignores result fields


@pytest.mark.parametrize(
    ("reply", "expected"), ERROR_REPLIES, ids=[str(r.code) for r, _ in ERROR_REPLIES]
)
def test_error_reply_round_trip(reply: m.ErrorReply, expected: dict[str, Any]) -> None:
    assert wire(reply) == expected
    raw = m.decode_server_payload(m.encode_payload(reply))
    assert isinstance(raw, m.RawReply)
    assert not raw.ok
    assert raw.id == reply.id
    with pytest.raises(ProtocolError) as info:
        raw.result(m.SentOk)
    error = info.value
    assert error.code is reply.code
    assert error.message == reply.message
    assert error.request_id == reply.id
    assert m.ErrorReply.from_exception(error) == reply


def test_history_items_are_message_events() -> None:
    reply = m.HistoryOk(id=1, messages=[ROOM_MESSAGE], more=False)
    item = wire(reply)["messages"][0]
    assert item == wire(ROOM_MESSAGE)
    assert item["type"] == "message"
    assert m.decode_server_payload(msgspec.msgpack.encode(item)) == ROOM_MESSAGE


def test_error_reply_from_exception_carries_details() -> None:
    error = ProtocolError(ErrorCode.RATE_LIMITED, "slow down", request_id=3, retry_after_ms=500)
    assert wire(m.ErrorReply.from_exception(error)) == {
        "type": "error",
        "id": 3,
        "code": "rate_limited",
        "message": "slow down",
        "retry_after_ms": 500,
    }


def test_error_for_an_unreadable_request_has_no_id() -> None:
    error = rejected(b"\xc1")
    assert error.request_id is None
    assert "id" not in wire(m.ErrorReply.from_exception(error))


def test_type_may_come_anywhere_in_the_map() -> None:
    payload = msgspec.msgpack.encode({"room": "Blabla", "id": 3, "type": "join"})
    assert m.decode_request(payload) == m.Join(id=3, room="Blabla")


def test_optional_fields_may_be_nil() -> None:
    payload = msgspec.msgpack.encode(
        {"type": "history", "id": 1, "room": "Blabla", "peer": None, "before": None}
    )
    assert m.decode_request(payload) == m.History(id=1, room="Blabla")
    payload = msgspec.msgpack.encode(
        {"type": "send", "id": 1, "room": "a", "body": "b", "nonce": None}
    )
    assert m.decode_request(payload) == m.Send(id=1, room="a", body="b")


def test_history_limit_defaults_to_50() -> None:
    request = m.decode_request(msgspec.msgpack.encode({"type": "history", "id": 1, "peer": "bob"}))
    assert isinstance(request, m.History)
    assert request.limit == m.HISTORY_LIMIT_DEFAULT == 50


def test_search_defaults_and_bounds() -> None:
    request = m.decode_request(msgspec.msgpack.encode({"type": "search", "id": 1, "query": "x"}))
    assert request == m.Search(id=1, query="x", limit=m.SEARCH_LIMIT_DEFAULT)
    assert m.SEARCH_LIMIT_DEFAULT == 20
    fields = {"type": "search", "id": 1, "query": "é" * 200, "limit": 50, "before": 0}
    assert m.decode_request(msgspec.msgpack.encode(fields)) == m.Search(
        id=1, query="é" * 200, limit=50, before=0
    )
    # The query is the server's to read: operators and quotes reach it as typed.
    hostile = 'a" OR b -c NEAR(d) e:* ("'
    fields = {"type": "search", "id": 1, "query": hostile, "room": "Ge\u0301ne\u0301ral"}
    assert m.decode_request(msgspec.msgpack.encode(fields)) == m.Search(
        id=1, query=hostile, room="Général"
    )


def test_decoding_normalises_names_to_nfc() -> None:
    decomposed = "Ge\u0301ne\u0301ral"
    request = m.decode_request(
        msgspec.msgpack.encode({"type": "join", "id": 1, "room": decomposed})
    )
    assert request == m.Join(id=1, room="Général")
    request = m.decode_request(
        msgspec.msgpack.encode(
            {"type": "login", "id": 1, "user": "Zo\u0065\u0301", "password": "p" * 8}
        )
    )
    assert isinstance(request, m.Login)
    assert request.user == "Zoé"
    request = m.decode_request(
        msgspec.msgpack.encode({"type": "history", "id": 1, "peer": "Zoe\u0301"})
    )
    assert isinstance(request, m.History)
    assert request.peer == "Zoé"


def test_pre_login_types() -> None:
    assert set(m.PRE_LOGIN_TYPES) == {m.Register, m.Login, m.Ping}


def test_result_types_follow_the_request_table() -> None:
    expected: dict[type[m.Request], type[m.Ok]] = {
        m.Register: m.LoginOk,
        m.Login: m.LoginOk,
        m.Logout: m.Ok,
        m.ListRooms: m.RoomsOk,
        m.Join: m.JoinOk,
        m.Leave: m.Ok,
        m.Send: m.SentOk,
        m.Dm: m.SentOk,
        m.History: m.HistoryOk,
        m.Who: m.WhoOk,
        m.MarkRead: m.Ok,
        m.Ping: m.Ok,
        m.Moderate: m.ModerateOk,
        m.Edit: m.ChangedOk,
        m.Delete: m.ChangedOk,
        m.React: m.ChangedOk,
        m.Changes: m.ChangesOk,
        m.Typing: m.Ok,
        m.SetStatus: m.Ok,
        m.SetTopic: m.Ok,
        m.Search: m.SearchOk,
    }
    assert set(expected) == set(m.REQUEST_TYPES)
    assert {kind: m.RESULT_TYPES.get(kind, m.Ok) for kind in m.REQUEST_TYPES} == expected


# ------------------------------------------------------------------ malformed frames


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\xc1", id="reserved-byte"),
        pytest.param(b"\x82\xa4type", id="truncated-map"),
        pytest.param(msgspec.msgpack.encode({"type": "ping", "id": 1}) + b"\x00", id="trailing"),
        pytest.param(b"\xdd\xff\xff\xff\xff", id="huge-array-header"),
        pytest.param(b"\xdf\xff\xff\xff\xff", id="huge-map-header"),
        pytest.param(b"not msgpack at all", id="text"),
    ],
)
def test_not_messagepack(payload: bytes) -> None:
    error = rejected(payload)
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id is None


@pytest.mark.parametrize(
    "value",
    [[1, 2], ["ping", 1], 5, -1, "ping", None, True, 1.5, b"bytes", []],
    ids=repr,
)
def test_payload_that_is_not_a_map(value: Any) -> None:
    error = rejected(msgspec.msgpack.encode(value))
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id is None


def test_missing_type() -> None:
    error = rejected_map({"id": 4, "room": "Blabla"})
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id == 4


@pytest.mark.parametrize("kind", [5, None, True, b"ping", ["ping"], {"a": 1}], ids=repr)
def test_type_not_a_string(kind: Any) -> None:
    error = rejected_map({"type": kind, "id": 4})
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id == 4


@pytest.mark.parametrize(
    "kind",
    ["shout", "", "PING", "Ping", " ping", "ok", "error", "message", "presence", "disconnect"],
)
def test_unknown_type_keeps_a_valid_id(kind: str) -> None:
    error = rejected_map({"type": kind, "id": 9})
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert error.request_id == 9


@pytest.mark.parametrize("request_id", [-1, 2**31, "9", True, 9.0, None], ids=repr)
def test_unknown_type_with_an_unreadable_id(request_id: Any) -> None:
    error = rejected_map({"type": "shout", "id": request_id})
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert error.request_id is None


def test_unknown_type_without_id() -> None:
    error = rejected_map({"type": "x" * 10_000})
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert error.request_id is None
    assert len(error.message) < 200


BAD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    # missing fields
    ("no-id", {"type": "ping"}),
    ("join-no-room", {"type": "join", "id": 1}),
    ("send-no-body", {"type": "send", "id": 1, "room": "a"}),
    ("dm-no-to", {"type": "dm", "id": 1, "body": "x"}),
    ("register-no-password", {"type": "register", "id": 1, "user": "bob"}),
    ("mark-read-no-msg-id", {"type": "mark_read", "id": 1, "room": "a"}),
    # unknown extra fields
    ("ping-extra", {"type": "ping", "id": 1, "extra": 0}),
    ("send-from", {"type": "send", "id": 1, "room": "a", "body": "b", "from": "mallory"}),
    ("who-peer", {"type": "who", "id": 1, "room": "a", "peer": "b"}),
    ("join-nil-extra", {"type": "join", "id": 1, "room": "a", "x": None}),
    # wrong types
    ("room-int", {"type": "join", "id": 1, "room": 5}),
    ("room-nil", {"type": "join", "id": 1, "room": None}),
    ("room-bytes", {"type": "join", "id": 1, "room": b"a"}),
    ("body-list", {"type": "send", "id": 1, "room": "a", "body": ["b"]}),
    ("password-int", {"type": "login", "id": 1, "user": "bob", "password": 12345678}),
    ("limit-str", {"type": "history", "id": 1, "room": "a", "limit": "10"}),
    ("limit-float", {"type": "history", "id": 1, "room": "a", "limit": 10.0}),
    ("limit-bool", {"type": "history", "id": 1, "room": "a", "limit": True}),
    ("msg-id-str", {"type": "mark_read", "id": 1, "room": "a", "msg_id": "3"}),
    ("before-float", {"type": "history", "id": 1, "room": "a", "before": 1.5}),
    ("nonce-int", {"type": "send", "id": 1, "room": "a", "body": "b", "nonce": 1}),
    # out of range
    ("limit-0", {"type": "history", "id": 1, "room": "a", "limit": 0}),
    ("limit-201", {"type": "history", "id": 1, "room": "a", "limit": 201}),
    ("limit-negative", {"type": "history", "id": 1, "room": "a", "limit": -1}),
    ("before-negative", {"type": "history", "id": 1, "room": "a", "before": -1}),
    ("after-2**63", {"type": "history", "id": 1, "room": "a", "after": 2**63}),
    ("msg-id-negative", {"type": "mark_read", "id": 1, "room": "a", "msg_id": -1}),
    ("msg-id-2**64-1", {"type": "mark_read", "id": 1, "room": "a", "msg_id": 2**64 - 1}),
    ("nonce-empty", {"type": "send", "id": 1, "room": "a", "body": "b", "nonce": ""}),
    ("nonce-65", {"type": "dm", "id": 1, "to": "a", "body": "b", "nonce": "n" * 65}),
    # target rules
    ("history-room-and-peer", {"type": "history", "id": 1, "room": "a", "peer": "b"}),
    ("history-neither", {"type": "history", "id": 1}),
    ("history-neither-nil", {"type": "history", "id": 1, "room": None, "peer": None}),
    (
        "history-before-and-after",
        {"type": "history", "id": 1, "room": "a", "before": 5, "after": 1},
    ),
    (
        "mark-read-room-and-peer",
        {"type": "mark_read", "id": 1, "room": "a", "peer": "b", "msg_id": 1},
    ),
    ("mark-read-neither", {"type": "mark_read", "id": 1, "msg_id": 1}),
    # messages that change
    ("reply-to-0", {"type": "send", "id": 1, "room": "a", "body": "b", "reply_to": 0}),
    ("reply-to-str", {"type": "dm", "id": 1, "to": "a", "body": "b", "reply_to": "4"}),
    ("action-int", {"type": "send", "id": 1, "room": "a", "body": "b", "action": 1}),
    ("edit-no-body", {"type": "edit", "id": 1, "msg_id": 4}),
    ("edit-empty-body", {"type": "edit", "id": 1, "msg_id": 4, "body": ""}),
    ("edit-blank-body", {"type": "edit", "id": 1, "msg_id": 4, "body": " \n "}),
    ("edit-escape", {"type": "edit", "id": 1, "msg_id": 4, "body": "\x1b[2J"}),
    ("edit-msg-id-0", {"type": "edit", "id": 1, "msg_id": 0, "body": "b"}),
    ("delete-no-msg-id", {"type": "delete", "id": 1}),
    ("delete-msg-id-nil", {"type": "delete", "id": 1, "msg_id": None}),
    ("react-no-on", {"type": "react", "id": 1, "msg_id": 4, "emoji": "👍"}),
    ("react-on-int", {"type": "react", "id": 1, "msg_id": 4, "emoji": "👍", "on": 1}),
    ("react-empty", {"type": "react", "id": 1, "msg_id": 4, "emoji": "", "on": True}),
    ("react-17", {"type": "react", "id": 1, "msg_id": 4, "emoji": "a" * 17, "on": True}),
    ("react-space", {"type": "react", "id": 1, "msg_id": 4, "emoji": "+ 1", "on": True}),
    ("react-nbsp", {"type": "react", "id": 1, "msg_id": 4, "emoji": "\u00a0", "on": True}),
    ("react-newline", {"type": "react", "id": 1, "msg_id": 4, "emoji": "👍\n", "on": True}),
    ("react-bell", {"type": "react", "id": 1, "msg_id": 4, "emoji": "\x07", "on": True}),
    ("react-bidi", {"type": "react", "id": 1, "msg_id": 4, "emoji": "\u202e👍", "on": True}),
    ("react-joiner", {"type": "react", "id": 1, "msg_id": 4, "emoji": "\u200d", "on": True}),
    ("react-mark", {"type": "react", "id": 1, "msg_id": 4, "emoji": "\u0301", "on": True}),
    ("login-no-secret", {"type": "login", "id": 1, "user": "bob"}),
    ("login-both", {"type": "login", "id": 1, "user": "b", "password": "p" * 8, "token": "t"}),
    ("login-token-empty", {"type": "login", "id": 1, "user": "bob", "token": ""}),
    ("login-token-129", {"type": "login", "id": 1, "user": "bob", "token": "t" * 129}),
    ("login-protocol-3", {"type": "login", "id": 1, "user": "b", "token": "t", "protocol": 3}),
    (
        "register-protocol-0",
        {"type": "register", "id": 1, "user": "b", "password": "p" * 8, "protocol": 0},
    ),
    ("logout-all-int", {"type": "logout", "id": 1, "all": 1}),
    ("changes-no-since", {"type": "changes", "id": 1}),
    ("changes-since-negative", {"type": "changes", "id": 1, "since": -1}),
    ("changes-limit-0", {"type": "changes", "id": 1, "since": 0, "limit": 0}),
    ("changes-limit-501", {"type": "changes", "id": 1, "since": 0, "limit": 501}),
    # finding and noticing
    ("typing-neither", {"type": "typing", "id": 1}),
    ("typing-both", {"type": "typing", "id": 1, "room": "a", "peer": "b"}),
    ("status-no-away", {"type": "status", "id": 1, "text": "x"}),
    ("status-away-str", {"type": "status", "id": 1, "away": "yes"}),
    ("status-text-101", {"type": "status", "id": 1, "away": True, "text": "x" * 101}),
    ("status-text-tab", {"type": "status", "id": 1, "away": True, "text": "a\tb"}),
    ("status-text-c1", {"type": "status", "id": 1, "away": True, "text": "\x85"}),
    ("topic-no-topic", {"type": "set_topic", "id": 1, "room": "a"}),
    ("topic-nil", {"type": "set_topic", "id": 1, "room": "a", "topic": None}),
    ("topic-301", {"type": "set_topic", "id": 1, "room": "a", "topic": "x" * 301}),
    ("topic-newline", {"type": "set_topic", "id": 1, "room": "a", "topic": "a\nb"}),
    # search
    ("search-no-query", {"type": "search", "id": 1}),
    ("search-empty", {"type": "search", "id": 1, "query": ""}),
    ("search-201", {"type": "search", "id": 1, "query": "a" * 201}),
    ("search-query-int", {"type": "search", "id": 1, "query": 5}),
    ("search-query-nil", {"type": "search", "id": 1, "query": None}),
    ("search-query-bytes", {"type": "search", "id": 1, "query": b"build"}),
    ("search-room-and-peer", {"type": "search", "id": 1, "query": "a", "room": "a", "peer": "b"}),
    ("search-limit-0", {"type": "search", "id": 1, "query": "a", "limit": 0}),
    ("search-limit-51", {"type": "search", "id": 1, "query": "a", "limit": 51}),
    ("search-before-negative", {"type": "search", "id": 1, "query": "a", "before": -1}),
    ("search-before-str", {"type": "search", "id": 1, "query": "a", "before": "9"}),
    ("search-to", {"type": "search", "id": 1, "query": "a", "to": "bob"}),
]


@pytest.mark.parametrize(("name", "fields"), BAD_FIELDS, ids=[name for name, _ in BAD_FIELDS])
def test_bad_fields_are_bad_request(name: str, fields: dict[str, Any]) -> None:
    error = rejected_map(fields)
    assert error.code is ErrorCode.BAD_REQUEST, error.message
    assert error.request_id == fields.get("id")


@pytest.mark.parametrize("request_id", [-1, 2**31, 2**63, "1", 1.0, True, None], ids=repr)
def test_bad_request_id(request_id: Any) -> None:
    error = rejected_map({"type": "ping", "id": request_id})
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"type": "ping", "id": 0}, m.Ping(id=0)),
        ({"type": "ping", "id": 2**31 - 1}, m.Ping(id=2**31 - 1)),
        (
            {"type": "mark_read", "id": 1, "peer": "b", "msg_id": 2**63 - 1},
            m.MarkRead(id=1, peer="b", msg_id=2**63 - 1),
        ),
        (
            {"type": "history", "id": 1, "room": "a", "before": 0},
            m.History(id=1, room="a", before=0),
        ),
        (
            {"type": "send", "id": 1, "room": "a", "body": "b", "nonce": "😀" * 64},
            m.Send(id=1, room="a", body="b", nonce="😀" * 64),
        ),
    ],
    ids=["id-0", "id-max", "msg-id-max", "before-0", "nonce-64-chars"],
)
def test_boundaries_are_accepted(fields: dict[str, Any], expected: m.Request) -> None:
    assert m.decode_request(msgspec.msgpack.encode(fields)) == expected


# --------------------------------------------------------------------------- bodies

BAD_BODIES = {
    "empty": "",
    "4001-chars": "a" * 4001,
    "4001-emoji": "😀" * 4001,
    "space": " ",
    "white-space": " \n\t \u3000\u2003\u00a0",
    "esc": "hello \x1b[31mred",
    "cr": "line\r\n",
    "del": "a\x7fb",
    "c1-nel": "a\x85b",
    "c1-csi": "a\x9bb",
    "nul": "a\x00b",
    "bell": "\x07ding",
    "vertical-tab": "a\x0bb",
    "form-feed": "a\x0cb",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
@pytest.mark.parametrize("kind", ["send", "dm"])
def test_bad_bodies(kind: str, body: str) -> None:
    target = {"room": "Général"} if kind == "send" else {"to": "bob"}
    error = rejected_map({"type": kind, "id": 12, **target, "body": body})
    assert error.code is ErrorCode.BAD_REQUEST
    assert error.request_id == 12


GOOD_BODIES = {
    "one-char": "x",
    "newline-tab": "a\n\tb\n",
    "4000-chars": "a" * 4000,
    "4000-emoji": "😀" * 4000,  # 16,000 bytes: under 16 KiB
    "markup": "[bold]<b>not markup</b>[/bold]",
    "leading-space": "  indented",
    "zero-width-joiner": "👩\u200d💻",
}


@pytest.mark.parametrize("body", GOOD_BODIES.values(), ids=GOOD_BODIES.keys())
def test_good_bodies(body: str) -> None:
    request = m.decode_request(
        msgspec.msgpack.encode({"type": "dm", "id": 1, "to": "b", "body": body})
    )
    assert request == m.Dm(id=1, to="b", body=body)


# ---------------------------------------------------------------------------- names

BAD_NAMES = {
    "empty": "",
    "space": "a b",
    "comma": "a,b",
    "at": "bob@home",
    "slash": "a/b",
    "tab": "a\tb",
    "newline": "a\n",
    "emoji": "😀",
    "lone-combining-mark": "x\u0301",
    "markup": "<b>",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("register", {"password": "p" * 8}),
        ("login", {"password": "p" * 8}),
        ("dm", {"body": "hi"}),
        ("join", {}),
        ("leave", {}),
        ("send", {"body": "hi"}),
        ("who", {}),
        ("history-room", {}),
        ("history-peer", {}),
        ("mark_read-room", {"msg_id": 1}),
        ("mark_read-peer", {"msg_id": 1}),
        ("search-room", {"query": "x"}),
        ("search-peer", {"query": "x"}),
    ],
)
def test_bad_names_are_invalid_name(kind: str, fields: dict[str, Any], name: str) -> None:
    kind, _, key = kind.partition("-")
    key = key or {"register": "user", "login": "user", "dm": "to"}.get(kind, "room")
    error = rejected_map({"type": kind, "id": 21, key: name, **fields})
    assert error.code is ErrorCode.INVALID_NAME
    assert error.request_id == 21


def test_name_lengths() -> None:
    def join(room: str) -> m.Request:
        return m.decode_request(msgspec.msgpack.encode({"type": "join", "id": 1, "room": room}))

    def register(user: str) -> m.Request:
        fields = {"type": "register", "id": 1, "user": user, "password": "p" * 8}
        return m.decode_request(msgspec.msgpack.encode(fields))

    assert join("r" * 60) == m.Join(id=1, room="r" * 60)
    assert rejected_map({"type": "join", "id": 1, "room": "r" * 61}).code is ErrorCode.INVALID_NAME
    assert register("u" * 32) == m.Register(id=1, user="u" * 32, password="p" * 8)
    error = rejected_map({"type": "register", "id": 1, "user": "u" * 33, "password": "p" * 8})
    assert error.code is ErrorCode.INVALID_NAME
    # The length is counted after NFC: 32 decomposed é are 64 code points on the wire.
    assert register("e\u0301" * 32) == m.Register(id=1, user="é" * 32, password="p" * 8)


# ------------------------------------------------------------------------ passwords


@pytest.mark.parametrize("kind", ["register", "login"])
@pytest.mark.parametrize("password", ["p" * 7, "p" * 257, ""], ids=["7", "257", "empty"])
def test_bad_passwords(kind: str, password: str) -> None:
    error = rejected_map({"type": kind, "id": 3, "user": "bob", "password": password})
    assert error.code is ErrorCode.INVALID_PASSWORD
    assert error.request_id == 3


@pytest.mark.parametrize("password", ["p" * 8, "p" * 256, "😀" * 8, "        ", "a\x00\x1bbcdefg"])
def test_good_passwords(password: str) -> None:
    payload = msgspec.msgpack.encode(
        {"type": "login", "id": 3, "user": "bob", "password": password}
    )
    assert m.decode_request(payload) == m.Login(id=3, user="bob", password=password)


def test_a_bad_name_wins_over_a_bad_password() -> None:
    error = rejected_map({"type": "register", "id": 3, "user": "a b", "password": "short"})
    assert error.code is ErrorCode.INVALID_NAME


# ------------------------------------------------------------------ hostile payloads


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\x91" * 50_000 + b"\x90", id="50000-arrays"),
        pytest.param(b"\x81\xa1k" * 20_000 + b"\x80", id="20000-maps"),
    ],
)
def test_deep_nesting_is_bad_request(payload: bytes) -> None:
    assert rejected(payload).code is ErrorCode.BAD_REQUEST


def test_deep_nesting_inside_a_field() -> None:
    head = msgspec.msgpack.encode({"type": "send", "id": 1, "room": "a"})
    # Turn the 3-entry fixmap into a 4-entry one and add "body": [[[...]]].
    payload = bytes([head[0] + 1]) + head[1:] + b"\xa4body" + b"\x91" * 50_000 + b"\x90"
    assert rejected(payload).code is ErrorCode.BAD_REQUEST
    payload = bytes([head[0] + 1]) + head[1:] + b"\xa5extra" + b"\x91" * 50_000 + b"\x90"
    assert rejected(payload).code is ErrorCode.BAD_REQUEST


def _join_with_room_bytes(raw: bytes) -> bytes:
    return b"\x83\xa4type\xa4join\xa2id\x07\xa4room" + bytes([0xA0 + len(raw)]) + raw


@pytest.mark.parametrize(
    "raw",
    [b"\xc3\x28", b"\xed\xa0\x80", b"\xff", b"ab\x80", b"\xf4\x90\x80\x80"],
    ids=["bad-continuation", "surrogate", "ff", "stray-continuation", "above-u10ffff"],
)
def test_invalid_utf8_in_a_string_field(raw: bytes) -> None:
    assert m.decode_request(_join_with_room_bytes(b"ok")) == m.Join(id=7, room="ok")
    assert rejected(_join_with_room_bytes(raw)).code is ErrorCode.BAD_REQUEST


def test_invalid_utf8_in_type_and_keys() -> None:
    assert rejected(b"\x82\xa4type\xa2\xc3\x28\xa2id\x01").code is ErrorCode.BAD_REQUEST
    assert rejected(b"\x82\xa4type\xa4ping\xa2\xc3\x28\x01").code is ErrorCode.BAD_REQUEST


def test_non_string_keys() -> None:
    assert rejected_map({"type": "ping", "id": 1, 5: 5}).code is ErrorCode.BAD_REQUEST
    assert rejected_map({"type": "ping", "id": 1, b"k": 5}).code is ErrorCode.BAD_REQUEST


# ------------------------------------------------------------ frames from a server


def server_rejected(payload: bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        m.decode_server_payload(payload)
    return info.value


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ([1], ErrorCode.BAD_REQUEST),
        ({"text": "no type"}, ErrorCode.UNKNOWN_TYPE),
        ({"type": "shout"}, ErrorCode.UNKNOWN_TYPE),
        ({"type": "ping", "id": 1}, ErrorCode.UNKNOWN_TYPE),
        ({"type": 3}, ErrorCode.UNKNOWN_TYPE),
        ({"type": "ok", "id": "1"}, ErrorCode.BAD_REQUEST),
        ({"type": "ok", "id": None}, ErrorCode.BAD_REQUEST),
        ({"type": "notice"}, ErrorCode.BAD_REQUEST),
        ({"type": "notice", "text": 5}, ErrorCode.BAD_REQUEST),
        ({"type": "disconnect", "reason": "bored", "text": "x"}, ErrorCode.BAD_REQUEST),
        (
            {"type": "message", "msg_id": 1, "ts": 2, "sender": "a", "body": "b"},
            ErrorCode.BAD_REQUEST,
        ),
    ],
    ids=repr,
)
def test_bad_server_frames(fields: Any, code: ErrorCode) -> None:
    assert server_rejected(msgspec.msgpack.encode(fields)).code is code


def test_server_frames_reject_invalid_messagepack() -> None:
    assert server_rejected(b"\xc1").code is ErrorCode.BAD_REQUEST
    assert server_rejected(b"\x91" * 50_000 + b"\x90").code is ErrorCode.BAD_REQUEST
    assert server_rejected(b"\x81\xa4type\xa2\xc3\x28").code is ErrorCode.BAD_REQUEST


def test_events_ignore_unknown_fields() -> None:
    payload = msgspec.msgpack.encode({"type": "notice", "text": "hi", "colour": "red"})
    assert m.decode_server_payload(payload) == m.Notice(text="hi")


def test_malformed_ok_reply_fails_when_typed() -> None:
    raw = m.decode_server_payload(msgspec.msgpack.encode({"type": "ok", "id": 1, "msg_id": "x"}))
    assert isinstance(raw, m.RawReply)
    with pytest.raises(ProtocolError) as info:
        raw.result(m.SentOk)
    assert info.value.code is ErrorCode.BAD_REQUEST


def test_error_reply_with_an_unknown_code_fails() -> None:
    payload = msgspec.msgpack.encode({"type": "error", "id": 1, "code": "teapot", "message": "x"})
    raw = m.decode_server_payload(payload)
    assert isinstance(raw, m.RawReply)
    with pytest.raises(ProtocolError) as info:
        raw.result(m.Ok)
    assert info.value.code is ErrorCode.BAD_REQUEST
