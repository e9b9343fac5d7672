"""Limits on the byte stream: a frame's deadline, whole frames for slow readers, and a
request rate per user across all their connections."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode
from chat_core.framing import SERVER_FRAME_LIMIT, FrameDecoder
from chat_srv.session import Connection
from tests.helpers import TIMEOUT, Client, login, register, running_server


async def test_a_frame_that_never_ends_is_cut_off(db_path: str) -> None:
    async with running_server(db_path, frame_timeout=0.2) as server:
        slow = await register(server.port, "slow")
        frame = m.encode(m.Ping(id=99))
        slow.writer.write(frame[:3])  # part of the length prefix, and no more
        await slow.closed()
        assert slow.events[-1] == m.Disconnect(
            reason=DisconnectReason.PROTOCOL_ERROR, text="a frame took too long to arrive"
        )


async def test_frames_in_pieces_within_the_deadline_are_fine(db_path: str) -> None:
    async with running_server(db_path, frame_timeout=5) as server:
        alice = await register(server.port, "alice")
        frame = m.encode(m.Ping(id=77))
        for byte in range(len(frame)):
            alice.writer.write(frame[byte : byte + 1])
            await alice.writer.drain()
        assert (await alice.read_reply(77)).ok
        await alice.sync()


async def test_a_dropped_slow_reader_gets_whole_frames_then_its_goodbye(db_path: str) -> None:
    settings: dict[str, Any] = {"outbound_buffer": 1024 * 1024, "request_rate": 0}
    async with running_server(db_path, **settings) as server:
        # A small receive buffer, set before connecting, so the kernel holds little.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        sleeper = Client(reader, writer)
        await sleeper.call(m.Register, user="sleeper", password="correct horse")
        conn = next(
            c
            for c in server.hub.connections
            if isinstance(c, Connection) and c.user and c.user.name == "sleeper"
        )
        writer_client = await register(server.port, "writer")
        sleeper.reader._transport.pause_reading()  # type: ignore[attr-defined]
        body = "x" * 4000
        for _ in range(200):  # at most 40 MB: far past any socket buffer
            ids = [
                await writer_client.send_request(m.Send, room="Général", body=body)
                for _ in range(50)
            ]
            for request_id in ids:
                (await writer_client.read_reply(request_id)).result(m.SentOk)
            if conn.closed:
                break
        assert conn.closed, "the sleeper was never dropped"
        # What is left for it is what the transport already held: the frames that
        # waited in the backlog were dropped whole, not sent.
        assert conn.queued_bytes < settings["outbound_buffer"] // 2
        sleeper.reader._transport.resume_reading()  # type: ignore[attr-defined]
        decoder = FrameDecoder(SERVER_FRAME_LIMIT)
        last: bytes = b""
        async with asyncio.timeout(TIMEOUT):
            while chunk := await sleeper.reader.read(65536):
                payloads = decoder.feed(chunk)
                if payloads:
                    last = payloads[-1]
        assert decoder.pending == 0, "the stream was cut mid-frame"
        goodbye = m.decode_server_payload(last)
        assert isinstance(goodbye, m.Disconnect)
        assert goodbye.reason == DisconnectReason.SLOW_CONSUMER


async def test_a_user_is_rate_limited_across_connections(db_path: str) -> None:
    settings: dict[str, Any] = {"request_rate": 100, "request_burst": 100}
    limits: dict[str, Any] = {"user_request_rate": 1, "user_request_burst": 10}
    async with running_server(db_path, **settings, **limits) as server:
        first = await register(server.port, "alice")
        others = [await login(server.port, "alice") for _ in range(3)]
        clients = [first, *others]
        # Ten pings on each of the four connections, well within each one's own limit.
        ids = [[await c.send_request(m.Ping) for _ in range(10)] for c in clients]
        replies = [
            await c.read_reply(i) for c, batch in zip(clients, ids, strict=True) for i in batch
        ]
        accepted = sum(r.ok for r in replies)
        assert 10 <= accepted <= 11  # the user's burst, and at most one more refilled
        refused = [r.fields for r in replies if not r.ok]
        assert {r["code"] for r in refused} == {ErrorCode.RATE_LIMITED}
        # Another user is not held back by alice.
        bob = await register(server.port, "bob")
        await bob.sync()
