"""The store contract: every `Store` operation, the same tests on SQLite and MySQL."""

from __future__ import annotations

import asyncio
import unicodedata

import pytest

from chat_core.names import name_key
from chat_srv.store import (
    Conflict,
    DmUnread,
    MembershipState,
    NewMessage,
    RoomUnread,
    SanctionKind,
    Store,
    StoredId,
    StoreError,
    open_store,
)
from tests.databases import SCHEMA_VERSIONS, schema_versions

NOW = 1_700_000_000_000
MEMBER = MembershipState.MEMBER
PENDING = MembershipState.PENDING
DEFAULT_ROOMS = [
    ("Blabla", False),
    ("Comptabilité", True),
    ("Général", False),
    ("Informatique", True),
    ("Marketing", True),
]


async def new_user(store: Store, name: str) -> int:
    return (await store.create_user(name, "$argon2id$hash", NOW, "192.0.2.1")).id


async def new_room(store: Store, name: str, approval: bool = False) -> int:
    return (await store.create_room(name, approval)).id


async def room_id(store: Store, name: str) -> int:
    return next(r.id for r in await store.get_rooms() if name_key(r.name) == name_key(name))


def to_room(
    sender: int, room: int, body: str, nonce: str | None = None, ts: int = NOW
) -> NewMessage:
    return NewMessage(sender_id=sender, body=body, ts=ts, room_id=room, nonce=nonce)


def to_user(sender: int, recipient: int, body: str, nonce: str | None = None) -> NewMessage:
    return NewMessage(sender_id=sender, body=body, ts=NOW, recipient_id=recipient, nonce=nonce)


# -- lifecycle -------------------------------------------------------------------


async def test_default_rooms(store: Store) -> None:
    rooms = await store.get_rooms()
    assert [(r.name, r.approval) for r in rooms] == DEFAULT_ROOMS


async def test_reopen_keeps_data_and_applies_nothing_twice(store_db: str) -> None:
    first = open_store(store_db)
    await first.open()
    try:
        alice = await new_user(first, "alice")
        general = await room_id(first, "Général")
        [stored] = await first.add_messages([to_room(alice, general, "bonjour", nonce="n1")])
    finally:
        await first.close()

    again = open_store(store_db)
    await again.open()
    try:
        assert [(r.name, r.approval) for r in await again.get_rooms()] == DEFAULT_ROOMS
        assert [u.name for u in await again.get_users()] == ["alice"]
        page, more = await again.room_history(general, before=None, after=None, limit=10)
        assert [(m.msg_id, m.body) for m in page] == [(stored.msg_id, "bonjour")]
        assert not more
        [dup] = await again.add_messages([to_room(alice, general, "bonjour", nonce="n1")])
        assert dup == StoredId(stored.msg_id, stored.ts, False)
    finally:
        await again.close()
    assert await schema_versions(store_db) == SCHEMA_VERSIONS


async def test_concurrent_opens_migrate_once(store_db: str) -> None:
    stores = [open_store(store_db) for _ in range(3)]
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(s.open() for s in stores))
        for s in stores:
            assert [r.name for r in await s.get_rooms()] == [name for name, _ in DEFAULT_ROOMS]
    finally:
        for s in stores:
            await s.close()
    assert await schema_versions(store_db) == SCHEMA_VERSIONS


async def test_close_twice_and_use_after_close(store_db: str) -> None:
    s = open_store(store_db)
    await s.open()
    await s.close()
    await s.close()
    with pytest.raises(StoreError, match="not open"):
        await s.get_rooms()


# -- users -------------------------------------------------------------------------


async def test_create_and_get_user(store: Store) -> None:
    created = await store.create_user("Zoë", "h1", NOW, "2001:db8::1")
    assert (created.name, created.password_hash, created.created_at) == ("Zoë", "h1", NOW)
    assert created.last_ip == "2001:db8::1"
    assert await store.get_user("ZOË") == created
    assert await store.get_user("zoe\u0308") == created  # decomposed ë
    assert await store.get_user("zoe") is None
    bob = await store.create_user("bob", "h2", NOW + 1, None)
    assert bob.last_ip is None
    assert await store.get_users() == [created, bob]


