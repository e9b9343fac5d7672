"""Changes to messages in the store, on SQLite and MySQL: edits, deletions, reactions,
gap-free change ids, replies, and the upgrade of a database made by schema 3."""

from __future__ import annotations

import asyncio

from chat_srv.store import NewMessage, Store, open_store
from chat_srv.store.base import ChangeKind, NewChange, StoredChange
from tests.databases import SCHEMA_VERSIONS, make_old_database, schema_versions
from tests.store.test_contract import NOW, new_user, room_id, to_room, to_user


def edit(msg_id: int, body: str, actor: str = "alice", ts: int = NOW + 1) -> NewChange:
    return NewChange(ChangeKind.EDIT, msg_id, actor, ts, body=body)


def react(msg_id: int, user_id: int, actor: str, emoji: str = "👍", on: bool = True) -> NewChange:
    kind = ChangeKind.REACT if on else ChangeKind.UNREACT
    return NewChange(kind, msg_id, actor, NOW, actor_id=user_id, emoji=emoji)


def delete(msg_id: int, actor: str = "alice") -> NewChange:
    return NewChange(ChangeKind.DELETE, msg_id, actor, NOW)


async def test_edits_reactions_and_deletion(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    first, second = await store.add_messages(
        [to_room(alice, general, "helo"), to_room(alice, general, "other")]
    )
    assert await store.last_change_id() == 0
    results = await store.add_changes(
        [
            edit(first.msg_id, "hello"),
            react(first.msg_id, bob, "bob"),
            react(first.msg_id, alice, "alice"),
            react(first.msg_id, bob, "bob"),  # already on: nothing written
            react(first.msg_id, alice, "alice", "🎉"),
            react(second.msg_id, bob, "bob", on=False),  # not on: nothing written
            edit(second.msg_id + 100, "no such message"),
        ]
    )
    assert results == [
        StoredChange(1),
        StoredChange(2),
        StoredChange(3),
        StoredChange(3, applied=False),
        StoredChange(4),
        StoredChange(4, applied=False),
        None,
    ]
    page, _ = await store.room_history(general, before=None, after=None, limit=10)
    assert (page[0].body, page[0].edited) == ("hello", NOW + 1)
    assert page[0].reactions == {"👍": ["bob", "alice"], "🎉": ["alice"]}
    assert page[1].reactions is None
    assert await store.last_change_id() == 4

    assert await store.add_changes([delete(first.msg_id), edit(first.msg_id, "late")]) == [
        StoredChange(5),
        None,  # deleted in the same batch
    ]
    page, _ = await store.room_history(general, before=None, after=None, limit=10)
    assert (page[0].body, page[0].deleted, page[0].reactions) == ("", True, None)
    ref = await store.message_ref(first.msg_id)
    assert ref is not None
    assert (ref.sender_id, ref.room_id, ref.deleted) == (alice, general, True)
    assert await store.message_ref(second.msg_id + 100) is None


async def test_changes_since_pages_what_the_user_can_read(store: Store) -> None:
    alice, bob, carol = [await new_user(store, n) for n in ("alice", "bob", "carol")]
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    in_general, in_blabla, dm = await store.add_messages(
        [
            to_room(alice, general, "g"),
            to_room(alice, blabla, "b"),
            to_user(alice, bob, "d"),
        ]
    )
    await store.add_changes(
        [edit(m.msg_id, f"{m.msg_id}!") for m in (in_general, in_blabla, dm)]
        + [react(dm.msg_id, bob, "bob")]
    )
    page, more = await store.changes_since(0, bob, [general], limit=2)
    assert [(c.change_id, c.msg_id, c.kind) for c in page] == [
        (1, in_general.msg_id, ChangeKind.EDIT),
        (3, dm.msg_id, ChangeKind.EDIT),
    ]
    assert more
    assert (page[1].sender, page[1].recipient, page[1].room, page[1].body) == (
        "alice",
        "bob",
        None,
        f"{dm.msg_id}!",
    )
    page, more = await store.changes_since(3, bob, [general], limit=2)
    assert [(c.change_id, c.actor, c.emoji) for c in page] == [(4, "bob", "👍")]
    assert not more
    page, _ = await store.changes_since(0, carol, [], limit=10)
    assert page == []
    page, _ = await store.changes_since(0, carol, [blabla, general], limit=10)
    assert [c.change_id for c in page] == [1, 2]


async def test_change_ids_have_no_gaps_with_writers_at_once(store_db: str) -> None:
    """Two stores on one database (two servers) write changes at the same time."""
    stores = [open_store(store_db), open_store(store_db)]
    for store in stores:
        await store.open()
    try:
        alice = await new_user(stores[0], "alice")
        general = await room_id(stores[0], "Général")
        sent = await stores[0].add_messages([to_room(alice, general, f"{i}") for i in range(10)])
        batches = [[edit(s.msg_id, f"{s.msg_id} v{n}") for s in sent[n % 2 :: 2]] for n in range(8)]
        async with asyncio.timeout(60):
            results = await asyncio.gather(
                *(stores[n % 2].add_changes(batch) for n, batch in enumerate(batches))
            )
        ids = sorted(r.change_id for batch in results for r in batch if r is not None)
        assert ids == list(range(1, 41))
        # Within a batch, ids follow each other: a batch is one transaction.
        for batch in results:
            got = [r.change_id for r in batch if r is not None]
            assert got == list(range(got[0], got[0] + len(got)))
        assert await stores[1].last_change_id() == 40
    finally:
        for store in stores:
            await store.close()


async def test_a_reply_must_stay_in_its_room_or_conversation(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    parent, dm = await store.add_messages([to_room(alice, general, "q"), to_user(alice, bob, "d")])

    def reply(to: int, room: int | None = None, peer: int | None = None) -> NewMessage:
        return NewMessage(alice, "re", NOW, room_id=room, recipient_id=peer, reply_to=to)

    results = await store.add_messages(
        [
            reply(parent.msg_id, room=general),
            reply(parent.msg_id, room=blabla),
            reply(dm.msg_id, peer=bob),
            reply(dm.msg_id, room=general),
            reply(dm.msg_id + 50, room=general),
            NewMessage(bob, "back", NOW, recipient_id=alice, reply_to=dm.msg_id, action=True),
        ]
    )
    assert [r.bad_reply for r in results] == [False, True, False, True, True, False]
    assert [r.fresh for r in results] == [True, False, True, False, False, True]
    page, _ = await store.dm_history(alice, bob, before=None, after=None, limit=10)
    assert [(m.body, m.reply_to, m.action) for m in page] == [
        ("d", None, False),
        ("re", dm.msg_id, False),
        ("back", dm.msg_id, True),
    ]


# -- upgrading a database made by the previous schema ------------------------------------

_V3_ROWS = [
    "INSERT INTO users (id, name, name_key, password_hash, created_at) VALUES"
    " (1, 'alice', 'alice', 'h', 1), (2, 'bob', 'bob', 'h', 1)",
    "INSERT INTO rooms (id, name, name_key, approval, created_at) VALUES (1, 'Général',"
    " 'général', 0, 1)",
    "INSERT INTO messages (ts, sender_id, room_id, body) VALUES"
    " (10, 1, 1, 'un'), (11, 2, 1, 'deux')",
    "INSERT INTO messages (ts, sender_id, recipient_id, dm_lo, dm_hi, body) VALUES"
    " (12, 1, 2, 1, 2, 'trois')",
]


async def _make_version_3(db: str) -> None:
    """A database as the previous server left it: schema 1 to 3, with messages."""
    await make_old_database(db, 3, _V3_ROWS)


async def test_a_version_3_database_upgrades_in_place(store_db: str) -> None:
    await _make_version_3(store_db)
    assert await schema_versions(store_db) == [1, 2, 3]
    store = open_store(store_db)
    await store.open()
    try:
        assert await schema_versions(store_db) == SCHEMA_VERSIONS
        page, _ = await store.room_history(1, before=None, after=None, limit=10)
        assert [(m.msg_id, m.ts, m.sender, m.body) for m in page] == [
            (1, 10, "alice", "un"),
            (2, 11, "bob", "deux"),
        ]
        assert all(
            (m.reply_to, m.action, m.edited, m.deleted, m.reactions)
            == (None, False, None, False, None)
            for m in page
        )
        dms, _ = await store.dm_history(1, 2, before=None, after=None, limit=10)
        assert [(m.msg_id, m.body, m.recipient) for m in dms] == [(3, "trois", "bob")]
        # The old messages take part in the new features.
        assert await store.add_changes([edit(1, "un !"), react(3, 2, "bob")]) == [
            StoredChange(1),
            StoredChange(2),
        ]
        (stored,) = await store.add_messages([to_room(2, 1, "re", ts=13)])
        assert stored.msg_id == 4
    finally:
        await store.close()
