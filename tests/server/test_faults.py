"""Faults: the server process killed mid-stream, and signals for a clean stop."""

from __future__ import annotations

import asyncio
import signal

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from tests.helpers import Client, login, register
from tests.server.process import server_process


async def test_sigkill_loses_no_acknowledged_message(any_db: str) -> None:
    acked: list[int] = []
    async with server_process(any_db, "--request-rate", "0") as server:
        alice = await register(server.port, "alice")
        in_flight: list[int] = []
        for n in range(300):
            in_flight.append(await alice.send_request(m.Send, room="Général", body=f"n{n}"))
            if n % 10 == 9:  # keep ten requests unanswered: the kill lands mid-stream
                reply = await alice.read_reply(in_flight.pop(0))
                acked.append(reply.result(m.SentOk).msg_id)
        server.process.kill()
        await server.process.wait()
        try:
            while in_flight:  # replies that made it out before the kill count as acked
                reply = await alice.read_reply(in_flight.pop(0))
                acked.append(reply.result(m.SentOk).msg_id)
        except ConnectionError:
            pass
        await alice.close()
    assert len(acked) >= 29
    async with server_process(any_db) as server:
        alice = await login(server.port, "alice")
        stored: list[int] = []
        before = None
        for _ in range(10):
            page = await alice.call(m.History, room="Général", before=before, limit=200)
            stored = [msg.msg_id for msg in page.messages] + stored
            if not page.more:
                break
            before = page.messages[0].msg_id
        assert set(acked) <= set(stored)
        assert stored == sorted(set(stored))


async def test_sigterm_says_goodbye_and_exits_cleanly(db_path: str) -> None:
    async with server_process(db_path) as server:
        alice = await register(server.port, "alice")
        server.process.send_signal(signal.SIGTERM)
        await alice.closed()
        assert [e.reason for e in alice.events if isinstance(e, m.Disconnect)] == [
            DisconnectReason.SHUTDOWN
        ]
        async with asyncio.timeout(20):
            assert await server.process.wait() == 0


async def test_sigint_stops_the_server_too(db_path: str) -> None:
    async with server_process(db_path) as server:
        client = await Client.connect(server.port)
        await client.call(m.Ping)
        server.process.send_signal(signal.SIGINT)
        await client.closed()
        async with asyncio.timeout(20):
            assert await server.process.wait() == 0
