"""Message search in the store, on SQLite and MySQL: words, phrases, prefixes, case
and accents, scopes, edits and deletions, paging, hostile queries, the upgrade of a
database made by schema 4, and the query plans."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chat_srv.store import NewMessage, Store, open_store
from chat_srv.store.base import (
    ChangeKind,
    NewChange,
    SearchScope,
    SearchTerm,
    SearchTooBroad,
    StoredMessage,
)
from chat_srv.store.mysql import MysqlStore
from chat_srv.store.mysql_connect import parse_mysql_url
from chat_srv.store.mysql_search import candidates_statement
from chat_srv.store.search import fts5_match, fts5_words, parse_query, scope_sql
from chat_srv.store.sqlite import CANDIDATE_MESSAGES_SQL, CANDIDATES_SQL
from chat_srv.store.sqlite import SEARCH_SQL as SQLITE_SEARCH_SQL
from tests.databases import SCHEMA_VERSIONS, make_old_database, mysql_admin, schema_versions
from tests.store.test_contract import NOW, new_room, new_user, room_id, to_room, to_user
from tests.store.test_search_query import HOSTILE

MAX_ID = 2**63 - 1


def is_mysql(store: Store) -> bool:
    return type(store).__name__ == "MysqlStore"


async def find(
    store: Store, query: str, scope: SearchScope, *, before: int | None = None, limit: int = 20
) -> list[str]:
    """The bodies matching `query` in `scope`, newest first."""
    page, _ = await store.search(parse_query(query), scope, before=before, limit=limit)
    return [message.body for message in page]


async def one_room(store: Store, bodies: list[str]) -> SearchScope:
    """Post `bodies` to Général, oldest first, from alice; the scope of that room."""
    alice = await new_user(store, "alice")
    general = await room_id(store, "Général")
    await store.add_messages([to_room(alice, general, body) for body in bodies])
    return SearchScope(room_ids=(general,))


async def test_every_word_must_match_in_any_case_and_accent(store: Store) -> None:
    scope = await one_room(
        store,
        [
            "Le déploiement est prêt",
            "deploiement demain matin",
            "DÉPLOIEMENT TERMINÉ",
            "rien à voir",
            "Réunion au Général",
        ],
    )
    assert await find(store, "déploiement", scope) == [
        "DÉPLOIEMENT TERMINÉ",
        "deploiement demain matin",
        "Le déploiement est prêt",
    ]
    assert await find(store, "DEPLOIEMENT", scope) == await find(store, "déploiement", scope)
    assert await find(store, "déploiement prêt", scope) == ["Le déploiement est prêt"]
    assert await find(store, "prêt demain", scope) == []
    assert await find(store, "general", scope) == ["Réunion au Général"]
    assert await find(store, "GÉNÉRAL réunion", scope) == ["Réunion au Général"]
    # A decomposed query (e + combining accent) is the same word.
    assert await find(store, "Ge\u0301ne\u0301ral", scope) == ["Réunion au Général"]


async def test_phrases_and_prefixes(store: Store) -> None:
    scope = await one_room(
        store,
        [
            "mot de passe oublié",
            "passe-moi le mot",
            "deployment tomorrow",
            "we deployed it",
            "redeploy later",
            "the foo_bar module",
            "send an e-mail",
        ],
    )
    assert await find(store, '"mot de passe"', scope) == ["mot de passe oublié"]
    assert await find(store, "passe mot", scope) == ["passe-moi le mot", "mot de passe oublié"]
    assert await find(store, '"passe mot"', scope) == []
    assert await find(store, "deploy*", scope) == ["we deployed it", "deployment tomorrow"]
    assert await find(store, "DÉPLOY*", scope) == ["we deployed it", "deployment tomorrow"]
    assert await find(store, "deploy", scope) == []  # a word, not a prefix
    # `_` is inside a word on both backends; other punctuation makes a phrase.
    assert await find(store, "foo_bar", scope) == ["the foo_bar module"]
    assert await find(store, "foo", scope) == []
    assert await find(store, "foo_*", scope) == ["the foo_bar module"]
    assert await find(store, "mail", scope) == ["send an e-mail"]
    assert await find(store, "e-mail", scope) == ["send an e-mail"]
    assert await find(store, '"an e-mail"', scope) == ["send an e-mail"]


async def test_short_words_are_words_too(store: Store) -> None:
    """Every word is in the index on both backends, one letter too."""
    scope = await one_room(store, ["ok merci", "merci beaucoup", "ok", "à la une", "la"])
    assert await find(store, "ok merci", scope) == ["ok merci"]
    assert await find(store, "ok", scope) == ["ok", "ok merci"]
    assert await find(store, '"ok merci"', scope) == ["ok merci"]
    assert await find(store, "à", scope) == ["à la une"]
    assert await find(store, '"la une"', scope) == ["à la une"]
    assert await find(store, "l*", scope) == ["la", "à la une"]


async def test_letters_that_fold_to_several_and_text_without_spaces(store: Store) -> None:
    scope = await one_room(store, ["Straße", "œuvre", "日本語のテキスト", "naïve Ångström"])
    assert await find(store, "straße", scope) == ["Straße"]
    assert await find(store, "NAIVE angstrom", scope) == ["naïve Ångström"]
    # MySQL's collation expands ß and œ; FTS5 keeps them as they are.
    expanded = ["Straße"] if is_mysql(store) else []
    assert await find(store, "strasse", scope) == expanded
    assert await find(store, "oeuvre", scope) == (["œuvre"] if is_mysql(store) else [])
    # A run of Japanese letters is one word on both: a prefix finds it.
    assert await find(store, "日本*", scope) == ["日本語のテキスト"]
    assert await find(store, "日本語", scope) == []


async def test_the_scope_is_rooms_and_the_users_own_conversations(store: Store) -> None:
    alice, bob, carol = [await new_user(store, n) for n in ("alice", "bob", "carol")]
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    await store.add_messages(
        [
            to_room(alice, general, "release in Général"),
            to_room(bob, blabla, "release in Blabla"),
            to_user(alice, bob, "release between alice and bob"),
            to_user(bob, carol, "release between bob and carol"),
            to_user(carol, alice, "release from carol to alice"),
        ]
    )
    everything_of_alice = SearchScope(room_ids=(general,), user_id=alice)
    assert await find(store, "release", everything_of_alice) == [
        "release from carol to alice",
        "release between alice and bob",
        "release in Général",
    ]
    assert await find(store, "release", SearchScope(user_id=alice, peer_id=bob)) == [
        "release between alice and bob"
    ]
    assert await find(store, "release", SearchScope(user_id=bob, peer_id=alice)) == [
        "release between alice and bob"
    ]
    assert await find(store, "release", SearchScope(room_ids=(blabla,))) == ["release in Blabla"]
    assert await find(store, "release", SearchScope(user_id=bob)) == [
        "release between bob and carol",
        "release between alice and bob",
    ]
    assert await find(store, "release", SearchScope()) == []
    # Notes to oneself are never sent, but such a scope holds nothing else either.
    assert await find(store, "release", SearchScope(user_id=alice, peer_id=alice)) == []


async def test_deleted_never_match_and_edits_match_by_their_current_body(store: Store) -> None:
    alice = await new_user(store, "alice")
    general = await room_id(store, "Général")
    first, second, third = await store.add_messages(
        [
            to_room(alice, general, "draft with a typo"),
            to_room(alice, general, "secret plans"),
            to_room(alice, general, "plans for monday"),
        ]
    )
    scope = SearchScope(room_ids=(general,))
    changes = [
        NewChange(ChangeKind.EDIT, first.msg_id, "alice", NOW + 1, body="fixed wording"),
        NewChange(ChangeKind.EDIT, first.msg_id, "alice", NOW + 2, body="final wording"),
        NewChange(ChangeKind.DELETE, second.msg_id, "alice", NOW + 3),
    ]
    assert all(await store.add_changes(changes))
    assert await find(store, "typo", scope) == []
    assert await find(store, "fixed", scope) == []
    assert await find(store, "wording", scope) == ["final wording"]
    assert await find(store, "secret", scope) == []
    assert await find(store, "plans", scope) == ["plans for monday"]
    # Deleting an edited message takes it out as well.
    await store.add_changes([NewChange(ChangeKind.DELETE, first.msg_id, "alice", NOW + 4)])
    assert await find(store, "wording", scope) == []
    assert await find(store, "plan*", scope) == ["plans for monday"]
    assert third.msg_id > second.msg_id


async def test_results_are_messages_as_history_shows_them(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    (parent,) = await store.add_messages([to_room(alice, general, "the build is green")])
    (reply,) = await store.add_messages(
        [NewMessage(bob, "build tagged", NOW, room_id=general, reply_to=parent.msg_id, action=True)]
    )
    await store.add_changes(
        [
            NewChange(ChangeKind.REACT, parent.msg_id, "bob", NOW, actor_id=bob, emoji="🎉"),
            NewChange(ChangeKind.EDIT, reply.msg_id, "bob", NOW + 5, body="build tagged v2"),
        ]
    )
    page, more = await store.search(
        parse_query("build"), SearchScope(room_ids=(general,)), before=None, limit=5
    )
    history, _ = await store.room_history(general, before=None, after=None, limit=5)
    assert page == list(reversed(history))
    assert not more
    newest: StoredMessage = page[0]
    assert (newest.reply_to, newest.action, newest.edited) == (parent.msg_id, True, NOW + 5)
    assert page[1].reactions == {"🎉": ["bob"]}


async def test_paging_backwards(store: Store) -> None:
    scope = await one_room(store, [f"page {i} of the log" for i in range(7)] + ["other"])
    seen: list[str] = []
    before = None
    pages = 0
    while True:
        page, more = await store.search(parse_query("log"), scope, before=before, limit=3)
        pages += 1
        seen += [message.body for message in page]
        if not more:
            break
        before = page[-1].msg_id
    assert seen == [f"page {i} of the log" for i in reversed(range(7))]
    assert pages == 3
    # Exactly a page's worth: no more after it.
    page, more = await store.search(parse_query("log"), scope, before=None, limit=7)
    assert (len(page), more) == (7, False)
    assert await find(store, "log", scope, before=0) == []
    assert await find(store, "log", scope, before=1) == []


async def test_hostile_queries_find_words_or_nothing(store: Store) -> None:
    scope = await one_room(
        store, ['a "quoted" OR NEAR(word) -minus +plus col:umn ^caret (paren) * star']
    )
    for query in HOSTILE:
        terms = parse_query(query)
        if not terms:
            continue
        await store.search(terms, scope, before=None, limit=20)
    # Operators are only words here.
    body = ['a "quoted" OR NEAR(word) -minus +plus col:umn ^caret (paren) * star']
    assert await find(store, "OR NEAR", scope) == body
    assert await find(store, "-minus +plus", scope) == body
    assert await find(store, "col:umn", scope) == body
    assert await find(store, '"quoted" (paren)', scope) == body
    assert await find(store, "NOT minus", scope) == []  # NOT is a word, and missing


async def test_every_message_of_a_batch_is_indexed_once(store: Store) -> None:
    alice, bob = await new_user(store, "alice"), await new_user(store, "bob")
    general = await room_id(store, "Général")
    batch = [to_room(alice, general, f"batch {i}", nonce=f"n{i % 40}") for i in range(60)]
    batch += [to_user(bob, alice, f"batch dm {i}") for i in range(10)]
    await store.add_messages(batch)
    await store.add_messages([to_room(alice, general, "batch 0", nonce="n0")])  # again
    page, more = await store.search(
        parse_query("batch"), SearchScope(room_ids=(general,), user_id=alice), before=None, limit=50
    )
    assert (len(page), more) == (50, False)
    assert [m.body for m in page] == [f"batch dm {i}" for i in reversed(range(10))] + [
        f"batch {i}" for i in reversed(range(40))
    ]


async def test_a_common_word_with_few_matches_in_the_scope(store: Store) -> None:
    """More matches elsewhere than the first step reads (SQLite: 200): the rest are
    found through the index's places, newest first, the pages still in order."""
    alice = await new_user(store, "alice")
    general, blabla = await room_id(store, "Général"), await room_id(store, "Blabla")
    await store.add_messages([to_room(alice, general, f"needle old {i}") for i in range(5)])
    await store.add_messages([to_room(alice, blabla, f"needle elsewhere {i}") for i in range(250)])
    await store.add_messages([to_room(alice, general, f"needle new {i}") for i in range(2)])
    scope = SearchScope(room_ids=(general,), user_id=alice)
    seen: list[str] = []
    before = None
    while True:
        page, more = await store.search(parse_query("needle"), scope, before=before, limit=3)
        seen += [message.body for message in page]
        if not more:
            break
        before = page[-1].msg_id
    assert seen == ["needle new 1", "needle new 0"] + [f"needle old {i}" for i in range(4, -1, -1)]
    assert await find(store, "needle", SearchScope(room_ids=(blabla,)), limit=50) == [
        f"needle elsewhere {i}" for i in range(249, 199, -1)
    ]


