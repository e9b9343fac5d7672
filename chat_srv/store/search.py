"""Message search for both stores: the query language, read once, and written for
each backend's full-text index by this module alone.

`parse_query` reads what a user typed into terms: words, "quoted phrases", and
words with a trailing `*` (prefixes). A word is a run of letters, digits and `_`
(Python's `\\w`, in NFC); everything else in the text only separates words, so the
operators of FTS5 (`OR`, `NOT`, `NEAR`, `-`, `:`, `(`, `^`) and of MySQL's boolean
mode (`+`, `-`, `~`, `<`, `>`, `@`, `(`, `"`) never reach a database as operators:
`fts5_match` puts every word in double quotes, `boolean_match` writes `+word`,
`+word*` and `+"a phrase"` around words that hold nothing but word characters.

Several words run together without a space (`e-mail`, `l'équipe`, `v1.2`) make a
phrase of their own, as the indexes split them the same way. A `*` counts only
right after a single word; elsewhere it is dropped. An unbalanced `"` runs to the
end of the query.

The SQL of a search is shared too: `scope_sql` is who may read what (the rooms a
user is in, the user's own conversations), applied to the messages table itself.
"""

from __future__ import annotations

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


# -- MySQL and MariaDB: boolean mode ------------------------------------------------


def boolean_match(terms: Sequence[SearchTerm], min_size: int, max_size: int) -> str | None:
    """The AGAINST (... IN BOOLEAN MODE) string: every term required; None if no term
    can be looked up in the index.

    InnoDB leaves words shorter than `innodb_ft_min_token_size` (`min_size`) or
    longer than `innodb_ft_max_token_size` out of its index, and a required word that
    is not in the index matches nothing: such words are left out of the query
    rather than making it match nothing. A phrase is kept while one of its words is
    indexed (InnoDB checks the whole phrase against the text); a prefix needs no
    length.
    """
    parts: list[str] = []
    for term in terms:
        indexed = [w for w in term.words if min_size <= len(w) <= max_size]
        if len(term.words) > 1:
            if indexed:
                parts.append('+"' + " ".join(term.words) + '"')
        elif term.prefix:
            if len(term.words[0]) <= max_size:
                parts.append(f"+{term.words[0]}*")
        elif indexed:
            parts.append(f"+{term.words[0]}")
    return " ".join(parts) if parts else None


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
