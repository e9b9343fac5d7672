"""Group commit: concurrent sends are stored together in one transaction.

While one batch is being written, new messages queue up; the next transaction
takes all of them. A message is delivered (fanned out) only after its batch is
committed, and deliveries run in message-id order, before the senders' replies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from chat_srv.store.base import NewMessage, Store, StoredId, StoreUnavailable

log = logging.getLogger(__name__)

Deliver = Callable[[NewMessage, StoredId], None]


@dataclass(slots=True)
class _Pending:
    message: NewMessage
    deliver: Deliver
    future: asyncio.Future[StoredId]


class Committer:
    """Batches `NewMessage`s into `Store.add_messages` calls, one at a time."""

    def __init__(self, store: Store, max_batch: int) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start the writer task."""
        self._task = asyncio.create_task(self._run(), name="group-commit")

    def submit(self, message: NewMessage, deliver: Deliver) -> asyncio.Future[StoredId]:
        """Queue `message`; `deliver` runs once it is stored (not for a repeated nonce).

        The future holds its id, or `StoreUnavailable` if the batch failed.
        """
        future: asyncio.Future[StoredId] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(StoreUnavailable("the server is shutting down"))
            return future
        self._queue.append(_Pending(message, deliver, future))
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
        try:
            ids = await self._store.add_messages([p.message for p in batch])
        except Exception as error:  # a failed batch fails its senders, not the server
            if not isinstance(error, StoreUnavailable):
                log.exception("storing %d messages failed", len(batch))
                error = StoreUnavailable(str(error))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(error)
            return
        for pending, stored in zip(batch, ids, strict=True):
            if stored.fresh:
                try:
                    pending.deliver(pending.message, stored)
                except Exception:
                    log.exception("delivering message %d failed", stored.msg_id)
            if not pending.future.done():
                pending.future.set_result(stored)
