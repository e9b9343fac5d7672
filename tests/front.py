"""A round-robin TCP front for a cluster: each new connection goes to the next node.

Clients connect to the front's port as they would to one server behind a load
balancer; consecutive connections land on different nodes. Every node sees the
connections come from the front (127.0.0.1), never from the client's own address.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Sequence

from chat_srv.server import ChatServer


class Front:
    """A TCP front on 127.0.0.1 that hands each new connection to the next upstream port."""

    def __init__(self, upstreams: Sequence[int]) -> None:
        if not upstreams:
            raise ValueError("a front needs at least one upstream port")
        self.port = 0
        self._next = itertools.cycle(upstreams)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every connection through the front."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream = next(self._next)  # taken at once: the order of accepts is the order
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
            self._writers.add(up_writer)
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.close()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes one way until either side ends; then close the far side, so that
        a connection closed by the node is closed for the client too, and back."""
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def running_front(upstreams: Sequence[int]) -> AsyncIterator[Front]:
    """A started front to `upstreams` (ports on 127.0.0.1), stopped on exit."""
    front = Front(upstreams)
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


class FrontedNode(ChatServer):
    """A cluster's node whose `port` is its front's once it has one (`front`): a test
    given this node connects through the front, to any node, and reaches this node's
    store, configuration and console through the object itself."""

    front: Front | None = None

    @property
    def port(self) -> int:
        return self.front.port if self.front is not None else self.own_port

    @property
    def own_port(self) -> int:
        """The port this node itself listens on."""
        return super().port
