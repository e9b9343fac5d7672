"""Hostile bytes: whatever arrives, only `ProtocolError` (or `FrameError`) escapes."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, FrameError, ProtocolError
from chat_core.framing import CLIENT_FRAME_LIMIT, SERVER_FRAME_LIMIT, FrameDecoder, frame
from tests.core.strategies import cut_points, requests, split

REPLY_KINDS: tuple[type[m.Ok], ...] = (
    m.Ok,
    m.LoginOk,
    m.RoomsOk,
    m.JoinOk,
    m.SentOk,
    m.HistoryOk,
    m.WhoOk,
)


def try_request(payload: bytes) -> None:
    """Decode as a server would; a request that passes must be stable."""
    try:
        request = m.decode_request(payload)
    except ProtocolError as error:
        request_id = error.request_id
        assert request_id is None or 0 <= request_id <= 2**31 - 1
        return
    assert isinstance(request, m.Request)
    assert m.decode_request(m.encode_payload(request)) == request


def try_server_frame(payload: bytes) -> None:
    """Decode as a client would, typing replies every way a client might."""
    try:
        decoded = m.decode_server_payload(payload)
    except ProtocolError:
        return
    if isinstance(decoded, m.RawReply):
        for kind in REPLY_KINDS:
            with contextlib.suppress(ProtocolError):
                decoded.result(kind)
    else:
        assert isinstance(decoded, m.Event)


def try_payload(payload: bytes) -> None:
    try_request(payload)
    try_server_frame(payload)


def feed_all(chunks: list[bytes], limit: int) -> list[bytes]:
    decoder = FrameDecoder(limit)
    payloads: list[bytes] = []
    for chunk in chunks:
        try:
            payloads += decoder.feed(chunk)
        except FrameError:
            break  # the connection would close here
    return payloads


@settings(max_examples=300)
@given(st.data())
def test_random_bytes_in_random_chunks(data: st.DataObject) -> None:
    stream = data.draw(st.binary(max_size=2000), label="stream")
    cuts = data.draw(cut_points(len(stream)), label="cuts")
    for payload in feed_all(split(stream, cuts), CLIENT_FRAME_LIMIT):
        try_payload(payload)


@settings(max_examples=300)
@given(st.data())
def test_random_payloads_in_valid_frames(data: st.DataObject) -> None:
    payloads = data.draw(st.lists(st.binary(min_size=1, max_size=300), max_size=6))
    stream = b"".join(frame(payload) for payload in payloads)
    cuts = data.draw(cut_points(len(stream)), label="cuts")
    received = feed_all(split(stream, cuts), SERVER_FRAME_LIMIT)
    assert received == payloads
    for payload in received:
        try_payload(payload)


_mutation = st.tuples(
    st.sampled_from(["flip", "set", "insert", "delete"]),
    st.integers(0, 2**16),
    st.integers(0, 255),
)


def mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buffer = bytearray(data)
    for op, where, value in mutations:
        index = where % (len(buffer) + 1)
        if op == "insert":
            buffer.insert(index, value)
        elif index < len(buffer):
            if op == "flip":
                buffer[index] ^= 1 << (value % 8)
            elif op == "set":
                buffer[index] = value
            else:
                del buffer[index]
    return bytes(buffer)


@settings(max_examples=500)
@given(requests, st.lists(_mutation, min_size=1, max_size=6), st.booleans())
def test_mutated_requests(
    request: m.Request, mutations: list[tuple[str, int, int]], keep_prefix: bool
) -> None:
    if keep_prefix:  # mutate only the payload, so it always reaches the decoder
        try_payload(mutate(m.encode_payload(request), mutations) or b"\xc0")
    else:  # mutate the whole frame, length prefix included
        for payload in feed_all([mutate(m.encode(request), mutations)], CLIENT_FRAME_LIMIT):
            try_payload(payload)


_server_frames = st.sampled_from(
    [
        m.Message(msg_id=1, ts=2, sender="alice", body="hi", room="Général"),
        m.Disconnect(reason=DisconnectReason.KICKED, text="bye", until=3),
        m.LoginOk(
            id=1,
            user="alice",
            rooms=[m.RoomInfo(name="a", approval=True, state="none", online=0, last_msg_id=0)],
            dms=[m.DmInfo(peer="bob", last_msg_id=1, unread=0)],
            server_time=5,
        ),
        m.HistoryOk(
            id=2, messages=[m.Message(msg_id=1, ts=2, sender="a", body="b", to="c")], more=True
        ),
        m.WhoOk(id=3, users=[m.UserInfo(name="a", online=True)]),
        m.ErrorReply(id=4, code=ErrorCode.KICKED, message="x", until=9, reason="r"),
    ]
)


@settings(max_examples=300)
@given(_server_frames, st.lists(_mutation, min_size=1, max_size=6))
def test_mutated_server_frames(message: m.Frame, mutations: list[tuple[str, int, int]]) -> None:
    try_payload(mutate(m.encode_payload(message), mutations) or b"\xc0")


_tags = sorted(
    [*m.REQUEST_TAGS, "ok", "error", *(str(t.__struct_config__.tag) for t in m.EVENT_TYPES)]
)
_field_names = sorted(
    {
        "id", "user", "password", "room", "peer", "to", "body", "nonce", "before", "after",
        "limit", "msg_id", "from", "ts", "text", "reason", "until", "online", "joined",
        "state", "approval", "code", "message", "rooms", "dms", "users", "messages", "more",
        "server_time", "name", "unread", "last_msg_id", "retry_after_ms", "type",
    }
)  # fmt: skip
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=10),
    st.sampled_from(["Général", "bob", "member", "kicked", "bad_request", "", " "]),
)
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=500)
@given(
    st.sampled_from(_tags) | st.text(max_size=10),
    st.dictionaries(st.sampled_from(_field_names) | st.text(max_size=6), _values, max_size=8),
)
def test_structured_maps(kind: str, fields: dict[str, Any]) -> None:
    try_payload(msgspec.msgpack.encode({"type": kind, **fields}))