async def test_many_rooms_in_scope(store: Store) -> None:
    alice = await new_user(store, "alice")
    rooms = [await new_room(store, f"room{i}") for i in range(30)]
    await store.add_messages(
        [to_room(alice, room, f"hello from room{i}") for i, room in enumerate(rooms)]
    )
    scope = SearchScope(room_ids=tuple(rooms[::2]), user_id=alice)
    assert await find(store, "hello", scope, limit=50) == [
        f"hello from room{i}" for i in reversed(range(0, 30, 2))
    ]
    # A prefix of more words than a search reads one by one in so many places
    # (MySQL: 256 ranges at most) is looked up by its first two letters.
    await store.add_messages(
        [to_room(alice, rooms[0], f"zeta{i:02} here") for i in range(40)]
        + [to_room(alice, rooms[2], "zebra here"), to_room(alice, rooms[1], "zetaxx away")]
    )
    assert await find(store, "zeta*", scope, limit=50) == [
        f"zeta{i:02} here" for i in reversed(range(40))
    ]
    assert await find(store, "zeta1*", scope, limit=50) == [
        f"zeta{i:02} here" for i in reversed(range(10, 20))
    ]
    assert await find(store, "zetaq*", scope) == []


# -- the upgrade from schema 4 ----------------------------------------------------------

