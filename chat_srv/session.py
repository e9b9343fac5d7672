"""One client connection: read frames, answer requests in order, buffer what goes out.

A `Connection` is an asyncio `Protocol` with no task of its own while idle: a
worker task runs only while requests wait. It is counted against the server's
connection limits from `accept` until its socket is closed; with TLS, the
handshake runs within those limits and a time limit of its own.

Going away never interrupts a request: the worker finishes the one in hand (its
store work commits or rolls back as a whole) and only its reply is dropped.

Outgoing frames queued during one loop iteration go to the socket in one write.
While the socket will take no more (the transport paused us), whole frames wait
in a backlog of our own, and a reader whose backlog passes the outbound limit is
dropped as `slow_consumer`: the backlog is discarded frame by frame, so the last
thing the reader gets is the `disconnect`, never half a frame.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import time
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, FrameError, ProtocolError
from chat_core.framing import FrameDecoder
from chat_srv.limits import TokenBucket

if TYPE_CHECKING:
    from chat_srv.picture import User
    from chat_srv.server import ChatServer

log = logging.getLogger(__name__)

_MAX_QUEUED_REQUESTS = 128  # stop reading the socket past this many unanswered requests
_CLOSE_TIMEOUT = 5.0  # seconds a closing connection may take to flush before abort
# A dropped slow reader has at most a transport's high-water mark left to read
# before its `disconnect`: it gets longer to come back for it.
_SLOW_CLOSE_TIMEOUT = 30.0


class Connection(asyncio.Protocol):
    """The server side of one TCP (or TLS) connection."""

    __slots__ = (
        "_backlog",
        "_backlog_bytes",
        "_bucket",
        "_closing",
        "_decoder",
        "_finished",
        "_frame_started",
        "_frame_timer",
        "_inbox",
        "_loop",
        "_lost",
        "_out",
        "_raw",
        "_refused",
        "_released",
        "_server",
        "_transport",
        "_worker",
        "_writable",
        "connected_at",
        "ip",
        "protocol",
        "session",
        "typing",
        "user",
    )

    def __init__(self, server: ChatServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._decoder = FrameDecoder(server.config.max_frame)
        self._raw: asyncio.Transport | None = None  # the TCP transport, from accept
        self._transport: asyncio.Transport | None = None  # frames: TCP, or TLS over it
        # Requests in order, refusals to answer in their place, and a last goodbye.
        # A list, not a deque: an empty deque takes 760 bytes, a list 56, and this one
        # holds at most _MAX_QUEUED_REQUESTS items (popping the first moves fewer than 1 KiB).
        self._inbox: list[m.Request | ProtocolError | m.Disconnect] = []
        self._worker: asyncio.Task[None] | None = None
        self._out: list[bytes] = []  # frames queued in this loop iteration
        # Whole frames the socket would not take yet; made only for a reader that lags.
        self._backlog: deque[bytes] | None = None
        self._backlog_bytes = 0
        self._writable: asyncio.Future[None] | None = None  # set while writing is paused
        config = server.config
        self._bucket = (
            TokenBucket(config.request_rate, config.request_burst, self._loop.time())
            if config.request_rate > 0
            else None
        )
        self._refused = 0  # requests refused in a row for flooding
        self._frame_started: float | None = None  # when the partial frame held began
        self._frame_timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._released = False  # whether the server has forgotten this connection
        self._finished = False  # whether the socket is gone and uncounted
        self._lost: asyncio.Future[None] | None = None  # made only when someone waits
        self.user: User | None = None
        self.ip: str | None = None
        self.typing: dict[tuple[bool, int], float] | None = None  # see chat_srv.noticing
        self.session: str | None = None  # the login's token digest (chat_srv.accounts)
        self.protocol = 1  # until a login says 2
        self.connected_at = time.time()

    @property
    def closed(self) -> bool:
        """Whether this connection has left the server's books (closing or closed)."""
        return self._released

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting to be written: our backlog and the transport's buffer."""
        transport = self._transport
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        return self._backlog_bytes + buffered

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        raw = cast(asyncio.Transport, transport)
        self._raw = raw
        peer = raw.get_extra_info("peername")
        self.ip = peer[0] if isinstance(peer, tuple) else None
        server = self._server
        refusal = server.connection_accepted(self)
        context = server.ssl_context
        if context is None:
            self._ready(raw, refusal)
        elif refusal is not None:
            # A frame can only travel inside TLS: over capacity, no handshake either.
            log.info("refused %s: %s", self.ip, refusal[1])
            raw.abort()
        else:
            raw.pause_reading()  # no byte is read as a frame before the handshake
            self._loop.create_task(self._start_tls(raw, context))

    async def _start_tls(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        try:
            transport = await self._loop.start_tls(
                raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._server.config.tls_handshake_timeout,
            )
        except Exception as error:  # refused, timed out, reset: whatever it was, uncount it
            log.info("TLS handshake with %s failed: %s", self.ip, error or type(error).__name__)
            raw.abort()
            self._finish()
            return
        if transport is None or self._finished:  # closed while the handshake ended
            self._finish()
            return
        self._ready(transport, self._server.connection_refusal(self))

    def _ready(
        self, transport: asyncio.Transport, refusal: tuple[DisconnectReason, str] | None
    ) -> None:
        """The connection carries frames now: say no, or start the login clock."""
        self._transport = transport
        if refusal is not None:
            reason, text = refusal
            log.info("refused %s: %s", self.ip, text)
            self.close_with(m.encode(m.Disconnect(reason=reason, text=text)))
            return
        self._server.connection_ready(self)

    def check_logged_in(self) -> None:
        """The time to log in is up (the server keeps it): close unless logged in."""
        if self.user is None and not self._closing:
            log.info("closing %s: no login in time", self.ip)
            text = "no login in time"
            self.close_with(m.encode(m.Disconnect(reason=DisconnectReason.IDLE, text=text)))

    def data_received(self, data: bytes) -> None:
        if self._closing or self._refused > self._server.config.flood_limit:
            return
        decoder = self._decoder
        try:
            payloads = decoder.feed(data)
        except FrameError as error:
            log.info("closing %s: %s", self.ip, error.message)
            self.close_with(
                m.encode(m.Disconnect(reason=DisconnectReason.PROTOCOL_ERROR, text=error.message))
            )
            return
        if decoder.pending:
            if payloads or self._frame_started is None:  # a new frame began in this read
                self._frame_started = self._loop.time()
                if self._frame_timer is None:
                    self._arm_frame_timer(self._server.config.frame_timeout)
        else:
            self._frame_started = None
        if not payloads:
            return
        inbox = self._inbox
        bucket = self._bucket
        user = self.user
        user_bucket = user.bucket if user is not None else None
        count = self._server.metrics.request
        for payload in payloads:
            item: m.Request | ProtocolError
            try:
                item = m.decode_request(payload)
            except ProtocolError as error:
                item = error
            count(item)
            if bucket is not None or user_bucket is not None:
                now = self._loop.time()
                wait = bucket.take(now) if bucket is not None else 0.0
                if not wait and user_bucket is not None:
                    wait = user_bucket.take(now)
                if wait:
                    request_id = item.request_id if isinstance(item, ProtocolError) else item.id
                    if not self._refuse(request_id, wait):
                        break
                    continue
            self._refused = 0
            inbox.append(item)
        if self._worker is None:
            self._worker = self._loop.create_task(self._work())
        if len(inbox) > _MAX_QUEUED_REQUESTS and self._transport is not None:
            self._transport.pause_reading()

    def _arm_frame_timer(self, delay: float) -> None:
        self._frame_timer = self._loop.call_later(delay, self._check_frame)

    def _check_frame(self) -> None:
        """A frame must arrive whole within `frame_timeout` of its first byte."""
        self._frame_timer = None
        started = self._frame_started
        if started is None or self._closing:
            return  # re-armed by the next partial frame
        late = self._loop.time() - started - self._server.config.frame_timeout
        if late < 0:
            self._arm_frame_timer(-late)  # a newer frame, begun since the timer was set
            return
        log.info("closing %s: a frame took too long to arrive", self.ip)
        text = "a frame took too long to arrive"
        self.close_with(m.encode(m.Disconnect(reason=DisconnectReason.PROTOCOL_ERROR, text=text)))

    def _refuse(self, request_id: int | None, wait: float) -> bool:
        """Answer a request over the rate with `rate_limited`; False once it is a flood.

        A flood is answered up to here, then the connection closes: reading stops
        and the worker sends the goodbye after the replies already queued.
        """
        self._refused += 1
        if self._refused > self._server.config.flood_limit:
            log.info("closing %s: flooding", self.ip)
            text = "too many requests: flooding"
            self._inbox.append(m.Disconnect(reason=DisconnectReason.PROTOCOL_ERROR, text=text))
            if self._transport is not None:
                self._transport.pause_reading()
            return False
        self._server.metrics.limited_requests.inc()
        self._inbox.append(
            ProtocolError(
                ErrorCode.RATE_LIMITED,
                "too many requests; slow down",
                request_id=request_id,
                retry_after_ms=math.ceil(wait * 1000),
            )
        )
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._closing = True
        # The worker is left to finish the request in hand: see the module docstring.
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._backlog = None
        self._backlog_bytes = 0
        self._finish()

    def _finish(self) -> None:
        """The socket is gone (once): leave the books and the connection counts."""
        if self._finished:
            return
        self._finished = True
        self._closing = True
        if self._frame_timer is not None:
            self._frame_timer.cancel()
            self._frame_timer = None
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._release()
        self._server.connection_finished(self)

    def _release(self) -> None:
        """Leave the server's books (once): the user goes offline on this connection."""
        if not self._released:
            self._released = True
            self._server.connection_released(self)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        if self._backlog:
            self._loop.call_soon(self._drain_backlog)

    # -- requests -------------------------------------------------------------------

    async def _work(self) -> None:
        """Answer queued requests in order; consecutive sends are stored together."""
        service = self._server.service
        inbox = self._inbox
        try:
            while inbox and not self._closing:
                item = inbox.pop(0)
                if isinstance(item, ProtocolError):
                    self.deliver(m.encode(m.ErrorReply.from_exception(item)))
                elif isinstance(item, m.Disconnect):
                    self.close_with(m.encode(item))
                elif isinstance(item, m.Send | m.Dm):
                    pending: list[Awaitable[m.Reply]] = [service.submit(self, item)]
                    while inbox and isinstance(nxt := inbox[0], m.Send | m.Dm):
                        del inbox[0]
                        pending.append(service.submit(self, nxt))
                    for awaitable in pending:
                        self._reply(await awaitable)
                else:
                    self._reply(await service.handle(self, item))
                if self._writable is not None and not self._writable.done():
                    await self._writable  # the client is not reading its replies
                if len(inbox) <= _MAX_QUEUED_REQUESTS // 2 and self._transport is not None:
                    self._transport.resume_reading()
        finally:
            self._worker = None

    def _reply(self, reply: m.Reply) -> None:
        self.deliver(m.encode(reply))
        if self._closing:  # a `logout`: the reply is the last frame
            self._shut()

    def close_after_reply(self) -> None:
        """Make the next reply the last frame on this connection."""
        self._closing = True

    # -- output ------------------------------------------------------------------------

    def deliver(self, data: bytes) -> None:
        """Queue a frame; it goes out with the others queued in this loop iteration."""
        if self._transport is None or self._transport.is_closing():
            return
        if not self._out:
            self._server.flush_soon(self)
        self._out.append(data)

    def flush(self) -> None:
        """Write what was queued in this loop iteration, in one call."""
        transport = self._transport
        out = self._out
        if not out or transport is None or transport.is_closing():
            out.clear()
            return
        if self._backlog or (self._writable is not None and not self._writable.done()):
            # The socket is full: keep whole frames here, behind those already waiting.
            if self._backlog is None:
                self._backlog = deque()
            self._backlog.extend(out)
            self._backlog_bytes += sum(map(len, out))
            out.clear()
            if self.queued_bytes > self._server.config.outbound_buffer:
                self._drop_slow()
            return
        transport.writelines(out) if len(out) > 1 else transport.write(out[0])
        out.clear()
        if transport.get_write_buffer_size() > self._server.config.outbound_buffer:
            self._drop_slow()  # one flush larger than the whole limit

    def _drain_backlog(self) -> None:
        """Hand waiting frames to the transport until it pauses us again."""
        transport = self._transport
        backlog = self._backlog
        while backlog and transport is not None and not transport.is_closing():
            if self._writable is not None and not self._writable.done():
                return
            frame = backlog.popleft()
            self._backlog_bytes -= len(frame)
            transport.write(frame)
        if not backlog:
            self._backlog = None  # caught up

    def _drop_slow(self) -> None:
        log.warning("dropping %s (%s): slow consumer", self.user and self.user.name, self.ip)
        self._server.metrics.slow_consumers.inc()
        self._out.clear()
        self._backlog = None  # whole frames: what the reader gets next stays aligned
        self._backlog_bytes = 0
        text = "you were not reading fast enough"
        goodbye = m.encode(m.Disconnect(reason=DisconnectReason.SLOW_CONSUMER, text=text))
        self.close_with(goodbye, timeout=_SLOW_CLOSE_TIMEOUT)

    def close_with(self, data: bytes, *, timeout: float = _CLOSE_TIMEOUT) -> None:
        """Send a last frame (a `disconnect`) after what is queued, then close."""
        if self._transport is None or self._transport.is_closing():
            return
        self._closing = True
        self._out.append(data)
        self._shut(timeout)

    def _shut(self, timeout: float = _CLOSE_TIMEOUT) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        queued = [*(self._backlog or ()), *self._out]
        self._backlog = None
        self._backlog_bytes = 0
        self._out.clear()
        if queued:
            transport.writelines(queued)
        transport.close()
        # A peer that never reads would hold the socket open forever.
        self._loop.call_later(timeout, transport.abort)
        # Closed as far as everyone else is concerned, while the last bytes drain.
        self._release()

    async def wait_closed(self) -> None:
        """Wait until the socket is closed (its last bytes sent, or given up)."""
        if self._finished:
            return
        if self._lost is None:
            self._lost = self._loop.create_future()
        await self._lost

    def abort(self) -> None:
        """Close at once, dropping anything unsent."""
        transport = self._transport or self._raw
        if transport is not None:
            transport.abort()
