"""Look-alike user names refused by the store itself, on SQLite and MySQL: one account
for look-alikes created at once by several stores on one database (as a cluster's
nodes do), and the keys of the accounts a database held before schema 10."""

from __future__ import annotations

import asyncio
import logging
import unicodedata

import pytest

from chat_srv.lookalikes import lookalike_keys, skeleton
from chat_srv.store import Conflict, Store, UserRecord, open_store
from tests.databases import SCHEMA_VERSIONS, fetch, make_old_database, schema_versions
from tests.store.test_contract import NOW, new_user

LOOK_ALIKES = ["аlice", "ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", "aⅼice", "ɑlice", "alıce", "alicᵉ", "aIice"]


async def _lookalike_of(store: Store, name: str) -> str | None:
    with pytest.raises(Conflict) as refused:
        await store.create_user(name, "$argon2id$hash", NOW, None)
    return refused.value.lookalike_of


@pytest.mark.parametrize("name", LOOK_ALIKES)
async def test_a_look_alike_of_an_account_is_refused(store: Store, name: str) -> None:
    await new_user(store, "alice")
    assert await _lookalike_of(store, name) == "alice"
    assert await _lookalike_of(store, "ALICE") is None  # the same name: its key is taken
    assert [u.name for u in await store.get_users()] == ["alice"]
    await new_user(store, "alicia")  # a name of its own is fine
    await new_user(store, "alice_")


def _readings(name: str) -> tuple[str, str]:
    """A name's two look-alike keys: its skeleton casefolded, the casefolded name's."""
    compatible = unicodedata.normalize("NFKC", name)
    return skeleton(compatible).casefold(), skeleton(compatible.casefold())


async def test_names_that_share_a_key_only_across_readings_look_alike(store: Store) -> None:
    # `aIice` (capital I) and `ALICE`: the one's first reading is the other's second,
    # and they share neither the same way (a column per reading would let both be).
    first, second = _readings("aIice"), _readings("ALICE")
    assert first[0] == second[1]
    assert first[0] != second[0]
    assert first[1] != second[1]
    await new_user(store, "aIice")
    assert await _lookalike_of(store, "ALICE") == "aIice"


async def test_look_alikes_created_at_once_by_several_stores_make_one_account(
    store_db: str,
) -> None:
    stores = [open_store(store_db) for _ in range(3)]
    for s in stores:
        await s.open()
    try:
        names = ["alice", *LOOK_ALIKES]
        results = await asyncio.gather(
            *(
                stores[n % len(stores)].create_user(name, "$argon2id$hash", NOW, None)
                for n, name in enumerate(names)
            ),
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, UserRecord)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(created) == 1
        assert len(refused) == len(names) - 1
        assert {r.lookalike_of for r in refused} == {created[0].name}
        assert [u.name for u in await stores[0].get_users()] == [created[0].name]
    finally:
        for s in stores:
            await s.close()


_V9_ROWS = [
    # Accounts older servers let look alike: `аlice` (Cyrillic а) after `alice`;
    # `aIice` and `ALICE` share one key of two, `alicᵉ` looks like `alice` too.
    "INSERT INTO users (id, name, name_key, password_hash, created_at) VALUES"
    " (1, 'alice', 'alice', 'h', 1), (2, 'аlice', 'аlice', 'h', 2),"
    " (3, 'bob', 'bob', 'h', 3), (4, 'aIice', 'aiice', 'h', 4), (5, 'alicᵉ', 'alicᵉ', 'h', 5)",
]


async def test_the_accounts_of_a_version_9_database_get_their_keys_oldest_first(
    store_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    await make_old_database(store_db, 9, _V9_ROWS)
    caplog.set_level(logging.WARNING, logger="chat_srv.store.migrations")
    store = open_store(store_db)
    await store.open()
    try:
        assert await schema_versions(store_db) == SCHEMA_VERSIONS
        rows = await fetch(store_db, "SELECT lookalike_key, user_id FROM user_lookalikes")
        held = {_text(key): int(user_id) for key, user_id in rows}
        expected: dict[str, int] = {}
        for user_id, name in [(1, "alice"), (2, "аlice"), (3, "bob"), (4, "aIice"), (5, "alicᵉ")]:
            for key in lookalike_keys(name):
                expected.setdefault(key, user_id)
        assert held == expected
        assert set(held.values()) == {1, 3, 4}  # аlice and alicᵉ hold no key of their own
        warned = [r.getMessage() for r in caplog.records if "look-alike" in r.getMessage()]
        assert len(warned) == 3  # аlice, a key of aIice, alicᵉ
        assert all("stays the older account's" in line for line in warned)
        # Every account stays; new look-alikes of any of them are refused.
        assert [u.name for u in await store.get_users()] == [
            "alice",
            "аlice",
            "bob",
            "aIice",
            "alicᵉ",
        ]
        assert await _lookalike_of(store, "ɑlice") == "alice"
        assert await _lookalike_of(store, "ａｌｉｃｅ") == "alice"
        assert await _lookalike_of(store, "aiicе") == "aIice"  # Cyrillic е: its own key
        await new_user(store, "carol")
    finally:
        await store.close()
    rows = await fetch(store_db, "SELECT up_to FROM lookalike_backlog")
    assert rows == [(0,)]
    # Opened again, nothing is added twice, nothing logged again.
    caplog.clear()
    again = open_store(store_db)
    await again.open()
    await again.close()
    assert not [r for r in caplog.records if "look-alike" in r.getMessage()]


def _text(key: object) -> str:
    """A key as read back: text (SQLite) or UTF-8 bytes (MySQL's VARBINARY)."""
    return bytes(key).decode() if isinstance(key, bytes | bytearray) else str(key)