_V4_ROWS = [
    "INSERT INTO users (name, name_key, password_hash, created_at) VALUES"
    " ('alice', 'alice', 'h', 1), ('bob', 'bob', 'h', 1)",
    "INSERT INTO rooms (name, name_key, approval, created_at) VALUES ('Général', 'général', 0, 1)",
    "INSERT INTO messages (ts, sender_id, room_id, body, edited_at) VALUES"
    " (10, 1, 1, 'Bonne année à tous', NULL), (11, 2, 1, 'année edited', 12)",
    "INSERT INTO messages (ts, sender_id, room_id, body, deleted) VALUES (13, 1, 1, '', 1)",
    "INSERT INTO messages (ts, sender_id, recipient_id, dm_lo, dm_hi, body) VALUES"
    " (14, 1, 2, 1, 2, 'une bonne année privée')",
]


async def _make_version_4(db: str) -> None:
    """A database as the previous server left it: schema 1 to 4, with messages."""
    await make_old_database(db, 4, _V4_ROWS)


async def test_a_version_4_database_is_indexed_on_upgrade(store_db: str) -> None:
    await _make_version_4(store_db)
    assert await schema_versions(store_db) == [1, 2, 3, 4]
    store = open_store(store_db)
    await store.open()
    try:
        assert await schema_versions(store_db) == SCHEMA_VERSIONS
        everything = SearchScope(room_ids=(1,), user_id=1)
        assert await find(store, "annee", everything) == [
            "une bonne année privée",
            "année edited",
            "Bonne année à tous",
        ]
        assert await find(store, "bonne", SearchScope(room_ids=(1,))) == ["Bonne année à tous"]
        # The index follows the old messages' changes, and new messages.
        assert await store.add_changes(
            [NewChange(ChangeKind.EDIT, 1, "alice", 20, body="Happy new year")]
        )
        await store.add_messages([to_room(2, 1, "bonne soirée", ts=21)])
        assert await find(store, "bonne", SearchScope(room_ids=(1,))) == ["bonne soirée"]
        assert await find(store, "happy", SearchScope(room_ids=(1,))) == ["Happy new year"]
        await store.add_changes([NewChange(ChangeKind.DELETE, 4, "alice", 22)])
    finally:
        await store.close()
    if not store_db.startswith("mysql://"):
        # The index is what FTS5 makes of the messages table itself, deleted ones
        # included (they have no words): its own check and rebuild agree.
        with sqlite3.connect(store_db) as conn:
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
            conn.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
            found = conn.execute(
                "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'annee OR r1'"
                " ORDER BY rowid"
            ).fetchall()
            assert found == [(1,), (2,), (5,)]
        conn.close()


