"""Group commit: concurrent writes are stored together in one transaction.

While one batch is being written, new items queue up; the next transaction takes
all of them. An item is delivered (fanned out) only after its batch is committed:
the whole batch is handed over at once, in order, before the writers' replies.
The service runs two: one for new messages, one for changes to them (edits,
deletions, reactions). Each batch's time is observed in `chat_store_batch_seconds`
(failed ones too); the service counts new messages in `chat_messages_stored`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from chat_srv.metrics import Metrics
from chat_srv.store.base import StoreUnavailable

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

Write = Callable[[list[ItemT]], Awaitable[list[ResultT]]]
"""Stores a batch in one transaction; one result per item, in order."""

Deliver = Callable[[list[tuple[ItemT, ResultT]]], None]
"""Fans out a committed batch: the items that changed something, in order."""


@dataclass(slots=True)
class _Pending(Generic[ItemT, ResultT]):
    item: ItemT
    future: asyncio.Future[ResultT]


class Committer(Generic[ItemT, ResultT]):
    """Batches items into calls of `write` (say `Store.add_messages`), one at a time.

    `fresh` says which results changed something (a repeated nonce did not): only
    those are delivered, and counted by `stored` when given.
    """

    def __init__(
        self,
        write: Write[ItemT, ResultT],
        max_batch: int,
        deliver: Deliver[ItemT, ResultT],
        metrics: Metrics | None = None,
        *,
        fresh: Callable[[ResultT], bool],
        stored: Callable[[int], None] | None = None,
        what: str = "messages",
    ) -> None:
        self._write = write
        self._metrics = metrics if metrics is not None else Metrics()
        self._deliver = deliver
        self._fresh = fresh
        self._stored = stored
        self._what = what  # for the log
        self._max_batch = max_batch
        self._queue: list[_Pending[ItemT, ResultT]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="group-commit")

    def submit(self, item: ItemT) -> asyncio.Future[ResultT]:
        """Queue `item`; the future holds its result, or `StoreUnavailable`."""
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(StoreUnavailable("the server is shutting down"))
            return future
        self._queue.append(_Pending(item, future))
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

    async def _commit(self, batch: list[_Pending[ItemT, ResultT]]) -> None:
        started = time.perf_counter()
        try:
            results = await self._write([p.item for p in batch])
        except Exception as error:  # a failed batch fails its writers, not the server
            self._metrics.store_batch_seconds.observe(time.perf_counter() - started)
            if not isinstance(error, StoreUnavailable):
                log.exception("storing %d %s failed", len(batch), self._what)
                error = StoreUnavailable(str(error))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        seconds = time.perf_counter() - started
        fresh = [
            (pending.item, result)
            for pending, result in zip(batch, results, strict=True)
            if self._fresh(result)
        ]
        self._metrics.store_batch_seconds.observe(seconds)
        if self._stored is not None:
            self._stored(len(fresh))
        # Counts and times only: a body never reaches the log.
        log.debug(
            "committed a batch of %d %s (%d new) in %.1f ms",
            len(batch),
            self._what,
            len(fresh),
            seconds * 1000,
        )
        if fresh:
            try:
                self._deliver(fresh)
            except Exception:
                log.exception("delivering %d %s failed", len(fresh), self._what)
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
