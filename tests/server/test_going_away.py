"""Clients that vanish in the middle of a request change nothing for anyone else.

An attacker needs no account to send `register` (or `login`) and close at once,
by FIN or by RST, a few milliseconds later. The request's store work must still
run to its end: the store stays usable and no ghost stays online.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct

from chat_core import messages as m
from tests.helpers import PASSWORD, TIMEOUT, register, running_server

VANISHING = 300  # connections that each send a write request and go away
AT_ONCE = 30  # of them open at the same time


async def _send_and_vanish(port: int, request: m.Request, delay: float, reset: bool) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if reset:  # close with RST rather than FIN
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.write(m.encode(request))
        await writer.drain()
        await asyncio.sleep(delay)  # the attack's timing: the request is in flight
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_requests_cut_off_at_random_moments_leave_the_server_whole(any_db: str) -> None:
    async with running_server(any_db) as server:
        owner = await register(server.port, "owner")
        await owner.close()
        rng = random.Random(20261201)
        slots = asyncio.Semaphore(AT_ONCE)

        async def vanish(n: int) -> None:
            request: m.Request
            if n % 3:
                request = m.Register(id=1, user=f"ghost{n}", password=PASSWORD)
            else:
                request = m.Login(id=1, user="owner", password=PASSWORD)
            async with slots:
                await _send_and_vanish(server.port, request, rng.uniform(0, 0.005), n % 2 == 0)

        async with asyncio.timeout(TIMEOUT * 6):
            await asyncio.gather(*(vanish(n) for n in range(VANISHING)))

        survivor = await register(server.port, "survivor")
        sent = [
            (await survivor.call(m.Send, room="Général", body=f"still here {n}")).msg_id
            for n in range(5)
        ]
        page = await survivor.call(m.History, room="Général")
        assert [msg.msg_id for msg in page.messages][-5:] == sent
        # Logins that finished after their connection closed attached no one.
        online = {server.service.users_by_id[uid].name for uid in server.hub.online_users()}
        assert online == {"survivor"}
        await survivor.close()