# -- query plans --------------------------------------------------------------------


async def test_sqlite_search_walks_the_index_newest_first(tmp_path: Path) -> None:
    store_db = str(tmp_path / "chat.db")
    store = open_store(store_db)
    await store.open()
    await store.close()
    terms = [SearchTerm(("build",)), SearchTerm(("mot", "de", "passe")), SearchTerm(("dé",), True)]
    with sqlite3.connect(store_db) as conn:
        for scope in (
            SearchScope(room_ids=(1, 2, 3), user_id=7),
            SearchScope(room_ids=(4,)),
            SearchScope(user_id=7, peer_id=9),
        ):
            where, args = scope_sql(scope)
            sql = "EXPLAIN QUERY PLAN " + SQLITE_SEARCH_SQL.format(scope=where)
            params = (fts5_match(terms, scope), MAX_ID, *args, 21)
            plan = [row[3] for row in conn.execute(sql, params)]
            # The virtual table first, in rowid order, descending (FTS5's idxNum 192:
            # ORDER BY rowid DESC consumed); each match then one primary-key look-up.
            assert plan[0].startswith("SCAN f VIRTUAL TABLE INDEX 192:"), plan
            assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
            # The first step: the newest candidates, then their messages by key.
            sql = "EXPLAIN QUERY PLAN " + CANDIDATES_SQL
            plan = [row[3] for row in conn.execute(sql, (fts5_words(terms), MAX_ID, 200))]
            assert len(plan) == 1, plan
            assert plan[0].startswith("SCAN messages_fts VIRTUAL TABLE INDEX 192:"), plan
            sql = "EXPLAIN QUERY PLAN " + CANDIDATE_MESSAGES_SQL.format(ids="?, ?, ?", scope=where)
            plan = [row[3] for row in conn.execute(sql, (5, 6, 7, *args, 21))]
            assert plan[0] == "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)", plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
    conn.close()


