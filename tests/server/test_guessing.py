"""Password guessing: limits that hold in parallel, a hashing pool with a ceiling, and
owners who are not locked out by strangers' guesses.

Other source addresses are other loopback addresses (the whole of 127/8 is loopback
on Linux): every connection still goes to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_srv.config import Argon2Params
from chat_srv.passwords import HasherBusy, PasswordHasher
from tests.helpers import FAST_ARGON2, PASSWORD, Client, register, running_server

STRANGER = "127.0.0.2"
ELSEWHERE = "127.0.0.3"
WRONG = "not the password"
# Hashing slow enough (16 MiB) that logins sent at once are checked at the same time.
SLOW_ARGON2 = Argon2Params(time_cost=2, memory_kib=16 * 1024, parallelism=1)


async def _answer(port: int, source: str, user: str, password: str) -> str:
    """The code of a login's answer (`ok` for a success), on a connection of its own."""
    client = await Client.connect(port, source=source)
    try:
        reply = await client.read_reply(
            await client.send_request(m.Login, user=user, password=password)
        )
        return "ok" if reply.ok else str(reply.fields["code"])
    finally:
        await client.close()


async def test_guesses_sent_at_once_are_held_to_the_limit(db_path: str) -> None:
    async with running_server(db_path, argon2=SLOW_ARGON2, login_failures_per_user=5) as server:
        await (await register(server.port, "victim")).close()
        clients = [await Client.connect(server.port, source=STRANGER) for _ in range(60)]
        ids = [await c.send_request(m.Login, user="victim", password=WRONG) for c in clients]
        replies = [await c.read_reply(i) for c, i in zip(clients, ids, strict=True)]
        codes = [r.fields["code"] for r in replies]
        # Counted when they start: only five are ever checked, the rest wait.
        assert codes.count(ErrorCode.AUTH_FAILED) == 5
        assert codes.count(ErrorCode.RATE_LIMITED) == 55
        waits = [r.fields["retry_after_ms"] for r in replies if r.fields["code"] == "rate_limited"]
        assert all(0 < wait <= 60_000 for wait in waits)
        for client in clients:
            await client.close()


async def test_an_owner_is_not_locked_out_by_strangers(any_db: str) -> None:
    async with running_server(any_db, login_failures_per_user=5) as server:
        await (await register(server.port, "owner")).close()  # from 127.0.0.1
        for _ in range(5):
            assert await _answer(server.port, STRANGER, "owner", WRONG) == ErrorCode.AUTH_FAILED
        assert await _answer(server.port, STRANGER, "owner", WRONG) == ErrorCode.RATE_LIMITED
        # Strangers are held back, even with the right password, from anywhere new...
        assert await _answer(server.port, ELSEWHERE, "owner", PASSWORD) == ErrorCode.RATE_LIMITED
        # ...but not the owner, from an address they have logged in from before.
        assert await _answer(server.port, "127.0.0.1", "owner", PASSWORD) == "ok"


async def test_an_owners_own_address_has_a_budget_of_its_own(any_db: str) -> None:
    async with running_server(any_db, login_failures_per_user=3) as server:
        await (await register(server.port, "owner")).close()
        for _ in range(3):
            assert await _answer(server.port, "127.0.0.1", "owner", WRONG) == "auth_failed"
        # Guessing from the owner's address is limited there...
        assert await _answer(server.port, "127.0.0.1", "owner", PASSWORD) == "rate_limited"
        # ...and spends nothing of the strangers' budget: from elsewhere, it still works.
        assert await _answer(server.port, STRANGER, "owner", PASSWORD) == "ok"


async def test_a_success_does_not_count_against_the_address(db_path: str) -> None:
    async with running_server(db_path, login_failures_per_ip=2) as server:
        for name in ("a1", "a2", "a3"):
            await (await register(server.port, name)).close()
        # Three users log in for the first time from one new address: no failures.
        for name in ("a1", "a2", "a3"):
            assert await _answer(server.port, STRANGER, name, PASSWORD) == "ok"


