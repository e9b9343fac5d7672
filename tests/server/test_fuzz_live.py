"""Fuzzing a live server: random and mutated frames over real sockets.

After each barrage the server must still serve a well-behaved client, must have
kept every message it acknowledged, and must have answered the fuzzer with nothing
but documented replies, events, error codes and disconnect reasons.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_core.framing import frame
from chat_core.streams import read_server_frame
from tests.helpers import Client, closing_clients, register, running_server

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.binary(max_size=40)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_tags = st.sampled_from([*sorted(m.REQUEST_TAGS), "ok", "message", "", "LOGIN"])
_names = st.sampled_from(["Général", "Blabla", "alice", "fuzzer", "x" * 70, "a b", ""]) | st.text(
    max_size=12
)
_requests = st.fixed_dictionaries(
    {"type": _tags, "id": st.integers(min_value=-2, max_value=2**31)},
    optional={
        "user": _names,
        "password": st.sampled_from(["password1", "short"]) | st.text(max_size=10),
        "room": _names,
        "peer": _names,
        "to": _names,
        "body": st.text(max_size=60) | st.sampled_from(["hello", "\x1b[31mred", "[bold]x[/]"]),
        "nonce": st.text(max_size=70),
        "before": _values,
        "after": st.integers(min_value=-1, max_value=10),
        "limit": st.integers(min_value=-1, max_value=300),
        "msg_id": st.integers(min_value=-1, max_value=2**64 - 1),
        "extra": _values,
    },
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(m.encode(m.Send(id=draw(st.integers(0, 99)), room="Général", body="hi")))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data)


_frames = st.one_of(
    _requests.map(lambda fields: frame(msgspec.msgpack.encode(fields))),
    _values.map(lambda value: frame(msgspec.msgpack.encode(value))),
    _mutated(),
    st.binary(min_size=1, max_size=64),
)

_CODES = {str(code) for code in ErrorCode}
_REASONS = {str(reason) for reason in DisconnectReason}


async def _answers(fuzzer: Client) -> list[m.Event | m.RawReply]:
    """Everything the server sends the fuzzer until it closes or goes quiet after a ping."""
    seen: list[m.Event | m.RawReply] = []
    fuzzer.writer.write(m.encode(m.Ping(id=2**31 - 1)))
    try:
        async with asyncio.timeout(5):
            while True:
                got = await read_server_frame(fuzzer.reader)
                if got is None:
                    break
                seen.append(got)
                if isinstance(got, m.RawReply) and got.id == 2**31 - 1:
                    break
    except (ConnectionError, TimeoutError):
        pass  # a closed connection (framing error, flood) ends the conversation
    return seen


async def _barrage(frames: list[bytes], chunk: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        db = str(Path(directory) / "chat.db")
        # Its own loop (asyncio.run): its clients are closed here, not by the fixture.
        async with running_server(db, request_rate=0) as server, closing_clients():
            victim = await register(server.port, "victim")
            acked = (await victim.call(m.Send, room="Général", body="keep me")).msg_id
            fuzzer = await Client.connect(server.port)
            stream = b"".join(frames)
            for start in range(0, len(stream), chunk):
                fuzzer.writer.write(stream[start : start + chunk])
            for answer in await _answers(fuzzer):
                if isinstance(answer, m.RawReply):
                    fields: dict[str, Any] = answer.fields
                    assert fields["type"] in ("ok", "error")
                    if fields["type"] == "error":
                        assert fields["code"] in _CODES
                        assert isinstance(fields["message"], str)
                elif isinstance(answer, m.Disconnect):
                    assert str(answer.reason) in _REASONS
            await fuzzer.close()
            # The well-behaved client is still served and nothing acknowledged is lost.
            await victim.call(m.Ping)
            again = await victim.call(m.Send, room="Général", body="still here")
            page = await victim.call(m.History, room="Général", limit=200)
            ids = [msg.msg_id for msg in page.messages]
            assert acked in ids
            assert again.msg_id in ids


@settings(
    max_examples=int(os.environ.get("CHAT_FUZZ_EXAMPLES", "40")),  # raise it for a long run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=st.lists(_frames, min_size=1, max_size=25), chunk=st.integers(1, 512))
def test_random_frames_never_break_the_server(frames: list[bytes], chunk: int) -> None:
    try:
        asyncio.run(_barrage(frames, chunk))
    except ProtocolError as error:  # only a malformed answer to the fuzzer would raise this
        raise AssertionError(f"the server sent something undocumented: {error}") from error