@pytest.mark.parametrize("other", ["GÉNÉRAL", "général", unicodedata.normalize("NFD", "Général")])
async def test_user_names_are_unique_by_key(store: Store, other: str) -> None:
    await new_user(store, "Général")
    with pytest.raises(Conflict):
        await store.create_user(other, "h", NOW, None)
    assert [u.name for u in await store.get_users()] == ["Général"]


async def test_casefold_is_the_key(store: Store) -> None:
    await new_user(store, "Straße")
    with pytest.raises(Conflict):
        await new_user(store, "STRASSE")
    user = await store.get_user("strasse")
    assert user is not None
    assert user.name == "Straße"


async def test_set_password_hash_and_record_login(store: Store) -> None:
    alice = await new_user(store, "alice")
    await store.set_password_hash(alice, "$argon2id$new")
    await store.record_login(alice, "198.51.100.7", NOW + 5)
    user = await store.get_user("alice")
    assert user is not None
    assert (user.password_hash, user.last_ip, user.created_at) == (
        "$argon2id$new",
        "198.51.100.7",
        NOW,
    )


# -- rooms -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["GÉNÉRAL", "général", unicodedata.normalize("NFD", "Général")])
async def test_room_names_are_unique_by_key(store: Store, name: str) -> None:
    with pytest.raises(Conflict):
        await store.create_room(name, True)
    assert len(await store.get_rooms()) == len(DEFAULT_ROOMS)


async def test_rooms_sorted_by_key(store: Store) -> None:
    created = await store.create_room("Café", True)
    assert created.name == "Café"
    assert created.approval
    for name in ["zèbre", "Zoo", "apple", "Éclair", "東京", "_misc"]:
        await store.create_room(name, False)
    names = [r.name for r in await store.get_rooms()]
    assert names == sorted(names, key=name_key)
    assert len({r.id for r in await store.get_rooms()}) == len(names)


# -- memberships ---------------------------------------------------------------------


