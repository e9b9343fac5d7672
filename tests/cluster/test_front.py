"""The round-robin front the end-to-end suite puts before a cluster: each new
connection goes to the next node, bytes pass both ways, and a close passes through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from tests.front import running_front

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def named_servers(count: int) -> AsyncIterator[list[int]]:
    """`count` servers that say their number, echo one line, then close; their ports."""

    def serve(number: int) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"%d\n" % number)
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        return handle

    servers = [await asyncio.start_server(serve(n), "127.0.0.1", 0) for n in range(count)]
    try:
        yield [server.sockets[0].getsockname()[1] for server in servers]
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def test_each_connection_goes_to_the_next_upstream() -> None:
    async with named_servers(3) as ports, running_front(ports) as front:
        landed = []
        for n in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
            writer.write(b"echo %d\n" % n)
            async with asyncio.timeout(10):
                landed.append(int(await reader.readline()))
                assert await reader.readline() == b"echo %d\n" % n
                assert await reader.read() == b""  # the upstream's close reaches the client
            writer.close()
            await writer.wait_closed()
        assert landed == [0, 1, 2, 0, 1]
