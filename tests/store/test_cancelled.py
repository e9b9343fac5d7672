"""A caller that goes away never leaves the store half-way: cancelled writes, both backends.

A request's store work runs on when its connection closes under it: the caller is
cancelled while it waits, and the store must still commit or roll back, so that
the next operation finds it as usual (not "a transaction within a transaction").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from chat_srv.store import MembershipState, NewMessage, SanctionKind, Store
from tests.store.test_contract import NOW, new_user, room_id, to_room

Write = Callable[[Store, int, int, int], Awaitable[object]]  # store, user, room, attempt

WRITES: dict[str, Write] = {
    "create_user": lambda s, u, r, n: s.create_user(f"new{n}", "$argon2id$h", NOW, "192.0.2.9"),
    "record_login": lambda s, u, r, n: s.record_login(u, f"192.0.2.{n}", NOW),
    "set_password_hash": lambda s, u, r, n: s.set_password_hash(u, f"$argon2id${n}"),
    "set_membership": lambda s, u, r, n: s.set_membership(u, r, MembershipState.MEMBER, NOW),
    "delete_membership": lambda s, u, r, n: s.delete_membership(u, r),
    "add_messages": lambda s, u, r, n: s.add_messages([to_room(u, r, "cancelled?", f"c{n}")]),
    "mark_room_read": lambda s, u, r, n: s.mark_room_read(u, r, n),
    "mark_dm_read": lambda s, u, r, n: s.mark_dm_read(u, u, n + 1),
    "add_sanction": lambda s, u, r, n: s.add_sanction(SanctionKind.KICK, "x", NOW, "r", "t", NOW),
    "lift_sanctions": lambda s, u, r, n: s.lift_sanctions(SanctionKind.KICK, "x", NOW),
    "create_room": lambda s, u, r, n: s.create_room(f"Room{n}", False),
}


@pytest.mark.parametrize("write", sorted(WRITES))
async def test_a_cancelled_write_leaves_the_store_usable(store: Store, write: str) -> None:
    alice = await new_user(store, "alice")
    general = await room_id(store, "Général")
    # Cancelled at each of its first awaits in turn: before, during and after BEGIN.
    for steps in range(4):
        task = asyncio.ensure_future(WRITES[write](store, alice, general, steps))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        async with asyncio.timeout(10):
            [stored] = await store.add_messages(
                [NewMessage(sender_id=alice, body=f"after {steps}", ts=NOW, room_id=general)]
            )
        assert stored.fresh
    page, _ = await store.room_history(general, before=None, after=None, limit=50)
    after = [m.body for m in page if m.body.startswith("after")]
    assert after == [f"after {steps}" for steps in range(4)]
