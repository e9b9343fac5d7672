"""Listening, the lifecycle of connections, and graceful shutdown.

`ChatServer` wires the store, the group committer, the hub and the service
together, accepts connections, and on `stop()` (a signal, or the console's
`shutdown`) says goodbye to every client, stores what is queued and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.committer import Committer
from chat_srv.config import ServerConfig
from chat_srv.hub import Hub
from chat_srv.passwords import PasswordHasher
from chat_srv.service import Service
from chat_srv.session import Connection
from chat_srv.store import open_store

log = logging.getLogger(__name__)


class ChatServer:
    """A running chat server: `await start()`, then `await stop()` (or `serve_forever`)."""

    def __init__(self, config: ServerConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.ssl_context = ssl_context
        self.store = open_store(config.database, timeout=config.db_timeout)
        self.hub = Hub()
        self.committer = Committer(self.store, config.max_batch)
        self.service = Service(self.store, self.hub, self.committer, PasswordHasher(config.argon2))
        self.stopped = asyncio.Event()
        self._listener: asyncio.Server | None = None
        self._stopping = False
        self._all_closed = asyncio.Event()  # set once stopping and no connection is left

    @property
    def port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        assert self._listener is not None
        port: int = self._listener.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Open the store, load the picture, start listening."""
        await self.store.open()
        try:
            await self.service.load()
            self.committer.start()
            loop = asyncio.get_running_loop()
            self._listener = await loop.create_server(
                lambda: Connection(self),
                self.config.address,
                self.config.port,
                ssl=self.ssl_context,
                reuse_address=True,
                backlog=1024,
            )
        except BaseException:
            await self.committer.close()
            await self.store.close()
            raise
        log.info("listening on %s port %d", self.config.address, self.port)

    async def serve_forever(self) -> None:
        """Wait until `stop()` has finished."""
        await self.stopped.wait()

    async def stop(self, text: str = "the server is shutting down") -> None:
        """Graceful shutdown: stop accepting, say goodbye, store what is queued, close."""
        if self._stopping:
            await self.stopped.wait()
            return
        self._stopping = True
        log.info("shutting down")
        if self._listener is not None:
            self._listener.close()
        goodbye = m.encode(m.Disconnect(reason=DisconnectReason.SHUTDOWN, text=text))
        for conn in list(self.hub.connections):
            conn.close_with(goodbye)
        await self.committer.close()
        if not self.hub.connections:
            self._all_closed.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.shutdown_grace):
                await self._all_closed.wait()
        for conn in list(self.hub.connections):
            if isinstance(conn, Connection):
                conn.abort()
        if self._listener is not None:
            await self._listener.wait_closed()
        await self.store.close()
        log.info("stopped")
        self.stopped.set()

    # -- called by connections ------------------------------------------------------

    def connection_opened(self, conn: Connection) -> None:
        """Register a new connection; refuse it at once if its address is banned."""
        self.hub.connections.add(conn)
        if self._stopping:
            conn.close_with(
                m.encode(m.Disconnect(reason=DisconnectReason.SHUTDOWN, text="shutting down"))
            )
            return
        ban = self.service.sanctions.ip_ban(conn.ip)
        if ban is not None:
            log.info("refused %s: address banned", conn.ip)
            conn.close_with(
                m.encode(m.Disconnect(reason=DisconnectReason.BANNED, text=f"banned: {ban.reason}"))
            )
            return
        log.info("connection from %s", conn.ip)

    def connection_closed(self, conn: Connection) -> None:
        """Forget a closed connection."""
        log.info("closed %s (%s)", conn.ip, conn.user and conn.user.name)
        self.hub.connections.discard(conn)
        self.service.disconnected(conn)
        if self._stopping and not self.hub.connections:
            self._all_closed.set()