async def test_the_hashing_pool_refuses_what_it_cannot_queue() -> None:
    hasher = PasswordHasher(FAST_ARGON2, workers=1, queue=1)
    try:
        stored = await hasher.hash(PASSWORD)
        results = await asyncio.gather(
            *(hasher.verify(stored, PASSWORD) for _ in range(5)), return_exceptions=True
        )
        # One runs, one waits: admitted at once, before any finished.
        assert results[:2] == [True, True]
        busy = results[2:]
        assert all(isinstance(r, HasherBusy) for r in busy)
        assert all(r.retry_after_ms >= 1 for r in busy if isinstance(r, HasherBusy))
        assert hasher.jobs == 0
        assert await hasher.verify(stored, PASSWORD)  # and serves again once free
    finally:
        hasher.close()


def test_the_hashing_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        PasswordHasher(FAST_ARGON2, workers=0)


async def test_a_login_storm_is_answered_rate_limited_past_the_pool(db_path: str) -> None:
    settings: dict[str, Any] = {"argon2": SLOW_ARGON2, "hash_workers": 1, "hash_queue": 0}
    async with running_server(db_path, **settings) as server:
        names = [f"u{n}" for n in range(8)]
        for name in names:
            await (await register(server.port, name)).close()
        clients = [await Client.connect(server.port, source=STRANGER) for _ in names]
        ids = [
            await c.send_request(m.Login, user=name, password=PASSWORD)
            for c, name in zip(clients, names, strict=True)
        ]
        replies = [await c.read_reply(i) for c, i in zip(clients, ids, strict=True)]
        refused = [r.fields for r in replies if not r.ok]
        assert any(r.ok for r in replies)
        assert refused, "every login was checked at once"
        assert {r["code"] for r in refused} == {ErrorCode.RATE_LIMITED}
        assert all(r["retry_after_ms"] > 0 for r in refused)
        # A refusal for a busy pool is no failed attempt: each user gets in afterwards.
        for client, name, reply in zip(clients, names, replies, strict=True):
            if not reply.ok:
                await client.call(m.Login, user=name, password=PASSWORD)
        for client in clients:
            await client.close()


async def test_registration_waits_its_turn_for_the_pool_too(db_path: str) -> None:
    settings: dict[str, Any] = {"argon2": SLOW_ARGON2, "hash_workers": 1, "hash_queue": 0}
    async with running_server(db_path, **settings) as server:
        clients = [await Client.connect(server.port, source=STRANGER) for _ in range(6)]
        ids = [
            await c.send_request(m.Register, user=f"new{n}", password=PASSWORD)
            for n, c in enumerate(clients)
        ]
        errors: list[ProtocolError] = []
        for client, request_id in zip(clients, ids, strict=True):
            reply = await client.read_reply(request_id)
            if not reply.ok:
                try:
                    reply.result(m.Ok)
                except ProtocolError as error:
                    errors.append(error)
        assert errors
        assert {e.code for e in errors} == {ErrorCode.RATE_LIMITED}
        created = len(clients) - len(errors)
        assert len(server.service.users) == created  # a refused one made nothing
        for client in clients:
            await client.close()


async def test_logins_held_back_by_others_in_flight_are_told_to_come_back_soon(
    db_path: str,
) -> None:
    settings: dict[str, Any] = {"argon2": SLOW_ARGON2, "login_failures_per_user": 5}
    async with running_server(db_path, **settings) as server:
        await register(server.port, "bouncer")
        clients = [await Client.connect(server.port) for _ in range(12)]
        ids = [await c.send_request(m.Login, user="bouncer", password=PASSWORD) for c in clients]
        replies = [await c.read_reply(i) for c, i in zip(clients, ids, strict=True)]
        waiting = [(c, r) for c, r in zip(clients, replies, strict=True) if not r.ok]
        assert waiting, "twelve logins at once were all checked at once"
        # Nothing failed: they only wait for the five being checked, a moment.
        assert all(r.fields["retry_after_ms"] < 5_000 for _, r in waiting)
        for client, _ in waiting:  # one at a time, as a client that waited would
            await client.call(m.Login, user="bouncer", password=PASSWORD)
        assert len(server.hub.user_connections(server.service.users["bouncer"].id)) == 13
