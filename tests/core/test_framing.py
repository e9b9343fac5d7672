"""Length-prefixed framing: `frame`, `encode` and the incremental `FrameDecoder`."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_core import messages as m
from chat_core.errors import ErrorCode, FrameError, ProtocolError
from chat_core.framing import (
    CLIENT_FRAME_LIMIT,
    HEADER_SIZE,
    SERVER_FRAME_LIMIT,
    FrameDecoder,
    frame,
)
from tests.core.strategies import cut_points, requests, split


def header(length: int) -> bytes:
    return length.to_bytes(HEADER_SIZE, "big")


# ------------------------------------------------------------------------- encoding


def test_limits_are_the_documented_defaults() -> None:
    assert HEADER_SIZE == 4
    assert CLIENT_FRAME_LIMIT == 64 * 1024
    assert SERVER_FRAME_LIMIT == 4 * 1024 * 1024


def test_frame_prefixes_a_big_endian_length() -> None:
    assert frame(b"abc") == b"\x00\x00\x00\x03abc"
    assert frame(b"x" * 0x10203) == b"\x00\x01\x02\x03" + b"x" * 0x10203


def test_encode_is_frame_of_encode_payload() -> None:
    ping = m.Ping(id=7)
    payload = m.encode_payload(ping)
    assert m.encode(ping) == frame(payload)
    assert msgspec.msgpack.decode(payload) == {"type": "ping", "id": 7}


def test_encode_raw_frames_any_value() -> None:
    assert m.encode_raw([1, 2]) == frame(msgspec.msgpack.encode([1, 2]))


def test_the_largest_request_fits_the_client_limit() -> None:
    biggest = m.Send(id=2**31 - 1, room="é" * 60, body="😀" * 4000, nonce="😀" * 64)
    assert len(m.encode_payload(biggest)) <= CLIENT_FRAME_LIMIT


# -------------------------------------------------------------------------- decoder


def test_one_whole_frame() -> None:
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    assert decoder.feed(frame(b"hello")) == [b"hello"]
    assert decoder.pending == 0


def test_truncated_frame_stays_pending() -> None:
    data = frame(b"hello world")
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    assert decoder.feed(data[:2]) == []
    assert decoder.pending == 2
    assert decoder.feed(data[2:9]) == []
    assert decoder.pending == 9
    assert decoder.feed(data[9:]) == [b"hello world"]
    assert decoder.pending == 0


def test_one_byte_at_a_time() -> None:
    payloads = [b"a", b"bc" * 100, b"\x00\x00\x00\x00"]
    stream = b"".join(frame(p) for p in payloads)
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    out: list[bytes] = []
    for index in range(len(stream)):
        out += decoder.feed(stream[index : index + 1])
    assert out == payloads
    assert decoder.pending == 0


def test_many_frames_in_one_feed_and_a_partial_tail() -> None:
    stream = frame(b"one") + frame(b"two") + frame(b"three") + frame(b"four")[:5]
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    assert decoder.feed(stream) == [b"one", b"two", b"three"]
    assert decoder.pending == 5
    assert decoder.feed(b"our") == [b"four"]
    assert decoder.pending == 0


def test_empty_feed_returns_nothing() -> None:
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    assert decoder.feed(b"") == []
    assert decoder.pending == 0


@pytest.mark.parametrize(
    "stream",
    [header(0), header(0) + frame(b"next"), frame(b"first") + header(0)],
    ids=["alone", "before-a-frame", "after-a-frame"],
)
def test_zero_length_is_a_frame_error(stream: bytes) -> None:
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    with pytest.raises(FrameError) as info:
        decoder.feed(stream)
    assert isinstance(info.value, ProtocolError)
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert decoder.pending == 0


def test_payload_at_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    payload = b"x" * CLIENT_FRAME_LIMIT  # the limit counts the payload, not the prefix
    assert decoder.feed(frame(payload)) == [payload]


def test_over_limit_fails_as_soon_as_the_header_is_complete() -> None:
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    prefix = header(CLIENT_FRAME_LIMIT + 1)
    assert decoder.feed(prefix[:3]) == []  # not yet a whole length
    with pytest.raises(FrameError):
        decoder.feed(prefix[3:])  # no payload byte has arrived
    assert decoder.pending == 0


def test_huge_length_fails_without_buffering() -> None:
    decoder = FrameDecoder(SERVER_FRAME_LIMIT)
    with pytest.raises(FrameError):
        decoder.feed(b"\xff\xff\xff\xff")
    with pytest.raises(FrameError):
        FrameDecoder(SERVER_FRAME_LIMIT).feed(header(SERVER_FRAME_LIMIT + 1))
    assert FrameDecoder(SERVER_FRAME_LIMIT).feed(header(SERVER_FRAME_LIMIT)) == []


def test_bad_length_after_good_frames_in_one_feed_still_raises() -> None:
    decoder = FrameDecoder(16)
    with pytest.raises(FrameError):
        decoder.feed(frame(b"fine") + header(17))
    assert decoder.pending == 0


def test_small_configured_limit() -> None:
    decoder = FrameDecoder(16)
    assert decoder.feed(frame(b"y" * 16)) == [b"y" * 16]
    with pytest.raises(FrameError):
        decoder.feed(frame(b"y" * 17))


# ----------------------------------------------------------------------- properties


@settings(max_examples=300)
@given(st.data())
def test_any_split_of_a_request_stream_yields_the_same_requests(data: st.DataObject) -> None:
    sent = data.draw(st.lists(requests, min_size=1, max_size=8), label="requests")
    stream = b"".join(m.encode(request) for request in sent)
    cuts = data.draw(cut_points(len(stream)), label="cuts")
    decoder = FrameDecoder(CLIENT_FRAME_LIMIT)
    payloads: list[bytes] = []
    for chunk in split(stream, cuts):
        payloads += decoder.feed(chunk)
    assert decoder.pending == 0
    assert [m.decode_request(payload) for payload in payloads] == sent


@settings(max_examples=200)
@given(st.lists(requests, min_size=1, max_size=20))
def test_many_requests_in_one_feed(sent: list[m.Request]) -> None:
    stream = b"".join(m.encode(request) for request in sent)
    payloads = FrameDecoder(CLIENT_FRAME_LIMIT).feed(stream)
    assert [m.decode_request(payload) for payload in payloads] == sent


@settings(max_examples=300)
@given(st.data())
def test_any_split_of_raw_frames(data: st.DataObject) -> None:
    payloads = data.draw(st.lists(st.binary(min_size=1, max_size=600), max_size=10))
    stream = b"".join(frame(payload) for payload in payloads)
    cuts = data.draw(cut_points(len(stream)))
    decoder = FrameDecoder(600)
    out: list[bytes] = []
    for chunk in split(stream, cuts):
        out += decoder.feed(chunk)
    assert out == payloads
    assert decoder.pending == 0