@pytest.mark.mysql
async def test_mysql_search_walks_its_index_newest_first(mysql_db: str) -> None:
    """Each (key, place) of the term that drives is a backward range of the primary
    key (no sort of its rows), the other terms look-ups by the whole key."""
    store = open_store(mysql_db)
    await store.open()
    await store.close()
    sql, args = candidates_statement(("build", "bu*"), [("green",), ("x", "y")], [4, -7], 99, 21)
    database = parse_mysql_url(mysql_db).database
    async with mysql_admin(mysql_db) as cur:
        await cur.execute(f"USE `{database}`")
        await cur.execute("EXPLAIN " + sql, args)
        columns = [d[0].lower() for d in cur.description]
        plan = [dict(zip(columns, row, strict=True)) for row in await cur.fetchall()]
    walks = [step for step in plan if step["table"] == "a"]
    checks = [step for step in plan if step["table"] == "b"]
    assert len(walks) == 4, plan
    for step in walks:
        assert (step["type"], step["key"]) == ("range", "PRIMARY"), plan
        # Read in the index's order, stopped by LIMIT: only the union of the
        # ranges' few rows is sorted, never a range itself.
        assert "filesort" not in (step["extra"] or ""), plan
    assert len(checks) == 8, plan
    for step in checks:
        assert step["key"] == "PRIMARY", plan


@pytest.mark.mysql
async def test_mysql_stops_a_search_that_takes_too_long(mysql_db: str) -> None:
    """A phrase of three words whose pairs every message holds, and no message the
    whole: every message is a candidate to check, so the search stops past its time
    (here 1 ms) and is refused, not left running."""
    store = MysqlStore(mysql_db, search_seconds=0.001)
    await store.open()
    try:
        alice = await new_user(store, "alice")
        general = await room_id(store, "Général")
        for start in range(0, 20_000, 2_000):
            await store.add_messages(
                [
                    to_room(alice, general, f"alpha beta {i} beta alpha")
                    for i in range(start, start + 2_000)
                ]
            )
        scope = SearchScope(room_ids=(general,))
        with pytest.raises(SearchTooBroad, match="too many messages"):
            await find(store, '"alpha beta alpha"', scope)
        # The store goes on: a rarer word is answered.
        assert await find(store, "12345", scope) == ["alpha beta 12345 beta alpha"]
    finally:
        await store.close()
