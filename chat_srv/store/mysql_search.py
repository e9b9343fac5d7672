"""Search on MySQL and MariaDB, through the store's own word index (`search_words`,
sql/mysql/009_search_words.sql; its keys are made by `chat_srv.store.search`).

A search reads, for each term, the keys that lead to it: a word's own key, the
keys of a phrase's pairs of words, a two-letter prefix's key (`de*`), or the keys a
prefix of one letter or of three or more starts (`depl*`: `deploy`,
`deployed`…, found by a range of the primary key). One term
drives the walk, the one with the fewest rows in the scope (counted up to
`_ESTIMATE_CAP`); each (key, place) of it is a backward range of the primary key,
newest first, stopped after `n` rows, and every other term is an `EXISTS` on the
primary key of the same place and message. The candidates are then read from the
messages table with the scope's own condition (`scope_sql`: the places in the
index are a way to the rows, not the rule) and checked against their current
body (`matches`), which also rules on phrases, on long prefixes and on words an
edit took out. When the candidates of a round do not fill the page, the next
round goes on below the oldest of them, four times as many, until the rows run
out or the time is up.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import pymysql

from chat_srv.store.base import SearchScope, SearchTerm, SearchTooBroad
from chat_srv.store.mysql_connect import error_code
from chat_srv.store.search import fold, matches, pair_key, prefix_key, scope_sql, word_key

Cursor = Any  # aiomysql ships no type information

_ESTIMATE_CAP = 1_000  # rows counted, at most, to choose the term that drives
_RANGES = 256  # (key, place) ranges one statement may read, at most
_ROUND_CAP = 2_000  # candidates one round may read, at most
_GROWTH = 4
# A statement stopped past its time: MariaDB (1969), MySQL (3024).
STATEMENT_TIMEOUT_CODES = frozenset({1969, 3024})


def _places(scope: SearchScope) -> list[int]:
    """The `place` values of a scope: its rooms, and minus the user for their
    conversations (the one with `peer_id` is picked out by `scope_sql`)."""
    places = list(scope.room_ids)
    if scope.user_id is not None:
        places.append(-scope.user_id)
    return places


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


class MysqlSearch:
    """Runs searches on a cursor the store hands it.

    Args:
        message_select: The store's SELECT of message rows from `messages AS m`
            (id, ts, sender, body, …), without a WHERE.
        bound: Makes a SELECT stop on the server past the search's time.
        seconds: The time a search may take, all rounds together.
        clock: Monotonic seconds (tests may pass their own).
    """

    def __init__(
        self,
        message_select: str,
        bound: Callable[[str], str],
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._message_select = message_select
        self._bound = bound
        self.seconds = seconds
        self._clock = clock

    async def run(
        self, cur: Cursor, terms: Sequence[SearchTerm], scope: SearchScope, start: int, limit: int
    ) -> tuple[list[Any], bool]:
        """The newest `limit` message rows below `start` that match every term, newest
        first, and whether there are more.

        Raises:
            SearchTooBroad: the time was up before a single match was found (a
                page cut short by the time has `more` set instead).
        """
        deadline = self._clock() + self.seconds
        places = _places(scope)
        needs = await self._needs(cur, terms, len(places)) if places else None
        if not needs:
            return [], False
        drive, others = await self._driver(cur, needs, places, start)
        where, scope_args = scope_sql(scope)
        found: list[Any] = []
        n = limit + 1
        while True:
            candidates = await self._candidates(cur, drive, others, places, start, n)
            if candidates:
                rows = await self._fetch(
                    cur,
                    self._message_select
                    + f"WHERE m.id IN ({_marks(len(candidates))}) AND m.deleted = 0"
                    f" AND {where.replace('?', '%s')} ORDER BY m.id DESC",
                    (*candidates, *scope_args),
                )
                found.extend(r for r in rows if matches(terms, r[3]))
            if len(found) > limit or len(candidates) < n:
                return found[:limit], len(found) > limit
            start = candidates[-1]
            if self._clock() >= deadline:
                if found:
                    return found, True
                raise self._too_broad()
            n = min(n * _GROWTH, _ROUND_CAP)

    async def _needs(
        self, cur: Cursor, terms: Sequence[SearchTerm], place_count: int
    ) -> list[tuple[str, ...]] | None:
        """For each part of the terms (a word, two words of a phrase side by side, a
        prefix), the keys that may lead to it (any one); None if a prefix starts no
        word of the index (nothing can match)."""
        needs: dict[tuple[str, ...], None] = {}
        for term in terms:
            words = [w for w in map(fold, term.words) if w]
            if not words:
                continue
            if not term.prefix:
                if len(words) == 1:
                    needs[(word_key(words[0]),)] = None
                needs.update(((pair_key(a, b),), None) for a, b in itertools.pairwise(words))
                continue
            prefix = words[0]
            if len(prefix) == 2:
                needs[(prefix_key(prefix),)] = None
                continue
            # One letter: the two-letter keys it starts, all of them. Three or more:
            # the words of the index it starts, unless too many to read one by one
            # in so many places; then its first two letters' key leads to them all
            # (and to others, which `matches` leaves out).
            one = len(prefix) == 1
            low = prefix_key(prefix) if one else word_key(prefix)
            most = max(4, _RANGES // place_count)
            keys = await self._keys_from(cur, low, None if one else most + 1)
            if not keys:
                return None
            needs[keys if one or len(keys) <= most else (prefix_key(prefix),)] = None
        return list(needs)

    async def _keys_from(self, cur: Cursor, low: str, most: int | None) -> tuple[str, ...]:
        """The keys that start with `low`: a range of the primary key's first column,
        each key once (MariaDB and MySQL skip from one to the next: "Using index
        for group-by"). No UTF-8 text holds the byte FF, so the range ends there."""
        rows = await self._fetch(
            cur,
            "SELECT DISTINCT word FROM search_words"
            " WHERE word >= %s AND word < CONCAT(%s, X'FF') ORDER BY word"
            + (" LIMIT %s" if most is not None else ""),
            (low, low) if most is None else (low, low, most),
        )
        return tuple(bytes(r[0]).decode() for r in rows)

    async def _driver(
        self, cur: Cursor, needs: list[tuple[str, ...]], places: list[int], start: int
    ) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
        """The need with the fewest rows in the places (counted up to a cap), and the
        others."""
        if len(needs) == 1:
            return needs[0], []
        counts: list[str] = []
        args: list[Any] = []
        for keys in needs:
            counts.append(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM search_words"
                f" WHERE word IN ({_marks(len(keys))}) AND place IN ({_marks(len(places))})"
                " AND message_id < %s LIMIT %s) AS e)"
            )
            args.extend((*keys, *places, start, _ESTIMATE_CAP))
        (row,) = await self._fetch(cur, "SELECT " + ", ".join(counts), tuple(args))
        best = min(range(len(needs)), key=lambda i: int(row[i]))
        return needs[best], needs[:best] + needs[best + 1 :]

    async def _candidates(
        self,
        cur: Cursor,
        drive: tuple[str, ...],
        others: list[tuple[str, ...]],
        places: list[int],
        start: int,
        n: int,
    ) -> list[int]:
        sql, args = candidates_statement(drive, others, places, start, n)
        return [int(r[0]) for r in await self._fetch(cur, self._bound(sql), args)]

    async def _fetch(self, cur: Cursor, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            await cur.execute(sql, args)
        except pymysql.err.MySQLError as e:
            if error_code(e) in STATEMENT_TIMEOUT_CODES:
                raise self._too_broad() from e
            raise
        return list(await cur.fetchall())

    def _too_broad(self) -> SearchTooBroad:
        return SearchTooBroad(
            f"this search matches too many messages to answer within {self.seconds:g} s:"
            " add a rarer word"
        )


def candidates_statement(
    drive: tuple[str, ...], others: list[tuple[str, ...]], places: list[int], start: int, n: int
) -> tuple[str, tuple[Any, ...]]:
    """The `n` newest message ids below `start` that have a key of `drive` and one of
    each of `others`, in one of the places, newest first: a backward range of the
    primary key per (key, place), each stopped after `n`."""
    exists = "".join(
        " AND EXISTS (SELECT 1 FROM search_words AS b"
        f" WHERE b.word IN ({_marks(len(keys))}) AND b.place = a.place"
        " AND b.message_id = a.message_id)"
        for keys in others
    )
    ranges: list[str] = []
    args: list[Any] = []
    for key in drive:
        for place in places:
            ranges.append(
                "(SELECT a.message_id FROM search_words AS a"
                " WHERE a.word = %s AND a.place = %s AND a.message_id < %s"
                f"{exists} ORDER BY a.message_id DESC LIMIT %s)"
            )
            args.extend((key, place, start))
            for keys in others:
                args.extend(keys)
            args.append(n)
    sql = (
        "SELECT DISTINCT message_id FROM ("
        + " UNION ALL ".join(ranges)
        + ") AS c ORDER BY message_id DESC LIMIT %s"
    )
    return sql, (*args, n)
