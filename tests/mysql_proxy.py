"""A TCP proxy between a store and the MySQL server, to make outages real.

Stopping it is the server going away (every connection cut, new ones refused);
starting it again brings the server back on the same port; `stalled` makes the
server stop answering. The MySQL server itself is never disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote

from chat_srv.store.mysql_connect import MysqlUrl, parse_mysql_url


class Proxy:
    """A TCP proxy to the MySQL server that can cut, refuse and stall connections.

    `doom()` makes the connections open now die when next used, as if the server
    had gone away while they sat idle in the pool, unnoticed.
    """

    def __init__(self, upstream: MysqlUrl) -> None:
        self.upstream = upstream
        self.port = 0
        self.stalled = asyncio.Event()  # set: bytes are no longer forwarded
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._doomed: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening (the server is down)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._writers.clear()

    def doom(self) -> None:
        self._doomed |= self._writers

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream.host, self.upstream.port
            )
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pump(reader, up_writer, writer), self._pump(up_reader, writer, writer)
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
    ) -> None:
        while data := await reader.read(65536):
            if client in self._doomed:
                client.close()  # the request is lost, and the connection with it
                break
            if self.stalled.is_set():
                continue  # swallowed: the other side waits for an answer forever
            writer.write(data)
            await writer.drain()
        writer.close()


def through(proxy: Proxy, url: str) -> str:
    """`url` (a database on the MySQL server) reached through `proxy`, once started."""
    params = parse_mysql_url(url)
    user, password = quote(params.user), quote(params.password)
    return f"mysql://{user}:{password}@127.0.0.1:{proxy.port}/{params.database}"


@contextlib.asynccontextmanager
async def running_proxy(url: str) -> AsyncIterator[Proxy]:
    """A started proxy to the MySQL server of `url`, stopped on exit."""
    proxy = Proxy(parse_mysql_url(url))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
