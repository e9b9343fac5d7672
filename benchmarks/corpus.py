"""Chat-like text for the search benchmark, and a database filled with it.

Bodies are 3 to 14 words drawn from a vocabulary with Zipf's law (the word of rank
r is used in proportion to 1/r), as in natural text: the commonest word ("the") is
in about half of the messages, a word of rank 100 in about one in a hundred, and
most of the 50,000 words in a handful. The head of the vocabulary is common French
and English chat words (accents included); the tail is made-up words of two to
four syllables. Everything is drawn from seeded generators: the same arguments give
the same database.

Messages go to 20 rooms (the 5 default ones and `salle00`…`salle14`), also by
Zipf's law over the rooms (Général has 28 % of the room messages, salle14 1.4 %),
and one in ten is a direct message between two of the users. The searcher
(`b000000`) is a member of 4 rooms that hold about a quarter of the room messages,
and has a few conversations.
"""

from __future__ import annotations

import bisect
import itertools
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks import prefill as pf
from benchmarks.servers import CHEAP_ARGON2
from chat_core.names import name_key
from chat_srv.store.search import index_rows
from chat_srv.store.sqlite import INDEX_NEW_SQL

_COMMON = (
    "the de la le et to a is in and un une les des est pas on que je you it for "
    "ça merci ok oui non build release serveur server déploiement deploy réunion "
    "meeting café demain tomorrow général bonjour hello test tests bug fix correctif "
    "équipe team prod données database requête query erreur error log logs client "
    "réseau network mot passe numéro compte comptabilité facture invoice budget "
    "marketing campagne vente sales semaine week lundi mardi mercredi jeudi vendredi "
    "midi soir matin ticket issue merge branche branch commit revue review sécurité "
    "security mise jour update version télécharger download fichier file dossier "
    "folder écran screen clavier souris"
)
COMMON = _COMMON.split()
_SYLLABLE_TEXT = (
    "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri "
    "ro ru sa se si so su ta te ti to tu va ve vi vo vu za zé ré dé pé lé mé"
)
_SYLLABLES = _SYLLABLE_TEXT.split()
VOCABULARY_SIZE = 50_000

EXTRA_ROOMS = [f"salle{i:02d}" for i in range(15)]
ROOMS = ["Général", "Blabla", "Informatique", "Marketing", "Comptabilité", *EXTRA_ROOMS]
SEARCHER_ROOMS = ("Blabla", "Informatique", "salle05", "salle14")
SMALL_ROOM = "salle14"
USERS = 200
DM_SHARE = 0.10


