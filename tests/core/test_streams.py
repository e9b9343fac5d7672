"""The asyncio stream helpers over a real loopback TCP connection."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode, FrameError
from chat_core.framing import CLIENT_FRAME_LIMIT, HEADER_SIZE, frame
from chat_core.streams import read_payload, read_server_frame, write_frame

# A guard so that a broken helper fails the test instead of hanging it.
GUARD_SECONDS = 10


@dataclass
class Pipe:
    """Both ends of one loopback TCP connection."""

    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    server_reader: asyncio.StreamReader
    server_writer: asyncio.StreamWriter


@pytest.fixture
async def pipe() -> AsyncIterator[Pipe]:
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    writers: list[asyncio.StreamWriter] = []
    try:
        port = server.sockets[0].getsockname()[1]
        client_reader, client_writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(client_writer)
        async with asyncio.timeout(GUARD_SECONDS):
            server_reader, server_writer = await accepted.get()
        writers.append(server_writer)
        yield Pipe(client_reader, client_writer, server_reader, server_writer)
    finally:
        for writer in writers:
            writer.close()
        for writer in writers:
            # The other side may already have reset the connection.
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        server.close()
        await server.wait_closed()


async def test_request_from_client_to_server(pipe: Pipe) -> None:
    sent = [m.Login(id=1, user="Zoé", password="p" * 8), m.Ping(id=2)]
    for request in sent:
        await write_frame(pipe.client_writer, request)
    async with asyncio.timeout(GUARD_SECONDS):
        for request in sent:
            payload = await read_payload(pipe.server_reader, CLIENT_FRAME_LIMIT)
            assert payload is not None
            assert m.decode_request(payload) == request


async def test_events_and_replies_from_server(pipe: Pipe) -> None:
    event = m.Message(msg_id=1, ts=2, sender="bob", body="salut", room="Général")
    reply = m.SentOk(id=7, msg_id=3, ts=4)
    error = m.ErrorReply(id=8, code=ErrorCode.NOT_MEMBER, message="no")
    for message in (event, reply, error):
        await write_frame(pipe.server_writer, message)
    async with asyncio.timeout(GUARD_SECONDS):
        assert await read_server_frame(pipe.client_reader) == event
        raw = await read_server_frame(pipe.client_reader)
        assert isinstance(raw, m.RawReply)
        assert raw.result(m.SentOk) == reply
        raw = await read_server_frame(pipe.client_reader)
        assert isinstance(raw, m.RawReply)
        assert not raw.ok
        assert raw.id == 8


async def test_frames_split_across_writes(pipe: Pipe) -> None:
    requests = [m.Send(id=1, room="Général", body="é" * 300), m.Ping(id=2)]
    stream = b"".join(m.encode(request) for request in requests)
    reading = asyncio.create_task(read_payload(pipe.server_reader, CLIENT_FRAME_LIMIT))
    # Cut inside the first header, inside the first payload and across the boundary.
    bounds = [0, 2, HEADER_SIZE + 1, 100, len(m.encode(requests[0])) + 1, len(stream)]
    for start, end in itertools.pairwise(bounds):
        pipe.client_writer.write(stream[start:end])
        await pipe.client_writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        first = await reading
        second = await read_payload(pipe.server_reader, CLIENT_FRAME_LIMIT)
    assert first is not None
    assert second is not None
    assert [m.decode_request(first), m.decode_request(second)] == requests


async def test_one_byte_per_write(pipe: Pipe) -> None:
    data = m.encode(m.Notice(text="une annonce"))
    reading = asyncio.create_task(read_server_frame(pipe.client_reader))
    for index in range(len(data)):
        pipe.server_writer.write(data[index : index + 1])
        await pipe.server_writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        assert await reading == m.Notice(text="une annonce")


async def test_clean_eof_returns_none(pipe: Pipe) -> None:
    await write_frame(pipe.client_writer, m.Ping(id=1))
    pipe.client_writer.write_eof()
    async with asyncio.timeout(GUARD_SECONDS):
        assert await read_payload(pipe.server_reader) == m.encode_payload(m.Ping(id=1))
        assert await read_payload(pipe.server_reader) is None


async def test_clean_eof_from_server_returns_none(pipe: Pipe) -> None:
    pipe.server_writer.write_eof()
    async with asyncio.timeout(GUARD_SECONDS):
        assert await read_server_frame(pipe.client_reader) is None


@pytest.mark.parametrize("cut", [1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 3])
async def test_eof_inside_a_frame_raises(pipe: Pipe, cut: int) -> None:
    data = m.encode(m.Join(id=1, room="Général"))
    pipe.client_writer.write(data[:cut])
    pipe.client_writer.write_eof()
    async with asyncio.timeout(GUARD_SECONDS):
        with pytest.raises(asyncio.IncompleteReadError) as info:
            await read_payload(pipe.server_reader)
    assert info.value.partial == (data[:cut] if cut < HEADER_SIZE else data[HEADER_SIZE:cut])


async def test_over_limit_length_raises_before_the_payload(pipe: Pipe) -> None:
    # Only the prefix is sent and the connection stays open: reading the payload would
    # hang until the guard fires, so a FrameError proves the length was checked first.
    pipe.client_writer.write((CLIENT_FRAME_LIMIT + 1).to_bytes(HEADER_SIZE, "big"))
    await pipe.client_writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        with pytest.raises(FrameError):
            await read_payload(pipe.server_reader, CLIENT_FRAME_LIMIT)


async def test_zero_length_raises(pipe: Pipe) -> None:
    pipe.server_writer.write(bytes(HEADER_SIZE))
    await pipe.server_writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        with pytest.raises(FrameError):
            await read_server_frame(pipe.client_reader)


async def test_payload_at_a_small_limit(pipe: Pipe) -> None:
    pipe.client_writer.write(frame(b"x" * 10) + frame(b"y" * 11))
    await pipe.client_writer.drain()
    async with asyncio.timeout(GUARD_SECONDS):
        assert await read_payload(pipe.server_reader, 10) == b"x" * 10
        with pytest.raises(FrameError):
            await read_payload(pipe.server_reader, 10)
