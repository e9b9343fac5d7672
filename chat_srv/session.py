"""One client connection: read frames, answer requests in order, buffer what goes out.

A `Connection` is an asyncio `Protocol` with no task of its own while idle: a
worker task runs only while requests wait. Outgoing frames queued during one loop
iteration go to the socket in one write. Events count against a bounded outbound
buffer; a reader that falls that far behind is dropped as `slow_consumer` instead
of slowing the room or growing the server's memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, cast

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, FrameError, ProtocolError
from chat_core.framing import FrameDecoder
from chat_srv.limits import TokenBucket

if TYPE_CHECKING:
    from chat_srv.server import ChatServer
    from chat_srv.service import User

log = logging.getLogger(__name__)

_MAX_QUEUED_REQUESTS = 128  # stop reading the socket past this many unanswered requests
_CLOSE_TIMEOUT = 5.0  # seconds a closing connection may take to flush before abort


class Connection(asyncio.Protocol):
    """The server side of one TCP (or TLS) connection."""

    __slots__ = (
        "_bucket",
        "_closing",
        "_decoder",
        "_inbox",
        "_loop",
        "_lost",
        "_out",
        "_refused",
        "_released",
        "_server",
        "_transport",
        "_worker",
        "_writable",
        "connected_at",
        "ip",
        "user",
    )

    def __init__(self, server: ChatServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._decoder = FrameDecoder(server.config.max_frame)
        self._transport: asyncio.Transport | None = None
        # Requests in order, refusals to answer in their place, and a last goodbye.
        self._inbox: deque[m.Request | ProtocolError | m.Disconnect] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._out: list[bytes] = []  # frames queued in this loop iteration
        self._writable: asyncio.Future[None] | None = None  # set while writing is paused
        config = server.config
        self._bucket = (
            TokenBucket(config.request_rate, config.request_burst, self._loop.time())
            if config.request_rate > 0
            else None
        )
        self._refused = 0  # requests refused in a row for flooding
        self._closing = False
        self._released = False  # whether the server has forgotten this connection
        self._lost: asyncio.Future[None] | None = None  # made only when someone waits
        self.user: User | None = None
        self.ip: str | None = None
        self.connected_at = time.time()

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.ip = peer[0] if isinstance(peer, tuple) else None
        if self._server.connection_opened(self):
            self._loop.call_later(self._server.config.login_timeout, self._check_logged_in)

    def _check_logged_in(self) -> None:
        if self.user is None and not self._closing:
            log.info("closing %s: no login in time", self.ip)
            text = "no login in time"
            self.close_with(m.encode(m.Disconnect(reason=DisconnectReason.IDLE, text=text)))

    def data_received(self, data: bytes) -> None:
        if self._closing or self._refused > self._server.config.flood_limit:
            return
        try:
            payloads = self._decoder.feed(data)
        except FrameError as error:
            log.info("closing %s: %s", self.ip, error.message)
            self.close_with(
                m.encode(m.Disconnect(reason=DisconnectReason.PROTOCOL_ERROR, text=error.message))
            )
            return
        if not payloads:
            return
        inbox = self._inbox
        bucket = self._bucket
        for payload in payloads:
            item: m.Request | ProtocolError
            try:
                item = m.decode_request(payload)
            except ProtocolError as error:
                item = error
            if bucket is not None and (wait := bucket.take(self._loop.time())):
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
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._closing = True
        if self._worker is not None:
            self._worker.cancel()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._release()

    def _release(self) -> None:
        """Leave the server's books (once): the user goes offline on this connection."""
        if not self._released:
            self._released = True
            self._server.connection_closed(self)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- requests -------------------------------------------------------------------

    async def _work(self) -> None:
        """Answer queued requests in order; consecutive sends are stored together."""
        service = self._server.service
        inbox = self._inbox
        try:
            while inbox and not self._closing:
                item = inbox.popleft()
                if isinstance(item, ProtocolError):
                    self.deliver(m.encode(m.ErrorReply.from_exception(item)))
                elif isinstance(item, m.Disconnect):
                    self.close_with(m.encode(item))
                elif isinstance(item, m.Send | m.Dm):
                    pending: list[Awaitable[m.Reply]] = [service.submit(self, item)]
                    while inbox and isinstance(nxt := inbox[0], m.Send | m.Dm):
                        inbox.popleft()
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
        if not self._out or transport is None or transport.is_closing():
            self._out.clear()
            return
        transport.writelines(self._out) if len(self._out) > 1 else transport.write(self._out[0])
        self._out.clear()
        # What the kernel would not take stays in the transport's buffer: that is
        # the backlog a slow reader builds up.
        if transport.get_write_buffer_size() > self._server.config.outbound_buffer:
            self._drop_slow()

    def _drop_slow(self) -> None:
        log.warning("dropping %s (%s): slow consumer", self.user and self.user.name, self.ip)
        self._out.clear()
        text = "you were not reading fast enough"
        self.close_with(m.encode(m.Disconnect(reason=DisconnectReason.SLOW_CONSUMER, text=text)))

    def close_with(self, data: bytes) -> None:
        """Send a last frame (a `disconnect`) after what is queued, then close."""
        if self._transport is None or self._transport.is_closing():
            return
        self._closing = True
        self._out.append(data)
        self._shut()

    def _shut(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        if self._out:
            transport.writelines(self._out)
            self._out.clear()
        transport.close()
        # A peer that never reads would hold the socket open forever.
        self._loop.call_later(_CLOSE_TIMEOUT, transport.abort)
        # Closed as far as everyone else is concerned, while the last bytes drain.
        self._release()

    async def wait_closed(self) -> None:
        """Wait until the socket is closed (its last bytes sent, or given up)."""
        if self._transport is None:
            return
        if self._lost is None:
            self._lost = self._loop.create_future()
        await self._lost

    def abort(self) -> None:
        """Close at once, dropping anything unsent."""
        if self._transport is not None:
            self._transport.abort()
