"""Hostile bytes over a real socket get the documented answer and harm nobody else."""

from __future__ import annotations

import struct

import msgspec
import pytest

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode
from chat_core.framing import CLIENT_FRAME_LIMIT, frame
from chat_core.streams import read_server_frame
from chat_srv.server import ChatServer
from tests.helpers import Client, register


async def _raw_reply(client: Client, data: bytes) -> m.ErrorReply:
    client.writer.write(data)
    await client.writer.drain()
    reply = await read_server_frame(client.reader)
    assert isinstance(reply, m.RawReply)
    assert not reply.ok
    return msgspec.convert(reply.fields, m.ErrorReply)


@pytest.mark.parametrize(
    ("payload", "code", "request_id"),
    [
        (b"\xc1", ErrorCode.BAD_REQUEST, None),  # not MessagePack
        (msgspec.msgpack.encode([1, 2]), ErrorCode.BAD_REQUEST, None),
        (msgspec.msgpack.encode(7), ErrorCode.BAD_REQUEST, None),
        (msgspec.msgpack.encode({"id": 3}), ErrorCode.BAD_REQUEST, 3),
        (msgspec.msgpack.encode({"type": 5, "id": 3}), ErrorCode.BAD_REQUEST, 3),
        (msgspec.msgpack.encode({"type": "fly", "id": 4}), ErrorCode.UNKNOWN_TYPE, 4),
        (msgspec.msgpack.encode({"type": "ping", "id": "x"}), ErrorCode.BAD_REQUEST, None),
        (msgspec.msgpack.encode({"type": "ping", "id": 2**31}), ErrorCode.BAD_REQUEST, None),
        (msgspec.msgpack.encode({"type": "ping", "id": 6, "x": 1}), ErrorCode.BAD_REQUEST, 6),
        (msgspec.msgpack.encode({"type": "login", "id": 7}), ErrorCode.BAD_REQUEST, 7),
        (b"\x91" * 50_000 + b"\x00", ErrorCode.BAD_REQUEST, None),  # nested deeply
        (b"\x82\xa4type\xa4ping\xa2id\xa2\xff\xfe", ErrorCode.BAD_REQUEST, None),  # bad UTF-8
    ],
)
async def test_malformed_payloads_get_an_error_and_the_connection_stays(
    server: ChatServer, payload: bytes, code: ErrorCode, request_id: int | None
) -> None:
    client = await Client.connect(server.port)
    error = await _raw_reply(client, frame(payload))
    assert (error.code, error.id) == (code, request_id)
    await client.call(m.Ping)  # still served


async def test_garbage_after_login_loses_nothing(server: ChatServer) -> None:
    alice = await register(server.port, "alice")
    bob = await register(server.port, "bob")
    first = await alice.call(m.Send, room="Général", body="before")
    await _raw_reply(alice, frame(b"\xff\xff\xff"))
    second = await alice.call(m.Send, room="Général", body="after")
    got = await bob.collect(m.Message, 2)
    assert [e.msg_id for e in got] == [first.msg_id, second.msg_id]


@pytest.mark.parametrize(
    "data",
    [
        struct.pack(">I", 0),
        struct.pack(">I", CLIENT_FRAME_LIMIT + 1),
        struct.pack(">I", 2**32 - 1) + b"junk",
    ],
    ids=["zero-length", "over-limit", "huge"],
)
async def test_framing_errors_disconnect_with_protocol_error(
    server: ChatServer, data: bytes
) -> None:
    bystander = await register(server.port, "bystander")
    client = await Client.connect(server.port)
    client.writer.write(data)
    await client.closed()
    [goodbye] = client.events
    assert isinstance(goodbye, m.Disconnect)
    assert goodbye.reason == DisconnectReason.PROTOCOL_ERROR
    await bystander.call(m.Ping)
    sent = await bystander.call(m.Send, room="Général", body="still here")
    assert (await bystander.event(m.Message, msg_id=sent.msg_id)).body == "still here"


async def test_a_frame_at_the_limit_is_read_and_answered(server: ChatServer) -> None:
    client = await Client.connect(server.port)
    payload = msgspec.msgpack.encode({"type": "ping", "id": 1, "pad": "x" * CLIENT_FRAME_LIMIT})
    payload = payload[:CLIENT_FRAME_LIMIT]  # cut: a full-size frame of broken MessagePack
    error = await _raw_reply(client, frame(payload))
    assert error.code == ErrorCode.BAD_REQUEST
    await client.call(m.Ping)


async def test_bytes_one_at_a_time_are_reassembled(server: ChatServer) -> None:
    client = await Client.connect(server.port)
    data = m.encode(m.Register(id=1, user="slowpoke", password="p" * 12))
    for byte in data:
        client.writer.write(bytes([byte]))
        await client.writer.drain()
    reply = await client.read_reply(1)
    assert reply.result(m.LoginOk).user == "slowpoke"
