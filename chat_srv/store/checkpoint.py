"""Copy an SQLite database's write-ahead log back into it beside the writer.

By default the connection that commits does it, in its commit, whenever the log
has grown past 1,000 pages: with a message stored every few tens of microseconds,
that put a copy of the log and an fsync of the database file inside one commit in
every few dozen, on the server's hottest path (benchmarks/RESULTS.md, "Small
rooms"). Here a connection of its own, in a thread of its own, runs a PASSIVE
checkpoint every `every` seconds after a write: it takes no lock that writers
wait for. The writer still checkpoints itself past `WRITER_CHECKPOINT_PAGES`, so
the log stays bounded when writes never pause long enough for this one to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

WRITER_CHECKPOINT_PAGES = 10_000  # the writer's own `wal_autocheckpoint` (40 MB)

_log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints of the database at `path`, while `start`ed, after each `wrote`."""

    def __init__(self, path: str, *, every: float = 0.5) -> None:
        self._path = path
        self._every = every
        self._conn: sqlite3.Connection | None = None
        # One thread: a close queued after a checkpoint runs after it.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._wrote = asyncio.Event()
        self._done = asyncio.Event()  # replaced after each checkpoint
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(self._thread, self._connect)
        self._task = asyncio.create_task(self._run(), name="sqlite-checkpoint")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)

    def wrote(self) -> None:
        """Something was committed: checkpoint within `every` seconds."""
        self._wrote.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wrote.wait()
            await asyncio.sleep(self._every)  # writes in the meantime ride along
            self._wrote.clear()
            try:
                await loop.run_in_executor(self._thread, self._checkpoint)
            except sqlite3.Error as e:  # the writer's own checkpoints still run
                _log.warning("checkpoint of %s failed: %s", self._path, e)
            done, self._done = self._done, asyncio.Event()
            done.set()

    async def checkpointed(self) -> None:
        """Wait for the end of the next checkpoint (one runs only after a write)."""
        await self._done.wait()

    def _checkpoint(self) -> None:
        assert self._conn is not None
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, conn.close)
        self._thread.shutdown(wait=False)
