"""Group commit: concurrent sends are stored together in one transaction.

While one batch is being written, new messages queue up; the next transaction
takes all of them. A message is delivered (fanned out) only after its batch is
committed: the whole batch is handed over at once, in message-id order, before the
senders' replies. Each batch's time is observed in `chat_store_batch_seconds`
(failed ones too) and its new messages counted in `chat_messages_stored`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from chat_srv.metrics import Metrics
from chat_srv.store.base import NewMessage, Store, StoredId, StoreUnavailable

log = logging.getLogger(__name__)

Deliver = Callable[[list[tuple[NewMessage, StoredId]]], None]
"""Fans out a committed batch: the new messages (not repeated nonces), in id order."""


@dataclass(slots=True)
class _Pending:
    message: NewMessage
    future: asyncio.Future[StoredId]


class Committer:
    """Batches `NewMessage`s into `Store.add_messages` calls, one at a time."""

    def __init__(
        self, store: Store, max_batch: int, deliver: Deliver, metrics: Metrics | None = None
    ) -> None:
        self._store = store
        self._metrics = metrics if metrics is not None else Metrics()
        self._deliver = deliver
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="group-commit")

    def submit(self, message: NewMessage) -> asyncio.Future[StoredId]:
        """Queue `message`; the future holds its id, or `StoreUnavailable`."""
        future: asyncio.Future[StoredId] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(StoreUnavailable("the server is shutting down"))
            return future
        self._queue.append(_Pending(message, future))
        self._wake.set()
        return future

    async def close(self) -> None:
        """Store what is queued, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            ids = await self._store.add_messages([p.message for p in batch])
        except Exception as error:  # a failed batch fails its senders, not the server
            self._metrics.store_batch_seconds.observe(time.perf_counter() - started)
            if not isinstance(error, StoreUnavailable):
                log.exception("storing %d messages failed", len(batch))
                error = StoreUnavailable(str(error))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        seconds = time.perf_counter() - started
        fresh = [
            (pending.message, stored)
            for pending, stored in zip(batch, ids, strict=True)
            if stored.fresh
        ]
        self._metrics.store_batch_seconds.observe(seconds)
        self._metrics.messages_stored.inc(len(fresh))
        # Counts and times only: a body never reaches the log.
        log.debug(
            "committed a batch of %d messages (%d new) in %.1f ms",
            len(batch),
            len(fresh),
            seconds * 1000,
        )
        if fresh:
            try:
                self._deliver(fresh)
            except Exception:
                log.exception("delivering %d messages failed", len(fresh))
        for pending, stored in zip(batch, ids, strict=True):
            if not pending.future.done():
                pending.future.set_result(stored)
