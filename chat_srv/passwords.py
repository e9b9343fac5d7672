"""Password hashing with argon2id, off the event loop, in a bounded pool of its own.

Each argon2id computation holds `memory_kib` of memory (64 MiB by default) for its
whole run, so the number running at once is what bounds the server's memory under
a storm of logins. They run in a pool of `workers` threads of their own (not the
loop's default executor, whose size follows the core count times five); at most
`queue` more wait their turn. Past that, `HasherBusy` says how long to wait, and
the service answers `rate_limited`: a storm is refused early instead of queued
without end.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2

from chat_srv.config import Argon2Params

T = TypeVar("T")

_SMOOTHING = 0.2  # weight of the newest duration in the running mean


class HasherBusy(Exception):
    """Every hashing worker is busy and the queue is full."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"password hashing is busy; retry in {retry_after:.1f} s")
        self.retry_after = retry_after

    @property
    def retry_after_ms(self) -> int:
        """`retry_after` in whole milliseconds, at least 1."""
        return max(1, math.ceil(self.retry_after * 1000))


class PasswordHasher:
    """Hash and verify passwords in `workers` threads, with at most `queue` waiting."""

    def __init__(self, params: Argon2Params, *, workers: int = 1, queue: int = 0) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("the hashing pool needs at least one worker and a queue of 0 or more")
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        self.workers = workers
        self.capacity = workers + queue  # jobs running or waiting
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._jobs = 0  # running or waiting now
        start = time.perf_counter()
        # Verifying against this when the user does not exist keeps the answer's
        # timing from telling whether a name is registered.
        self._decoy = self._hasher.hash("not a real password")
        self._seconds = time.perf_counter() - start  # running mean of one job's duration

    @property
    def jobs(self) -> int:
        """Hash or verify jobs running or waiting now."""
        return self._jobs

    @property
    def job_seconds(self) -> float:
        """How long one job takes, on a running mean of the last ones."""
        return self._seconds

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password`.

        Raises:
            HasherBusy: the pool and its queue are full.
        """
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; a None hash costs the same and is False.

        Raises:
            HasherBusy: the pool and its queue are full.
        """
        return await self._run(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)

    def close(self) -> None:
        """Stop the pool's threads once their current job is done; drop waiting jobs."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._decoy, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
        return password_hash is not None

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        if self._jobs >= self.capacity:
            # The jobs ahead, shared by the workers, then this one.
            ahead = self._jobs - self.workers + 1
            raise HasherBusy(self._seconds * max(1, ahead) / self.workers)
        self._jobs += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._timed, work, *args
            )
        finally:
            self._jobs -= 1

    def _timed(self, work: Callable[..., T], *args: object) -> T:
        """Run `work` (in a pool thread) and fold its duration into the mean."""
        start = time.perf_counter()
        try:
            return work(*args)
        finally:
            elapsed = time.perf_counter() - start
            self._seconds += _SMOOTHING * (elapsed - self._seconds)
