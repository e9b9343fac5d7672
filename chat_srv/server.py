"""Listening, the lifecycle of connections, and graceful shutdown.

`ChatServer` wires the store, the group committers, the hub and the service
together, accepts connections and counts them against the limits from `accept`
until their socket closes, and on `stop()` (a signal, or the console's `shutdown`)
says goodbye to every client, stores what is queued and closes. With
`ServerConfig.metrics` set it also serves `/metrics` and `/healthz` there
(`chat_srv.metrics_http`), from the same loop, for as long as it runs.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import socket
import ssl
import time
from typing import TYPE_CHECKING

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_srv.clock import Clock
from chat_srv.config import ServerConfig
from chat_srv.control import ControlSocket
from chat_srv.hub import Hub
from chat_srv.metrics import CONNECTION_STATES, SANCTION_KINDS, Metrics
from chat_srv.metrics_http import MetricsServer, parse_address
from chat_srv.moderation import Moderation
from chat_srv.passwords import PasswordHasher
from chat_srv.service import Service
from chat_srv.session import Connection
from chat_srv.store import StoreError, describe_database, open_store

if TYPE_CHECKING:
    from chat_srv.cluster.node import ClusterNode

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 2.0  # seconds the store may take to answer `/healthz` (at most db_timeout)


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The TLS context serving `config`'s certificate, or None without one.

    Raises:
        ValueError: only one of the certificate and the key was given.
        OSError, ssl.SSLError: the files cannot be read or do not match.
    """
    if config.tls_cert is None and config.tls_key is None:
        return None
    if config.tls_cert is None or config.tls_key is None:
        raise ValueError("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


class ChatServer:
    """A running chat server: `await start()`, then `await stop()` (or `serve_forever`)."""

    def __init__(self, config: ServerConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.ssl_context = tls_context(config)
        self.store = open_store(config.database, timeout=config.db_timeout)
        self.metrics = Metrics()
        self.metrics.watch(self)
        # A malformed address is a ValueError here, with the other configuration errors.
        self._metrics_at = parse_address(config.metrics) if config.metrics else None
        self._metrics_server: MetricsServer | None = None
        self.hub = Hub(self.metrics)
        hasher = PasswordHasher(config.argon2, workers=config.hashers, queue=config.hash_queue)
        self.service = Service(self.store, self.hub, hasher, config, clock=clock or Clock())
        self.service.moderator = Moderation(self)
        if config.cluster and not config.database.startswith("mysql:"):
            raise ValueError(
                "--cluster needs a MySQL database (--db mysql://...): an SQLite file is "
                "one server's"
            )
        self.cluster: ClusterNode | None = None
        socket_path = config.admin_socket_path
        self.control = ControlSocket(self, socket_path) if socket_path is not None else None
        self.stopped = asyncio.Event()
        self._listener: asyncio.Server | None = None
        self._stopping = False
        self._dirty: list[Connection] = []  # connections with frames to write
        # Every socket from accept until it is closed: what the connection limits count.
        self._accepted: set[Connection] = set()
        self._per_ip: dict[str, int] = {}
        # Connections not logged in yet, with when they must be (in order: one
        # timeout for all), and one timer for the first of them, not one each: a
        # timer is about 590 bytes a connection, and the memory stays the process's.
        self._login_deadlines: dict[Connection, float] = {}
        self._login_timer: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful with port 0)."""
        assert self._listener is not None
        port: int = self._listener.sockets[0].getsockname()[1]
        return port

    @property
    def open_sockets(self) -> int:
        """Sockets open now, whatever their stage (TLS handshake, login, closing)."""
        return len(self._accepted)

    async def start(self) -> None:
        """Open the store, load the picture, start listening."""
        started = time.perf_counter()
        await self.store.open()
        try:
            await self.service.load()
            log.debug("store opened and loaded in %.1f ms", (time.perf_counter() - started) * 1000)
            if self.config.cluster:
                await self._join_cluster()
            self.service.start_writers()
            loop = asyncio.get_running_loop()
            # TLS is started by each connection once it is counted (`Connection`), so
            # a socket that never finishes its handshake still counts and times out.
            self._listener = await loop.create_server(
                lambda: Connection(self),
                self.config.address,
                self.config.port,
                reuse_address=True,
                backlog=1024,
            )
            if self.control is not None:
                await self.control.start()
            if self._metrics_at is not None:
                host, port = self._metrics_at
                self._metrics_server = MetricsServer(host, port, self.metrics, self.health)
                await self._metrics_server.start()  # MetricsListenError: an OSError
        except BaseException:
            if self._listener is not None:
                self._listener.close()
                await self._listener.wait_closed()
                self._listener = None
            if self.control is not None:
                await self.control.close()
            if self._metrics_server is not None:
                await self._metrics_server.close()
                self._metrics_server = None
            await self.service.close_writers()
            if self.cluster is not None:
                await self.cluster.close()
            await self.store.close()
            self.service.hasher.close()
            self.service.presence.close()
            raise
        self._log_listening()

    async def _join_cluster(self) -> None:
        from chat_srv.cluster.broker import RedisBroker  # only a cluster node needs it
        from chat_srv.cluster.node import ClusterNode

        config = self.config
        node_id = config.node_id or f"{socket.gethostname()}:{config.port}"
        channel = f"chat:{describe_database(config.database)}"
        self.cluster = ClusterNode(self.service, RedisBroker(config.cluster, channel), node_id)
        await self.cluster.start()
        self.service.cluster = self.cluster
        log.info("node %s of the cluster on %s", node_id, channel)

    def _log_listening(self) -> None:
        """One line: where, and how (tests and benchmarks read the port from its start)."""
        config = self.config
        store = describe_database(config.database)
        tls = self.ssl_context is not None
        metrics = self.metrics_address
        admin = str(self.control.path) if self.control is not None else None
        log.info(
            "listening on %s port %d (store %s, TLS %s, admin socket %s, metrics %s)",
            config.address,
            self.port,
            store,
            "on" if tls else "off",
            admin or "off",
            metrics or "off",
            extra={
                "fields": {
                    "address": config.address,
                    "port": self.port,
                    "store": store,
                    "tls": tls,
                    "admin_socket": admin,
                    "metrics": metrics,
                }
            },
        )

    @property
    def metrics_address(self) -> str | None:
        """ "ADDRESS:PORT" of `/metrics` and `/healthz` while served (the port as bound)."""
        server = self._metrics_server
        return server.address if server is not None else None

    @property
    def metrics_port(self) -> int:
        """The port `/metrics` is served on (useful with port 0)."""
        assert self._metrics_server is not None, "metrics are not served"
        return self._metrics_server.port

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
        if self._login_timer is not None:
            self._login_timer.cancel()
        if self.control is not None:
            await self.control.close()
        # Store and deliver what is queued first: its senders get their replies
        # (their tasks resume before this one) ahead of the goodbye.
        await self.service.close_writers()
        goodbye = m.encode(m.Disconnect(reason=DisconnectReason.SHUTDOWN, text=text))
        conns = list(self._accepted)
        for conn in conns:
            conn.close_with(goodbye)
            if not conn.closed:  # still in its TLS handshake: no frame to say it with
                conn.abort()
        try:
            async with asyncio.timeout(self.config.shutdown_grace):
                await asyncio.gather(*(conn.wait_closed() for conn in conns))
        except TimeoutError:
            for conn in conns:
                conn.abort()
        if self._listener is not None:
            await self._listener.wait_closed()
        if self.cluster is not None:  # after the goodbyes: the others hear them go
            await self.cluster.close()
        if self._metrics_server is not None:
            await self._metrics_server.close()
        await self.store.close()
        self.service.hasher.close()
        self.service.presence.close()
        log.info("stopped")
        self.stopped.set()

    # -- read by /metrics and /healthz -----------------------------------------------

    def connection_states(self) -> dict[str, int]:
        """Open sockets by stage (`chat_srv.metrics.CONNECTION_STATES`), counted now."""
        counts = dict.fromkeys(CONNECTION_STATES, 0)
        ready = self.hub.connections
        for conn in self._accepted:
            if conn.closed:
                state = "closing"
            elif conn in ready:
                state = "logged_in" if conn.user is not None else "awaiting_login"
            else:
                state = "handshake"  # accepted, its TLS handshake not over
            counts[state] += 1
        return counts

    def sanctions_in_force(self) -> dict[str, int]:
        """Kicks (not yet expired), user bans and IP bans in force, by kind."""
        active = self.service.sanctions.active(self.service.clock.now_ms())
        counts = dict.fromkeys(SANCTION_KINDS, 0)
        counts.update(collections.Counter(str(s.kind) for s in active))
        return counts

    async def health(self) -> str | None:
        """None if the server is healthy (the store answers in time), else why not."""
        if self._stopping:
            return "shutting down"
        seconds = min(HEALTH_TIMEOUT, self.config.db_timeout)
        try:
            async with asyncio.timeout(seconds):
                await self.store.ping()
        except TimeoutError:
            return f"store unavailable: no answer within {seconds:g} s"
        except StoreError as error:
            return f"store unavailable: {error}"
        return None

    # -- called by connections ------------------------------------------------------

    def flush_soon(self, conn: Connection) -> None:
        """Have `conn` write its queued frames at the end of this loop iteration.

        One callback flushes every connection that got frames in the iteration,
        rather than one callback per connection.
        """
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._flush_dirty)
        self._dirty.append(conn)

    def _flush_dirty(self) -> None:
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()

    def connection_accepted(self, conn: Connection) -> tuple[DisconnectReason, str] | None:
        """Count a socket just accepted; why it may not stay, if it may not.

        Over TLS only the capacity is judged here; the rest waits for the handshake
        (`connection_refusal`), so that the refusal can be said in a frame.
        """
        refusal = self._capacity_refusal(conn)
        self._accepted.add(conn)
        if conn.ip is not None:
            self._per_ip[conn.ip] = self._per_ip.get(conn.ip, 0) + 1
        if refusal is None and self.ssl_context is None:
            refusal = self.connection_refusal(conn)
        return refusal

    def _capacity_refusal(self, conn: Connection) -> tuple[DisconnectReason, str] | None:
        config = self.config
        if len(self._accepted) >= config.max_connections:
            return DisconnectReason.PROTOCOL_ERROR, "the server is full; try again later"
        ip = conn.ip
        crowded = ip is not None and self._per_ip.get(ip, 0) >= config.max_connections_per_ip
        # Loopback is exempt by default: an SSH tunnel or a local bouncer is one address.
        if crowded and (config.limit_loopback or not ipaddress.ip_address(ip or "").is_loopback):
            return DisconnectReason.PROTOCOL_ERROR, "too many connections from your address"
        return None

    def connection_refusal(self, conn: Connection) -> tuple[DisconnectReason, str] | None:
        """Why a connection ready for frames may not stay (shutdown, banned address)."""
        if self._stopping:
            return DisconnectReason.SHUTDOWN, "the server is shutting down"
        ban = self.service.sanctions.ip_ban(conn.ip)
        if ban is not None:
            return DisconnectReason.BANNED, f"this address is banned: {ban.reason}"
        return None

    def connection_ready(self, conn: Connection) -> None:
        """A connection may now send requests."""
        log.info("connection from %s", conn.ip)
        self.hub.connections.add(conn)
        loop = asyncio.get_running_loop()
        self._login_deadlines[conn] = loop.time() + self.config.login_timeout
        if self._login_timer is None:
            self._login_timer = loop.call_later(self.config.login_timeout, self._login_due)

    def _login_due(self) -> None:
        """Close the connections whose time to log in is up; wait for the next one."""
        self._login_timer = None
        deadlines = self._login_deadlines
        loop = asyncio.get_running_loop()
        now = loop.time()
        while deadlines:
            conn, deadline = next(iter(deadlines.items()))
            if deadline > now:
                self._login_timer = loop.call_at(deadline, self._login_due)
                return
            del deadlines[conn]
            conn.check_logged_in()

    def connection_released(self, conn: Connection) -> None:
        """A connection is closing: it is offline for everyone else from now on."""
        self._login_deadlines.pop(conn, None)
        if conn in self.hub.connections:
            log.info("closed %s (%s)", conn.ip, conn.user and conn.user.name)
            self.hub.connections.discard(conn)
        self.service.disconnected(conn)

    def connection_finished(self, conn: Connection) -> None:
        """A socket is closed: it no longer counts against the limits."""
        if conn in self._accepted:
            self._accepted.discard(conn)
            if conn.ip is not None:
                left = self._per_ip.pop(conn.ip) - 1
                if left:
                    self._per_ip[conn.ip] = left