def vocabulary(rng: random.Random, size: int = VOCABULARY_SIZE) -> list[str]:
    """The words, most common first."""
    words = list(dict.fromkeys(COMMON))
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def bodies(count: int, seed: int = 1) -> Iterator[str]:
    """`count` message bodies."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    total = weights[-1]
    for _ in range(count):
        size = rng.randint(3, 14)
        yield " ".join(words[bisect.bisect(weights, rng.random() * total)] for _ in range(size))


def rare_words(seed: int = 1, count: int = 20) -> list[str]:
    """Words of rank 5,000 to 20,000: each in roughly 40 to 150 of 1,000,000 messages."""
    words = vocabulary(random.Random(seed))
    step = (20_000 - 5_000) // count
    return [words[rank] for rank in range(5_000, 20_000, step)][:count]


@dataclass
class SearchFill:
    """What was put in: users, rooms by name, the searcher's peers, the message ids."""

    user_ids: list[int]
    rooms: dict[str, int]
    peers: list[str] = field(default_factory=list)
    first_msg_id: int = 0
    last_msg_id: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _insert(conn: Any, mysql: bool, insert: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert a batch in a transaction of its own, and index it as the store indexes
    each batch it stores."""
    cur = conn.cursor()
    if mysql:
        cur.executemany(insert, rows)
        first = int(cur.lastrowid)  # a multi-row INSERT: consecutive ids from here
        words = [
            word
            for msg_id, (_, _, room_id, _, lo, hi, body) in enumerate(rows, first)
            for word in index_rows(msg_id, body, room_id, lo, hi)
        ]
        cur.executemany(
            "INSERT INTO search_words (word, place, message_id) VALUES (%s, %s, %s)", words
        )
        conn.commit()
        return
    cur.execute("BEGIN")
    cur.executemany(insert, rows)
    cur.execute("SELECT last_insert_rowid()")
    last = int(cur.fetchone()[0])
    cur.execute(INDEX_NEW_SQL, (last - len(rows) + 1, last))
    cur.execute("COMMIT")


def fill(db: str, *, messages: int, seed: int = 1, batch: int = 500) -> SearchFill:
    """Create the schema (as the server would), users, rooms, the searcher's
    memberships and `messages` messages, by SQL, in transactions of `batch`
    messages (the server's largest group commit is 512), each indexed as the store
    indexes a batch (SQLite: `INDEX_NEW_SQL`; MySQL: its `search_words` rows).
    """
    started = time.monotonic()
    pf.prefill(db, users=USERS, params=CHEAP_ARGON2, room_members=False)
    mysql = db.startswith("mysql://")
    conn: Any = pf.mysql_connect(db) if mysql else sqlite3.connect(db, isolation_level=None)
    mark = "%s" if mysql else "?"
    now = int(time.time() * 1000)
    rng = random.Random(seed + 1)
    try:
        cur = conn.cursor()
        if not mysql:
            cur.execute("PRAGMA synchronous = OFF")
            cur.execute("BEGIN")
        cur.executemany(
            "INSERT INTO rooms (name, name_key, approval, created_at)"
            f" VALUES ({mark}, {mark}, 0, {mark})",
            [(name, name_key(name), now) for name in EXTRA_ROOMS],
        )
        cur.execute("SELECT id, name FROM rooms")
        rooms = {str(name): int(room_id) for room_id, name in cur.fetchall()}
        cur.execute(f"SELECT id FROM users WHERE name_key LIKE {mark} ORDER BY id", ("b%",))
        user_ids = [int(r[0]) for r in cur.fetchall()]
        searcher = user_ids[0]
        cur.executemany(
            "INSERT INTO memberships (user_id, room_id, state, read_marker, since)"
            f" VALUES ({mark}, {mark}, 'member', 0, {mark})",
            [(searcher, rooms[name], now) for name in SEARCHER_ROOMS],
        )
        if mysql:
            conn.commit()
        else:
            cur.execute("COMMIT")
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM messages")
        before = int(cur.fetchone()[0])
        result = SearchFill(user_ids, rooms)
        room_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(ROOMS))))
        room_ids = [rooms[name] for name in ROOMS]
        peers: set[int] = set()
        rows: list[tuple[Any, ...]] = []
        insert = (
            "INSERT INTO messages (ts, sender_id, room_id, recipient_id, dm_lo, dm_hi, body)"
            f" VALUES ({', '.join([mark] * 7)})"
        )
        t = time.monotonic()
        for i, body in enumerate(bodies(messages, seed)):
            sender = rng.choice(user_ids)
            if rng.random() < DM_SHARE:
                # The searcher is in a few conversations: 1 in 50 DMs.
                other = rng.choice(user_ids)
                if rng.random() < 0.02:
                    sender, other = searcher, rng.choice(user_ids[1:6])
                    peers.add(other)
                if other == sender:
                    other = user_ids[(user_ids.index(sender) + 1) % len(user_ids)]
                lo, hi = min(sender, other), max(sender, other)
                rows.append((now - messages + i, sender, None, other, lo, hi, body))
            else:
                k = bisect.bisect(room_weights, rng.random() * room_weights[-1])
                rows.append((now - messages + i, sender, room_ids[k], None, None, None, body))
            if len(rows) == batch:
                _insert(conn, mysql, insert, rows)
                rows = []
        if rows:
            _insert(conn, mysql, insert, rows)
        result.seconds["insert"] = time.monotonic() - t
        cur.execute(f"SELECT MIN(id), MAX(id) FROM messages WHERE id > {mark}", (before,))
        low, high = cur.fetchone()
        result.first_msg_id, result.last_msg_id = int(low), int(high)
        if mysql:
            conn.commit()
        else:
            # The index as the batches left it (FTS5 merges its segments as it goes).
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result.peers = sorted(pf.user_name(user_ids.index(p)) for p in peers)
        result.seconds["total"] = time.monotonic() - started
        return result
    finally:
        conn.close()
