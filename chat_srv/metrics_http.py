"""`GET /metrics` and `GET /healthz` over HTTP/1.1, served from the server's own event loop.

`MetricsServer` is a small handler on `asyncio.start_server`, bound only to the
address it is given (`ServerConfig.metrics`, "ADDRESS:PORT"). Why not
prometheus-client's own servers: `start_http_server` serves from a thread of its
own, and the gauges read at scrape time (`chat_srv.metrics`) walk the loop's sets
and dicts of connections and sanctions, which that thread would read while the
loop changes them; its ASGI app would need an ASGI server we have no other use
for. Scrapes are small and rare, so one request per connection, answered and
closed, is all it takes; the text itself is prometheus-client's
(`choose_encoder`, which also speaks OpenMetrics when asked to).

Every request is bounded: a request line of at most `MAX_REQUEST_LINE` bytes
(else 414), a header section of at most `MAX_HEAD` bytes and `MAX_HEADERS` lines
(else 431), `REQUEST_TIMEOUT` seconds for the whole exchange (else 408, or the
socket is dropped), at most `MAX_CLIENTS` exchanges at once (more are closed at
once), GET and HEAD only (405). Unknown paths are 404. A request body is never
read: the connection closes after the answer.

`/healthz` is 200 `ok` while the health check (`ChatServer.health`: the store
answers a trivial query in time) passes, and 503 with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from prometheus_client.exposition import choose_encoder

from chat_srv.metrics import Metrics

log = logging.getLogger(__name__)

MAX_REQUEST_LINE: Final = 4096
MAX_HEAD: Final = 16 * 1024
MAX_HEADERS: Final = 64
REQUEST_TIMEOUT: Final = 5.0
MAX_CLIENTS: Final = 16
_CLOSE_TIMEOUT = 1.0  # seconds to hand the last bytes to a peer before dropping it

HealthCheck = Callable[[], Awaitable[str | None]]
"""None when healthy, else why not (said in the 503's body: no secrets)."""

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class MetricsListenError(OSError):
    """The metrics address cannot be listened on; the message says which and why."""


def parse_address(text: str) -> tuple[str, int]:
    """Split "ADDRESS:PORT" (an IPv6 address in brackets: "[::1]:9100").

    Raises:
        ValueError: the text is not of that form, or the port is not 0 to 65535.
    """
    host, colon, port_text = text.strip().rpartition(":")
    form = "ADDRESS:PORT, such as 127.0.0.1:9100 or [::1]:9100"
    if not colon or not host or not port_text.isdigit():
        raise ValueError(f"the metrics address is {form} (got {text!r})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"an IPv6 metrics address goes in brackets: {form}")
    port = int(port_text)
    if not host or port > 65535:
        raise ValueError(f"the metrics address is {form} (got {text!r})")
    return host, port


def format_address(host: str, port: int) -> str:
    """ "ADDRESS:PORT", with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    head_only: bool = False
    allow: str | None = None

    def encode(self) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS[self.status]}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if self.allow is not None:
            lines.append(f"Allow: {self.allow}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        return head if self.head_only else head + self.body


def _plain(status: int, text: str) -> _Answer:
    return _Answer(status, (text + "\n").encode())


class _Gone(Exception):
    """The peer closed before a whole request line: nothing to answer."""


class MetricsServer:
    """Serves one server's `Metrics` and health on one address: `start()`, then `close()`."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        health: HealthCheck,
        *,
        timeout: float = REQUEST_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self._host = host
        self._port = port
        self._metrics = metrics
        self._health = health
        self._timeout = timeout
        self._max_clients = max_clients
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._healthy = True  # the last health seen, to log changes only

    @property
    def address(self) -> str:
        """ "ADDRESS:PORT" listened on, the port as bound (useful with port 0)."""
        return format_address(self._host, self.port)

    @property
    def port(self) -> int:
        """The port actually listened on."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Listen; `MetricsListenError` if the address cannot be had."""
        try:
            self._server = await asyncio.start_server(
                self._serve, self._host, self._port, limit=MAX_REQUEST_LINE, reuse_address=True
            )
        except OSError as error:
            where = format_address(self._host, self._port)
            raise MetricsListenError(
                f"cannot serve metrics on {where}: {error.strerror or error}"
            ) from error

    async def close(self) -> None:
        """Stop listening and end the exchanges in progress."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    # -- one exchange ---------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._tasks) >= self._max_clients:
            writer.transport.abort()  # scrapers do not come in crowds
            return
        self._tasks.add(task)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    answer = await self._answer(reader)
            except TimeoutError:
                answer = _plain(408, "the request took too long")
            writer.write(answer.encode())
            async with asyncio.timeout_at(max(deadline, loop.time() + _CLOSE_TIMEOUT)):
                await writer.drain()
                writer.close()
                await writer.wait_closed()
        except (_Gone, TimeoutError, ConnectionError, asyncio.CancelledError):
            writer.transport.abort()
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> _Answer:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            return _plain(414, "the request line is too long")
        except asyncio.IncompleteReadError:
            raise _Gone from None
        headers: dict[str, str] = {}
        size = len(line)
        for _ in range(MAX_HEADERS + 1):
            try:
                field = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                return _plain(431, "a header line is too long")
            except asyncio.IncompleteReadError:
                raise _Gone from None
            size += len(field)
            if size > MAX_HEAD:
                return _plain(431, "the request header is too large")
            if field.strip() == b"":
                break
            name, colon, value = field.decode("latin-1").partition(":")
            if not colon:
                return _plain(400, "a header line without a colon")
            headers[name.strip().lower()] = value.strip()
        else:
            return _plain(431, "too many header lines")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            return _plain(400, "a request line is METHOD TARGET HTTP/1.1")
        method, target, version = parts
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            return _plain(505, "HTTP/1.0 or HTTP/1.1 only")
        if method not in ("GET", "HEAD"):
            return _Answer(405, b"GET or HEAD only\n", allow="GET, HEAD")
        path = target.partition("?")[0]
        if path == "/metrics":
            answer = self._scrape(headers.get("accept", ""))
        elif path == "/healthz":
            answer = await self._check_health()
        else:
            text = b"not found: try /metrics or /healthz\n"
            return _Answer(404, text, head_only=method == "HEAD")
        if method == "HEAD":
            return _Answer(answer.status, answer.body, answer.content_type, head_only=True)
        return answer

    def _scrape(self, accept: str) -> _Answer:
        encoder, content_type = choose_encoder(accept)
        return _Answer(200, encoder(self._metrics.registry), content_type)

    async def _check_health(self) -> _Answer:
        reason = await self._health()
        healthy = reason is None
        if healthy != self._healthy:
            self._healthy = healthy
            if reason is None:
                log.info("healthy again")
            else:
                log.warning("unhealthy: %s", reason)
        return _plain(200, "ok") if reason is None else _plain(503, reason)
