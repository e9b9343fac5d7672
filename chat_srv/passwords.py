"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import asyncio

import argon2

from chat_srv.config import Argon2Params


class PasswordHasher:
    """Hash and verify passwords in a worker thread so the loop never stalls."""

    def __init__(self, params: Argon2Params) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        # Verifying against this when the user does not exist keeps the answer's
        # timing from telling whether a name is registered.
        self._decoy = self._hasher.hash("not a real password")

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password`."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; a None hash costs the same and is False."""
        return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._decoy, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)