async def test_memberships(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general, compta = await room_id(store, "Général"), await room_id(store, "Comptabilité")
    empty = await new_room(store, "empty")
    await store.add_messages([to_room(bob, compta, f"c{i}") for i in range(3)])
    ids = await store.add_messages([to_room(bob, general, "g1"), to_room(bob, general, "g2")])
    await store.add_messages([to_room(bob, compta, "later, elsewhere")])

    joined = await store.set_membership(alice, general, MEMBER, NOW)
    assert (joined.state, joined.read_marker, joined.since) == (MEMBER, ids[-1].msg_id, NOW)
    pending = await store.set_membership(alice, compta, PENDING, NOW + 1)
    assert (pending.state, pending.read_marker) == (PENDING, 0)
    assert (await store.set_membership(alice, empty, MEMBER, NOW)).read_marker == 0

    # Asking again changes nothing; joining twice keeps the marker and the date.
    assert await store.set_membership(alice, compta, PENDING, NOW + 9) == pending
    await store.add_messages([to_room(bob, general, "g3")])
    assert await store.set_membership(alice, general, MEMBER, NOW + 9) == joined

    # Accepting a pending request puts the marker at the newest message.
    [last_compta] = await store.add_messages([to_room(bob, compta, "c-last")])
    accepted = await store.set_membership(alice, compta, MEMBER, NOW + 2)
    assert (accepted.state, accepted.read_marker, accepted.since) == (
        MEMBER,
        last_compta.msg_id,
        NOW + 2,
    )

    rows = await store.get_memberships()
    assert {(m.user_id, m.room_id, m.state, m.read_marker) for m in rows} == {
        (alice, general, MEMBER, ids[-1].msg_id),
        (alice, compta, MEMBER, last_compta.msg_id),
        (alice, empty, MEMBER, 0),
    }
    assert await store.delete_membership(alice, compta)
    assert not await store.delete_membership(alice, compta)
    assert not await store.delete_membership(bob, general)
    assert {m.room_id for m in await store.get_memberships()} == {general, empty}


async def test_membership_of_unknown_room_is_refused(store: Store) -> None:
    alice = await new_user(store, "alice")
    with pytest.raises(StoreError):
        await store.set_membership(alice, 999_999, MEMBER, NOW)
    assert await store.get_memberships() == []


# -- messages ------------------------------------------------------------------------


async def test_ids_increase_across_rooms_and_dms(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    batch = [
        to_room(alice, general, "1"),
        to_user(alice, bob, "2"),
        to_room(bob, blabla, "3"),
        to_user(bob, alice, "4"),
        to_room(alice, general, "5"),
    ]
    first = await store.add_messages(batch)
    second = await store.add_messages(batch[::-1])
    ids = [s.msg_id for s in first + second]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(s.fresh and s.ts == NOW for s in first + second)


async def test_a_batch_larger_than_one_statement(store: Store) -> None:
    # The SQLite store inserts at most 1,000 rows a statement: 2,345 messages take
    # three, and still get consecutive ids, in the batch's order.
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    batch = [
        to_user(alice, bob, f"dm {n}") if n % 7 == 0 else to_room(alice, general, f"room {n}")
        for n in range(2345)
    ]
    ids = [s.msg_id for s in await store.add_messages(batch)]
    assert ids == list(range(ids[0], ids[0] + len(batch)))
    page, _ = await store.room_history(general, before=None, after=None, limit=50)
    assert [(m.msg_id, m.body) for m in page] == [
        (ids[n], f"room {n}") for n in range(2345) if n % 7 != 0
    ][-50:]


async def test_add_messages_empty_batch(store: Store) -> None:
    assert await store.add_messages([]) == []


async def test_message_needs_one_target(store: Store) -> None:
    alice = await new_user(store, "alice")
    general = await room_id(store, "Général")
    both = NewMessage(sender_id=alice, body="x", ts=NOW, room_id=general, recipient_id=alice)
    with pytest.raises(ValueError):
        await store.add_messages([both])
    with pytest.raises(ValueError):
        await store.add_messages([NewMessage(sender_id=alice, body="x", ts=NOW)])


async def test_nonce_dedupe_across_calls(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    [first] = await store.add_messages([to_room(alice, general, "hello", nonce="n-1", ts=NOW)])
    assert first.fresh
    again = await store.add_messages(
        [
            to_room(alice, general, "hello", nonce="n-1", ts=NOW + 50),
            to_room(bob, general, "same nonce, other sender", nonce="n-1"),
            to_room(alice, general, "no nonce"),
            to_room(alice, general, "no nonce"),
            to_room(alice, general, "trailing space is another nonce", nonce="n-1 "),
            to_room(alice, general, "hello again", nonce="n-1"),
            to_user(alice, bob, "hello", nonce="n-1"),
        ]
    )
    # The same send again: the original. The nonce with another body or another
    # target: the original too, but marked as reused, and nothing stored.
    assert again[0] == StoredId(first.msg_id, NOW, False)
    assert again[5] == StoredId(first.msg_id, NOW, False, reused=True)
    assert again[6] == StoredId(first.msg_id, NOW, False, reused=True)
    assert [s.fresh for s in again] == [False, True, True, True, True, False, False]
    page, _ = await store.room_history(general, before=None, after=None, limit=50)
    assert [m.body for m in page] == [
        "hello",
        "same nonce, other sender",
        "no nonce",
        "no nonce",
        "trailing space is another nonce",
    ]


async def test_nonce_dedupe_within_a_batch(store: Store) -> None:
    alice = await new_user(store, "alice")
    general = await room_id(store, "Général")
    results = await store.add_messages(
        [
            to_room(alice, general, "one", nonce="a", ts=NOW),
            to_room(alice, general, "two", nonce="b", ts=NOW + 1),
            to_room(alice, general, "one", nonce="a", ts=NOW + 2),
            to_room(alice, general, "one", nonce="a", ts=NOW + 3),
            to_room(alice, general, "not one", nonce="a", ts=NOW + 4),
        ]
    )
    one, two = results[0], results[1]
    assert one.fresh
    assert two.fresh
    assert one.msg_id < two.msg_id
    assert results[2:4] == [StoredId(one.msg_id, NOW, False)] * 2
    assert results[4] == StoredId(one.msg_id, NOW, False, reused=True)
    page, _ = await store.room_history(general, before=None, after=None, limit=50)
    assert [m.body for m in page] == ["one", "two"]


async def test_unicode_round_trip(store: Store) -> None:
    name = "Zoë_東京"
    zoe = await new_user(store, name)
    room = await new_room(store, "Café_😀")
    bodies = ["Général 😀", "中文 한국어 日本語", "😀" * 4000, "é" * 4000, "tab\tand\nnewline"]
    await store.add_messages([to_room(zoe, room, b) for b in bodies])
    page, _ = await store.room_history(room, before=None, after=None, limit=50)
    assert [m.body for m in page] == bodies
    assert {(m.sender, m.room, m.recipient) for m in page} == {(name, "Café_😀", None)}
    user = await store.get_user("ZOË_東京")
    assert user is not None
    assert user.name == name
    [first] = await store.add_messages([to_room(zoe, room, "x", nonce="ñ😀東")])
    [again] = await store.add_messages([to_room(zoe, room, "x", nonce="ñ😀東")])
    assert again == StoredId(first.msg_id, first.ts, False)
    [other] = await store.add_messages([to_room(zoe, room, "x", nonce="n😀東")])
    assert other.fresh


# -- history ---------------------------------------------------------------------


async def fill_room(store: Store, count: int) -> tuple[int, list[int]]:
    """A room with `count` messages, interleaved with traffic elsewhere."""
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    room, other = await room_id(store, "Général"), await room_id(store, "Blabla")
    ids: list[int] = []
    for start in range(0, count, 100):
        batch: list[NewMessage] = []
        for i in range(start, min(start + 100, count)):
            batch.append(to_room(alice if i % 3 else bob, room, f"m{i}"))
            if i % 7 == 0:
                batch.append(to_room(bob, other, f"elsewhere {i}"))
            if i % 11 == 0:
                batch.append(to_user(alice, bob, f"dm {i}"))
        stored = await store.add_messages(batch)
        ids += [s.msg_id for s, m in zip(stored, batch, strict=True) if m.room_id == room]
    return room, ids


async def test_room_history_pages_backwards(store: Store) -> None:
    room, ids = await fill_room(store, 1000)
    seen: list[int] = []
    before: int | None = None
    pages = 0
    for _ in range(len(ids)):  # at most a page per message: a paging bug fails, never hangs
        page, more = await store.room_history(room, before=before, after=None, limit=37)
        pages += 1
        page_ids = [m.msg_id for m in page]
        assert page_ids == sorted(page_ids)
        assert all(m.room == "Général" and m.recipient is None for m in page)
        seen = page_ids + seen
        if not more:
            break
        assert len(page) == 37
        before = page_ids[0]
    assert seen == ids
    assert pages == -(-1000 // 37)
    page, more = await store.room_history(room, before=ids[3], after=None, limit=5)
    assert ([m.body for m in page], more) == (["m0", "m1", "m2"], False)


async def test_room_history_pages_forwards(store: Store) -> None:
    room, ids = await fill_room(store, 1000)
    seen: list[int] = []
    after = 0
    for _ in range(len(ids)):
        page, more = await store.room_history(room, before=None, after=after, limit=50)
        seen += [m.msg_id for m in page]
        if not more:
            break
        assert len(page) == 50
        after = page[-1].msg_id
    assert seen == ids
    page, more = await store.room_history(room, before=None, after=ids[-1], limit=50)
    assert (page, more) == ([], False)
    page, more = await store.room_history(room, before=None, after=ids[-3], limit=2)
    assert ([m.msg_id for m in page], more) == (ids[-2:], False)
    page, more = await store.room_history(room, before=None, after=ids[-4], limit=2)
    assert ([m.msg_id for m in page], more) == (ids[-3:-1], True)


async def test_room_history_edges(store: Store) -> None:
    room, ids = await fill_room(store, 10)
    page, more = await store.room_history(room, before=None, after=None, limit=200)
    assert ([m.msg_id for m in page], more) == (ids, False)
    page, more = await store.room_history(room, before=None, after=None, limit=10)
    assert ([m.msg_id for m in page], more) == (ids, False)
    page, more = await store.room_history(room, before=None, after=None, limit=9)
    assert ([m.msg_id for m in page], more) == (ids[1:], True)
    page, more = await store.room_history(room, before=ids[0], after=None, limit=9)
    assert (page, more) == ([], False)
    empty = await new_room(store, "empty")
    assert await store.room_history(empty, before=None, after=None, limit=50) == ([], False)
    assert await store.room_history(empty, before=None, after=0, limit=5) == ([], False)


async def test_dm_history(store: Store) -> None:
    alice, bob, carol = [await new_user(store, n) for n in ("alice", "bob", "carol")]
    general = await room_id(store, "Général")
    batch = []
    for i in range(120):
        batch.append(to_user(alice, bob, f"a{i}") if i % 2 else to_user(bob, alice, f"b{i}"))
        batch.append(to_user(alice, carol, f"c{i}"))
        batch.append(to_room(alice, general, f"r{i}"))
    stored = await store.add_messages(batch)
    expected = [
        s.msg_id
        for s, m in zip(stored, batch, strict=True)
        if {m.sender_id, m.recipient_id} == {alice, bob}
    ]
    for me, peer in ((alice, bob), (bob, alice)):
        seen: list[int] = []
        before: int | None = None
        for _ in range(len(expected)):
            page, more = await store.dm_history(me, peer, before=before, after=None, limit=50)
            seen = [m.msg_id for m in page] + seen
            if not more:
                break
            before = page[0].msg_id
        assert seen == expected
    page, more = await store.dm_history(bob, alice, before=None, after=0, limit=4)
    assert more
    assert [(m.sender, m.recipient, m.room, m.body) for m in page] == [
        ("bob", "alice", None, "b0"),
        ("alice", "bob", None, "a1"),
        ("bob", "alice", None, "b2"),
        ("alice", "bob", None, "a3"),
    ]
    assert await store.dm_history(bob, carol, before=None, after=None, limit=5) == ([], False)


async def test_messages_since(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    await store.add_messages(
        [
            to_room(alice, general, "old", ts=NOW - 10),
            to_room(alice, general, "g", ts=NOW),
            to_room(bob, blabla, "b", ts=NOW + 1),
            NewMessage(sender_id=bob, body="dm", ts=NOW + 2, recipient_id=alice),
        ]
    )
    everything = await store.messages_since(NOW)
    assert [(m.body, m.sender, m.room, m.recipient, m.ts) for m in everything] == [
        ("g", "alice", "Général", None, NOW),
        ("b", "bob", "Blabla", None, NOW + 1),
        ("dm", "bob", None, "alice", NOW + 2),
    ]
    assert [m.body for m in await store.messages_since(NOW - 10, general)] == ["old", "g"]
    assert await store.messages_since(NOW + 3) == []


# -- read markers and unread counts ---------------------------------------------------


async def test_room_read_markers_and_unread(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    compta = await room_id(store, "Comptabilité")
    [old] = await store.add_messages([to_room(bob, general, "before alice joined")])
    await store.set_membership(alice, general, MEMBER, NOW)
    await store.set_membership(alice, blabla, MEMBER, NOW)
    await store.set_membership(alice, compta, PENDING, NOW)
    assert await store.room_unread(alice) == sorted(
        [RoomUnread(general, old.msg_id, 0), RoomUnread(blabla, 0, 0)], key=lambda r: r.room_id
    )
    stored = await store.add_messages(
        [
            to_room(bob, general, "1"),
            to_room(alice, general, "mine"),
            to_room(bob, general, "2"),
            to_room(bob, general, "3"),
            to_room(bob, compta, "not a member yet"),
        ]
    )
    unread = {r.room_id: r for r in await store.room_unread(alice)}
    assert set(unread) == {general, blabla}
    assert unread[general] == RoomUnread(general, stored[3].msg_id, 3)  # own message excluded

    assert await store.mark_room_read(alice, general, stored[2].msg_id)
    assert not await store.mark_room_read(alice, general, stored[0].msg_id)  # never backwards
    assert not await store.mark_room_read(alice, general, stored[2].msg_id)  # already there
    assert not await store.mark_room_read(alice, compta, stored[4].msg_id)  # pending
    assert not await store.mark_room_read(bob, general, stored[3].msg_id)  # not a member
    unread = {r.room_id: r for r in await store.room_unread(alice)}
    assert unread[general].unread == 1
    marker = {m.room_id: m.read_marker for m in await store.get_memberships()}
    assert marker[general] == stored[2].msg_id
    assert await store.mark_room_read(alice, general, stored[3].msg_id)
    assert {r.room_id: r.unread for r in await store.room_unread(alice)}[general] == 0
    assert await store.room_unread(bob) == []


async def test_room_last_ids(store: Store) -> None:
    alice = await new_user(store, "alice")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    assert await store.room_last_ids() == {}
    stored = await store.add_messages(
        [to_room(alice, general, "1"), to_room(alice, blabla, "2"), to_room(alice, general, "3")]
    )
    await store.add_messages([to_user(alice, alice, "a note to self")])
    assert await store.room_last_ids() == {general: stored[2].msg_id, blabla: stored[1].msg_id}


async def test_dm_read_markers_and_unread(store: Store) -> None:
    alice, bob, carol, zed = [await new_user(store, n) for n in ("alice", "Bob", "carol", "zed")]
    stored = await store.add_messages(
        [
            to_user(zed, alice, "z1"),
            to_user(bob, alice, "b1"),
            to_user(alice, bob, "a1"),
            to_user(bob, alice, "b2"),
            to_user(alice, carol, "only alice wrote"),
        ]
    )
    assert await store.dm_unread(alice) == [
        DmUnread(bob, "Bob", stored[3].msg_id, 2),  # alice's own message not counted
        DmUnread(carol, "carol", stored[4].msg_id, 0),
        DmUnread(zed, "zed", stored[0].msg_id, 1),
    ]
    assert await store.dm_unread(carol) == [DmUnread(alice, "alice", stored[4].msg_id, 1)]

    assert await store.mark_dm_read(alice, bob, stored[1].msg_id)
    assert not await store.mark_dm_read(alice, bob, stored[0].msg_id)  # never backwards
    assert not await store.mark_dm_read(alice, bob, stored[1].msg_id)
    assert not await store.mark_dm_read(alice, bob, 0)
    assert [d.unread for d in await store.dm_unread(alice)] == [1, 0, 1]
    assert await store.mark_dm_read(alice, bob, stored[3].msg_id)
    assert await store.mark_dm_read(alice, zed, stored[0].msg_id)
    assert [d.unread for d in await store.dm_unread(alice)] == [0, 0, 0]

    # A marker without a conversation is not a conversation.
    assert await store.mark_dm_read(bob, zed, stored[0].msg_id)
    assert [d.peer for d in await store.dm_unread(bob)] == ["alice"]
    assert await store.dm_unread(await new_user(store, "nobody")) == []


# -- sanctions ---------------------------------------------------------------------


async def test_sanctions(store: Store) -> None:
    kick = await store.add_sanction(SanctionKind.KICK, "alice", NOW + 60_000, "spam", "admin", NOW)
    ban = await store.add_sanction(SanctionKind.BAN, "bob", None, "abuse", "admin", NOW + 1)
    ip = await store.add_sanction(SanctionKind.IP_BAN, "203.0.113.0/24", None, "", "root", NOW + 2)
    assert (kick.kind, kick.target, kick.until, kick.reason, kick.created_by, kick.created_at) == (
        SanctionKind.KICK,
        "alice",
        NOW + 60_000,
        "spam",
        "admin",
        NOW,
    )
    assert await store.active_sanctions(NOW + 10) == [kick, ban, ip]
    assert await store.active_sanctions(NOW + 60_000) == [ban, ip]  # the kick has expired

    assert await store.lift_sanctions(SanctionKind.KICK, "alice", NOW + 60_001) == 0  # expired
    assert await store.lift_sanctions(SanctionKind.KICK, "bob", NOW + 20) == 0  # other kind
    assert await store.lift_sanctions(SanctionKind.BAN, "bob", NOW + 20) == 1
    assert await store.lift_sanctions(SanctionKind.BAN, "bob", NOW + 21) == 0  # already lifted
    assert await store.active_sanctions(NOW + 30) == [kick, ip]

    again = await store.add_sanction(SanctionKind.IP_BAN, "203.0.113.0/24", None, "x", "root", NOW)
    assert await store.lift_sanctions(SanctionKind.IP_BAN, "203.0.113.0/24", NOW + 40) == 2
    assert await store.active_sanctions(NOW + 50) == [kick]
    assert again.id > ip.id > ban.id > kick.id


# -- concurrency -------------------------------------------------------------------


async def test_first_sessions_of_new_users_at_once(store: Store) -> None:
    """New users logging in at the same moment each get a session (on MySQL, clearing
    a user's expired sessions once locked the gap the others insert into)."""
    users = [await new_user(store, f"user{n}") for n in range(20)]
    hour = 3_600_000
    async with asyncio.timeout(30):
        await asyncio.gather(
            *(store.add_session(f"{n:064x}", user, NOW, hour) for n, user in enumerate(users))
        )
    assert [await store.session_user(f"{n:064x}", NOW, hour) for n in range(20)] == users


async def test_concurrent_batches(store: Store) -> None:
    """Batches sent at once: ids stay unique, and a nonce is stored once whoever wins."""
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    batches = [
        [to_room(alice, general, f"{i}", nonce="same"), to_user(bob, alice, f"dm {i}")]
        for i in range(20)
    ]
    async with asyncio.timeout(30):
        results = await asyncio.gather(*(store.add_messages(b) for b in batches))
    nonced = [r[0] for r in results]
    assert sum(r.fresh for r in nonced) == 1
    assert len({(r.msg_id, r.ts) for r in nonced}) == 1
    dm_ids = [r[1].msg_id for r in results]
    assert len(set(dm_ids)) == 20
    assert nonced[0].msg_id not in dm_ids
    page, more = await store.dm_history(alice, bob, before=None, after=None, limit=50)
    assert sorted(dm_ids) == [m.msg_id for m in page]
    assert not more


async def test_readers_never_see_a_later_id_before_an_earlier_one(store_db: str) -> None:
    """Two stores on one database (two servers) write while a third reads forwards:
    every page it reads continues the ids it has seen, with no gap (commit order)."""
    stores = [open_store(store_db) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        writer = stores[0]
        alice = await new_user(writer, "alice")
        general = await room_id(writer, "Général")
        seen: list[int] = []

        async def write(store: Store, tag: str) -> None:
            for n in range(25):
                await store.add_messages(
                    [to_room(alice, general, f"{tag}{n}.{i}") for i in range(3)]
                )

        async def read() -> None:
            for _ in range(400):
                after = seen[-1] if seen else 0
                page, _ = await stores[2].room_history(general, before=None, after=after, limit=200)
                seen.extend(m.msg_id for m in page)
                if len(seen) == 150:
                    return

        async with asyncio.timeout(60):
            await asyncio.gather(write(stores[0], "a"), write(stores[1], "b"), read())
        page, _ = await stores[2].room_history(
            general, before=None, after=seen[-1] if seen else 0, limit=200
        )
        seen.extend(m.msg_id for m in page)
        assert seen == list(range(seen[0], seen[0] + 150))
    finally:
        for store in stores:
            await store.close()
