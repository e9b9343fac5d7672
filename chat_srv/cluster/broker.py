"""The transport between nodes: publish bytes to every other node, lossy and fast.

`Broker` is all a node needs, so another engine (NATS) could replace Redis. Nothing
here is trusted for durability: a node that misses a publication reads what it
missed from MySQL (`chat_srv.cluster.node`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

RECONNECT_DELAY = 0.5  # seconds between attempts to reach the broker again
PUBLISH_TIMEOUT = 2.0  # seconds a publication may take before it is given up
CLOSE_WAIT = 2.0  # seconds the listener may take to stop


class Broker(Protocol):
    """A channel every node publishes to and listens on."""

    async def start(
        self, on_data: Callable[[bytes], None], on_state: Callable[[bool], None]
    ) -> None:
        """Start listening: `on_data` for each publication, `on_state(True)` once
        subscribed (after each reconnection too), `on_state(False)` when lost."""

    async def publish(self, data: bytes) -> bool:
        """Send to every node listening; False if the broker could not be reached."""

    async def close(self) -> None:
        """Stop listening and disconnect."""


class RedisBroker:
    """Redis pub/sub on one channel (redis-py's asyncio client, with hiredis)."""

    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio  # only a cluster node needs it

        self._redis: Any = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=5.0, health_check_interval=5
        )
        self._channel = channel
        self._task: asyncio.Task[None] | None = None

    async def start(
        self, on_data: Callable[[bytes], None], on_state: Callable[[bool], None]
    ) -> None:
        self._task = asyncio.create_task(self._listen(on_data, on_state), name="broker")

    async def _listen(
        self, on_data: Callable[[bytes], None], on_state: Callable[[bool], None]
    ) -> None:
        connected = False
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                connected = True
                on_state(True)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        on_data(bytes(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker went away: serve on, try again
                if connected:
                    log.warning("lost the cluster broker: %s", error)
                    connected = False
                    on_state(False)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT_DELAY)

    async def publish(self, data: bytes) -> bool:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                await self._redis.publish(self._channel, data)
        except Exception as error:
            log.debug("publishing to the cluster broker failed: %s", error)
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=CLOSE_WAIT)
            self._task = None
        with contextlib.suppress(Exception):
            await self._redis.aclose()
