"""Message search for both stores: the query language, read once, and written for
each backend's index by this module alone.

`parse_query` reads what a user typed into terms: words, "quoted phrases", and
words with a trailing `*` (prefixes). A word is a run of letters, digits and `_`
(Python's `\\w`, in NFC); everything else in the text only separates words, so the
operators of FTS5 (`OR`, `NOT`, `NEAR`, `-`, `:`, `(`, `^`) never reach a database
as operators: `fts5_match` puts every word in double quotes, and the MySQL store's
own index (below) is looked up by the folded words themselves, as parameters.

Several words run together without a space (`e-mail`, `l'équipe`, `v1.2`) make a
phrase of their own, as the indexes split them the same way. A `*` counts only
right after a single word; elsewhere it is dropped. An unbalanced `"` runs to the
end of the query.

The SQL of a search is shared too: `scope_sql` is who may read what (the rooms a
user is in, the user's own conversations), applied to the messages table itself.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence

from chat_srv.store.base import SearchScope, SearchTerm
from chat_srv.store.migrations import dm_pair

_WORD = re.compile(r"\w+")
# A quoted phrase (closed by the next quote, or by the end of the text), or a run
# of anything else up to white space or a quote.
_PIECE = re.compile(r'"([^"]*)"?|([^\s"]+)')


def parse_query(text: str) -> list[SearchTerm]:
    """The terms of a query, in order, each once; [] if it has no word at all."""
    terms: dict[SearchTerm, None] = {}
    for match in _PIECE.finditer(unicodedata.normalize("NFC", text)):
        quoted, bare = match.groups()
        words = tuple(_WORD.findall(quoted if quoted is not None else bare))
        if not words:
            continue
        prefix = (
            bare is not None
            and len(words) == 1
            and bare.endswith("*")
            and bare.rstrip("*").endswith(words[0])
        )
        terms[SearchTerm(words, prefix)] = None
    return list(terms)


# -- SQLite: FTS5 ------------------------------------------------------------------


def _fts5_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts5_words(terms: Sequence[SearchTerm]) -> str:
    """The FTS5 MATCH expression of the terms alone: every one of them in `body`."""
    return " AND ".join(
        "body : " + _fts5_string(" ".join(term.words)) + (" *" if term.prefix else "")
        for term in terms
    )


def fts5_match(terms: Sequence[SearchTerm], scope: SearchScope) -> str:
    """The FTS5 MATCH expression: every term in `body`, and a place in the scope.

    The scope is in the index too (the `place` column: `r<room id>` for a room
    message, `u<id> u<id>` for a conversation), so that FTS5 intersects the lists
    itself, newest first, instead of reading every match of a common word to find
    the few in the scope. The messages table's own columns remain the rule
    (`scope_sql`); this is the fast way to the same rows.
    """
    places = [f'place : "r{room_id}"' for room_id in scope.room_ids]
    if scope.user_id is not None:
        if scope.peer_id is not None:
            lo, hi = dm_pair(scope.user_id, scope.peer_id)
            places.append(f'(place : "u{lo}" AND place : "u{hi}")')
        else:
            places.append(f'place : "u{scope.user_id}"')
    return f"({fts5_words(terms)}) AND ({' OR '.join(places) or 'place : none'})"


# -- MySQL and MariaDB: the store's own word index ------------------------------------
#
# InnoDB's FULLTEXT index cannot be walked newest first nor stopped after `limit`:
# a common word costs as many reads as it has matches. So the MySQL store keeps an
# index of its own, `search_words` (sql/mysql/009_search_words.sql): one row per
# (key, place, message), its primary key in that order, so that the newest
# messages of one key in one place are a backward range of the primary key. The
# keys of a message are of three kinds, told apart by their first character:
#
#   `deploy`          each word, folded (`fold`)
#   `*de`             the first two letters of each word (the word, if it has one
#                     letter): `de*` is one key, `d*` the few keys after `*d`
#   ` mot de`         each two words side by side: a phrase of common words is
#                     found by its pairs rather than by every message holding them
#
# A space and `*` sort before every word character, so the words that start with a
# prefix are one range of keys, with no key of another kind in it. The rows only
# lead to messages: each one found is checked against its current body
# (`matches`), the rule on both backends' words.

KEY_CHARS = 64
"""Characters kept in a key; longer words share a key (and are then told apart by
`matches`)."""

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})


@functools.lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A word as the index compares it: without diacritics, case folded (`Général`,
    `GÉNÉRAL` and `general` are one word; `ß` is `ss`, `œ` is `oe`, as in MySQL's
    collation)."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare.casefold())


def words_of(text: str) -> list[str]:
    """The folded words of a text, in order (as `parse_query` splits a query)."""
    words = _WORD.findall(unicodedata.normalize("NFC", text))
    return [folded for w in words if (folded := fold(w))]


def word_key(word: str) -> str:
    """The key of a folded word."""
    return word[:KEY_CHARS]


def prefix_key(word: str) -> str:
    """The key of the words that start as `word` does (its first two letters)."""
    return "*" + word[:2]


def pair_key(first: str, second: str) -> str:
    """The key of two folded words side by side."""
    return f" {first} {second}"[:KEY_CHARS]


def index_keys(body: str) -> set[str]:
    """The keys `body` is found by (the `word` column holds them as UTF-8)."""
    words = words_of(body)
    keys = {word_key(w) for w in words} | {prefix_key(w) for w in words}
    keys.update(pair_key(a, b) for a, b in itertools.pairwise(words))
    return keys


def index_places(room_id: int | None, dm_lo: int | None, dm_hi: int | None) -> tuple[int, ...]:
    """Where a message is, as the `place` column says it: its room's id, or minus
    the id of each party to a conversation (a row for each: either one's search of
    their conversations finds it)."""
    if room_id is not None:
        return (room_id,)
    if dm_lo is None or dm_hi is None:
        raise ValueError("a message is in a room or between two users")
    return (-dm_lo,) if dm_lo == dm_hi else (-dm_lo, -dm_hi)


def index_rows(
    msg_id: int, body: str, room_id: int | None, dm_lo: int | None, dm_hi: int | None
) -> list[tuple[str, int, int]]:
    """The `search_words` rows of one message: (key, place, message id)."""
    places = index_places(room_id, dm_lo, dm_hi)
    return [(key, place, msg_id) for key in index_keys(body) for place in places]


def matches(terms: Sequence[SearchTerm], body: str) -> bool:
    """Whether `body` holds every term: a word as a whole word, a prefix at the start
    of a word, a phrase as its words side by side, all folded."""
    words = words_of(body)
    present = set(words)
    for term in terms:
        wanted = [fold(w) for w in term.words]
        if term.prefix:
            if not any(w.startswith(wanted[0]) for w in present):
                return False
        elif len(wanted) == 1:
            if wanted[0] not in present:
                return False
        elif not any(
            words[i : i + len(wanted)] == wanted for i, w in enumerate(words) if w == wanted[0]
        ):
            return False
    return True


# -- who may read what ---------------------------------------------------------------


def scope_sql(scope: SearchScope) -> tuple[str, tuple[int, ...]]:
    """The condition on `messages AS m` that keeps the scope's messages (`?` marks)."""
    parts: list[str] = []
    args: list[int] = []
    if scope.room_ids:
        parts.append(f"m.room_id IN ({', '.join('?' * len(scope.room_ids))})")
        args.extend(scope.room_ids)
    if scope.user_id is not None:
        if scope.peer_id is not None:
            parts.append("(m.dm_lo = ? AND m.dm_hi = ?)")
            args.extend(dm_pair(scope.user_id, scope.peer_id))
        else:
            parts.append("m.dm_lo = ? OR m.dm_hi = ?")
            args.extend((scope.user_id, scope.user_id))
    if not parts:
        return "0 = 1", ()
    return "(" + " OR ".join(parts) + ")", tuple(args)
