"""The SQLite store: one database file, the default backend (no set-up at all).

Durability: WAL journal with `synchronous=NORMAL`. A transaction is complete in the
WAL file (handed to the operating system) when COMMIT returns, so an acknowledged
message survives the server process being killed (SIGKILL, crash); only a crash of
the operating system or a power cut can lose the last commits before a checkpoint,
never corrupt the file. `synchronous="FULL"` (an fsync per commit) closes that gap
at the price of a disk flush per transaction; group commit (one transaction per
`add_messages` batch) keeps that price per batch, not per message.

One connection serves everything: aiosqlite runs it in a thread of its own. Every
write is one function run in that thread from BEGIN to COMMIT (or ROLLBACK): one
hop per operation, and nothing a caller does can stop it half-way. A caller that
is cancelled while it waits (its client went away) only stops waiting; the
transaction still ends, and the next operation queues behind it in the thread.
An asyncio lock keeps operations from the loop in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from chat_core.messages import Role
from chat_core.names import name_key
from chat_srv.store import changes
from chat_srv.store.base import (
    ChangeRecord,
    Conflict,
    DmUnread,
    LoggedMessage,
    Membership,
    MembershipState,
    MessageRef,
    NewChange,
    NewMessage,
    RoomRecord,
    RoomUnread,
    Sanction,
    SanctionKind,
    SearchScope,
    SearchTerm,
    Store,
    StoredChange,
    StoredId,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    UserRecord,
)
from chat_srv.store.checkpoint import WRITER_CHECKPOINT_PAGES, Checkpointer
from chat_srv.store.migrations import (
    DEFAULT_ROOMS,
    MESSAGE_COLUMNS,
    NONCE_COLUMNS,
    PLACE_COLUMNS,
    KnownNonces,
    account_keys,
    backfill_keys,
    check_recorded,
    conversation_rows,
    dm_pair,
    known_nonce,
    load_migrations,
    mention_rows,
    message_row,
    newer_than_code,
    nonce_lookup,
    places,
    plan_batch,
    reply_lookup,
)
from chat_srv.store.rows import (
    history_page,
    logged_message,
    message_record,
    sanction_record,
    session_found,
    user_record,
)
from chat_srv.store.search import fts5_match, fts5_words, scope_sql

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]  # statements run in the database thread

# Larger than any id: lets "before nothing" use the same indexed range query.
_NO_LIMIT = 2**63 - 1

_USER_COLUMNS = "id, name, password_hash, created_at, last_ip, role"
# Names through scalar subqueries, not joins: the planner cannot start from the
# users table, so a page is always a range of the messages index, in index order.
_MESSAGE_SELECT = """
SELECT m.id, m.ts,
       (SELECT s.name FROM users AS s WHERE s.id = m.sender_id),
       m.body,
       (SELECT r.name FROM rooms AS r WHERE r.id = m.room_id),
       (SELECT t.name FROM users AS t WHERE t.id = m.recipient_id),
       m.reply_to, m.action, m.edited_at, m.deleted
FROM messages AS m
"""

# History pages: a backward (or forward) range scan of an index, LIMIT n + 1 rows
# to learn whether more remain without counting.
ROOM_BEFORE_SQL = _MESSAGE_SELECT + "WHERE m.room_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?"
ROOM_AFTER_SQL = _MESSAGE_SELECT + "WHERE m.room_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
DM_BEFORE_SQL = (
    _MESSAGE_SELECT + "WHERE m.dm_lo = ? AND m.dm_hi = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?"
)
DM_AFTER_SQL = (
    _MESSAGE_SELECT + "WHERE m.dm_lo = ? AND m.dm_hi = ? AND m.id > ? ORDER BY m.id LIMIT ?"
)

# The log in id order (a cluster node catching up): a range of the primary key.
_LOG_SQL = (
    _MESSAGE_SELECT.replace(
        "FROM messages", ", m.sender_id, m.room_id, m.recipient_id\nFROM messages"
    )
    + "WHERE m.id > ? ORDER BY m.id LIMIT ?"
)

# Search, in two steps (`_search`). First the newest matches wherever they are: the
# FTS5 table walked newest first (its rowid order, `ORDER BY rowid DESC` consumed by
# the virtual table), at most SEARCH_CANDIDATES of them, then their messages by
# primary key with the scope's condition. A rare word, or a common one in a scope
# that holds many of its matches, is answered there. Otherwise (many matches, few
# in the scope) the index itself intersects the words with the scope's places
# (SEARCH_SQL), newest first, from where the first step stopped, each match joined
# to its message, stopping after `limit` + 1. Both keep the scope's own condition
# on the messages: the places in the index are a way to the rows, not the rule.
SEARCH_CANDIDATES = 200
CANDIDATES_SQL = (
    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid < ?"
    " ORDER BY rowid DESC LIMIT ?"
)
CANDIDATE_MESSAGES_SQL = _MESSAGE_SELECT + (
    "WHERE m.id IN ({ids}) AND m.deleted = 0 AND {scope} ORDER BY m.id DESC LIMIT ?"
)
SEARCH_SQL = _MESSAGE_SELECT.replace(
    "FROM messages AS m", "FROM messages_fts AS f JOIN messages AS m ON m.id = f.rowid"
) + (
    "WHERE messages_fts MATCH ? AND f.rowid < ? AND m.deleted = 0 AND {scope}"
    " ORDER BY f.rowid DESC LIMIT ?"
)

# New messages into the search index: a range of consecutive ids.
INDEX_NEW_SQL = (
    "INSERT INTO messages_fts (rowid, body, place)"
    " SELECT id, body, place FROM messages WHERE id BETWEEN ? AND ? AND deleted = 0"
)

ROOM_UNREAD_SQL = """
SELECT b.room_id,
       COALESCE((SELECT MAX(m.id) FROM messages AS m WHERE m.room_id = b.room_id), 0),
       (SELECT COUNT(*) FROM messages AS m
        WHERE m.room_id = b.room_id AND m.id > b.read_marker AND m.sender_id <> b.user_id),
       (SELECT COUNT(*) FROM mentions AS n
        WHERE n.user_id = b.user_id AND n.room_id = b.room_id AND n.msg_id > b.read_marker)
FROM memberships AS b
WHERE b.user_id = ? AND b.state = 'member'
ORDER BY b.room_id
"""

DM_UNREAD_SQL = """
SELECT d.peer_id, u.name,
       COALESCE((SELECT MAX(m.id) FROM messages AS m
                 WHERE m.dm_lo = min(d.user_id, d.peer_id)
                   AND m.dm_hi = max(d.user_id, d.peer_id)), 0),
       (SELECT COUNT(*) FROM messages AS m
        WHERE m.dm_lo = min(d.user_id, d.peer_id) AND m.dm_hi = max(d.user_id, d.peer_id)
          AND m.id > d.msg_id AND m.sender_id = d.peer_id)
FROM dm_reads AS d
JOIN users AS u ON u.id = d.peer_id
WHERE d.user_id = ?
ORDER BY u.name_key
"""

# A marker set without any message (mark_dm_read first) is not a conversation.
DM_PEERS_SQL = """
SELECT d.peer_id FROM dm_reads AS d
WHERE d.user_id = ? AND EXISTS (
    SELECT 1 FROM messages AS m
    WHERE m.dm_lo = min(d.user_id, d.peer_id) AND m.dm_hi = max(d.user_id, d.peer_id))
"""

# One indexed MAX per room rather than a GROUP BY over the whole index.
ROOM_LAST_IDS_SQL = """
SELECT r.id, (SELECT MAX(m.id) FROM messages AS m WHERE m.room_id = r.id) AS last
FROM rooms AS r
"""

_log = logging.getLogger(__name__)
_SANCTION_COLUMNS = "id, kind, target, until_ts, reason, created_by, created_at"
# The oldest account holding one of some look-alike keys: the name a new one looks like.
_LOOKALIKE_HOLDER = (
    "SELECT u.name FROM user_lookalikes AS k JOIN users AS u ON u.id = k.user_id"
    " WHERE k.lookalike_key IN ({marks}) ORDER BY u.id LIMIT 1"
)
_LOOKALIKES_TAKEN = "SELECT lookalike_key, user_id FROM user_lookalikes"
_ACTIVE = "lifted_at IS NULL AND (until_ts IS NULL OR until_ts > ?)"


@contextlib.contextmanager
def _translate() -> Iterator[None]:
    """Turn sqlite3's errors into the store's."""
    try:
        yield
    except sqlite3.IntegrityError as e:
        raise StoreError(f"the database refused a write: {e}") from e
    except sqlite3.Error as e:
        raise StoreUnavailable(f"the SQLite database failed: {e}") from e


def _probe(path: str) -> None:
    """Open and close the database file: raises sqlite3.Error if it cannot be opened."""
    sqlite3.connect(path).close()


def _in_transaction(conn: sqlite3.Connection, work: Work[T]) -> T:
    """Run `work` in one write transaction (in the database thread).

    BEGIN IMMEDIATE takes the write lock up front, so what `work` reads cannot
    change before it commits (even from another process).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return result


def _one(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first row of a query, or None."""
    return conn.execute(sql, tuple(params)).fetchone()


def _version(conn: sqlite3.Connection) -> int:
    """The newest version recorded in `schema_version`."""
    return int(_one(conn, "SELECT MAX(version) FROM schema_version")[0])


def _changed(conn: sqlite3.Connection, sql: str, params: Iterable[Any]) -> int:
    """Run a write statement; how many rows it changed."""
    return conn.execute(sql, tuple(params)).rowcount


def _inserted(conn: sqlite3.Connection, sql: str, params: Iterable[Any]) -> int:
    """Run an INSERT; the new row's id."""
    row_id = conn.execute(sql, tuple(params)).lastrowid
    assert row_id is not None
    return row_id


def _add_messages(batch: list[NewMessage], conn: sqlite3.Connection) -> list[StoredId]:
    """Store a batch (in a transaction, in the database thread; see `add_messages`)."""
    known: KnownNonces = {}
    senders, nonces = nonce_lookup(batch)
    if nonces:
        rows = conn.execute(
            f"SELECT {NONCE_COLUMNS} FROM messages"
            f" WHERE sender_id IN ({_marks(senders)}) AND nonce IN ({_marks(nonces)})",
            (*senders, *nonces),
        ).fetchall()
        known = dict(known_nonce(row) for row in rows)
    parent_ids = reply_lookup(batch)
    parents = None
    if parent_ids:
        sql = f"SELECT {PLACE_COLUMNS} FROM messages WHERE id IN ({_marks(parent_ids)})"
        parents = places(conn.execute(sql, parent_ids).fetchall())
    plan = plan_batch(batch, known, parents)
    ids: list[int] = []
    if plan.fresh:
        _insert_messages(conn, plan.fresh)
        # The write lock is ours and each insert takes the next id
        # (AUTOINCREMENT: max(ever used) + 1), so the ids are consecutive.
        last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        ids = list(range(last - len(plan.fresh) + 1, last + 1))
        mentions = mention_rows(plan.fresh, ids)
        if mentions:
            conn.executemany(
                "INSERT INTO mentions (user_id, room_id, msg_id) VALUES (?, ?, ?)", mentions
            ).close()
        # Into the search index in the same transaction, the batch in one statement
        # (sql/sqlite/008_search.sql says why not a trigger).
        conn.execute(INDEX_NEW_SQL, (ids[0], last)).close()
        pairs = conversation_rows(plan.fresh)
        if pairs:
            conn.executemany(
                "INSERT OR IGNORE INTO dm_reads (user_id, peer_id, msg_id) VALUES (?, ?, 0)",
                pairs,
            ).close()
    return plan.results(ids)


_MESSAGE_COLUMN_COUNT = len(MESSAGE_COLUMNS.split(","))
MESSAGE_ROW_MARKS = "(" + ", ".join("?" * _MESSAGE_COLUMN_COUNT) + ")"  # one row of values
ROWS_PER_INSERT = 1000


def _insert_messages(conn: sqlite3.Connection, messages: list[NewMessage]) -> None:
    """Insert `messages` in order, up to ROWS_PER_INSERT rows a statement.

    One multi-row INSERT rather than `executemany`: the sqlite3 module lets go of
    the GIL around each step of a statement and must take it back after, so
    `executemany` takes it back once a row, each time waiting for the event loop's
    thread to let go (up to the 5 ms switch interval while it runs Python). With
    one statement it is taken back once a batch (benchmarks/RESULTS.md, "Small
    rooms").
    """
    variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = min(ROWS_PER_INSERT, variables // _MESSAGE_COLUMN_COUNT)
    for start in range(0, len(messages), per_statement):
        chunk = messages[start : start + per_statement]
        marks = ", ".join([MESSAGE_ROW_MARKS] * len(chunk))
        values = [value for m in chunk for value in message_row(m)]
        conn.execute(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES {marks}", values).close()


def _search(
    conn: sqlite3.Connection,
    terms: list[SearchTerm],
    scope: SearchScope,
    start: int,
    limit: int,
) -> tuple[list[StoredMessage], bool]:
    """`Store.search` in one read transaction (in the database thread); see SEARCH_SQL."""
    where, scope_args = scope_sql(scope)
    conn.execute("BEGIN")
    try:
        candidates = [
            int(r[0])
            for r in conn.execute(CANDIDATES_SQL, (fts5_words(terms), start, SEARCH_CANDIDATES))
        ]
        rows: list[Any] = []
        if candidates:
            sql = CANDIDATE_MESSAGES_SQL.format(ids=_marks(candidates), scope=where)
            rows = conn.execute(sql, (*candidates, *scope_args, limit + 1)).fetchall()
        if len(rows) <= limit and len(candidates) == SEARCH_CANDIDATES:
            params = (fts5_match(terms, scope), candidates[-1], *scope_args, limit + 1 - len(rows))
            rows += conn.execute(SEARCH_SQL.format(scope=where), params).fetchall()
        # Kept as read: newest first.
        page, more = history_page(rows, limit, False)
        query = changes.reactions_query(page)
        if query is not None:
            page = changes.with_reactions(page, conn.execute(*query).fetchall())
    finally:
        conn.execute("COMMIT")
    return page, more


def _run_steps(conn: sqlite3.Connection, steps: changes.Steps) -> list[StoredChange | None]:
    """Run the statements of `changes.apply_changes` (in the database thread)."""
    try:
        sql, params = next(steps)
        while True:
            sql, params = steps.send(conn.execute(sql, params).fetchall())
    except StopIteration as done:
        result: list[StoredChange | None] = done.value
        return result


class SqliteStore(Store):
    """A store in an SQLite file (or `:memory:`), through aiosqlite."""

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", busy_timeout: float = 5.0
    ) -> None:
        if synchronous.upper() not in {"NORMAL", "FULL", "EXTRA"}:
            raise ValueError("synchronous is NORMAL, FULL or EXTRA")
        self._path = str(path)
        self._synchronous = synchronous.upper()
        self._busy_timeout = busy_timeout
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._checkpointer: Checkpointer | None = None

    # -- plumbing ----------------------------------------------------------------

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Run a query on its own (a snapshot of committed data) and fetch every row."""
        async with self._lock:
            db = self._conn()
            with _translate():
                return list(await db.execute_fetchall(sql, tuple(params)))

    async def _write(self, work: Work[T]) -> T:
        """Run `work` in one write transaction, in one hop to the database thread.

        Cancelling the caller does not stop the transaction (see the module's
        docstring): it commits or rolls back whatever happens to the caller.
        """
        async with self._lock:
            db = self._conn()
            with _translate():
                # `_execute` is aiosqlite's own queue (pinned in pyproject).
                result: T = await db._execute(  # type: ignore[no-untyped-call]
                    _in_transaction, db._conn, work
                )
            if self._checkpointer is not None:
                self._checkpointer.wrote()
            return result

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            raise StoreError("the store is already open")
        try:
            # Try the file first: when aiosqlite fails to connect, its thread outlives
            # the call and may report to an event loop that is gone by then.
            await asyncio.to_thread(_probe, self._path)
            # isolation_level=None: we write BEGIN/COMMIT ourselves.
            db = await aiosqlite.connect(
                self._path, isolation_level=None, timeout=self._busy_timeout
            )
        except sqlite3.Error as e:
            raise StoreUnavailable(f"cannot open the SQLite database {self._path}: {e}") from e
        self._db = db
        try:
            with _translate():
                await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
                mode = await self._set_wal(db)
                if self._path != ":memory:" and str(mode[0]).lower() != "wal":
                    raise StoreError(f"{self._path}: cannot use WAL mode (got {mode[0]})")
                await db.execute(f"PRAGMA synchronous = {self._synchronous}")
                await db.execute("PRAGMA foreign_keys = ON")
            await self._migrate()
            if self._path != ":memory:":
                await db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")
                self._checkpointer = Checkpointer(self._path)
                await self._checkpointer.start()
        except BaseException:
            self._db = None
            await self._stop_checkpoints()
            await db.close()
            raise

    async def _stop_checkpoints(self) -> None:
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            with _translate():
                await checkpointer.close()

    async def _set_wal(self, db: aiosqlite.Connection) -> Any:
        """Switch to WAL mode. While another connection opens the same new file, SQLite
        may answer "locked" at once, without its busy handler (which could deadlock
        there): wait and try again, for at most the busy timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_timeout
        while True:
            try:
                rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
                return rows[0]
            except sqlite3.OperationalError as e:
                if e.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.005)

    async def _migrate(self) -> None:
        """Apply pending migrations and create missing default rooms, atomically:
        SQLite's DDL is transactional and BEGIN IMMEDIATE excludes other openers."""
        migrations = load_migrations("sqlite")
        now = int(time.time() * 1000)

        def work(conn: sqlite3.Connection) -> None:
            exists = _one(
                conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            )
            current = _version(conn) if exists else 0
            newer_than_code(current, migrations)
            for migration in migrations[current:]:
                for statement in migration.statements:
                    conn.execute(statement)
                check_recorded(migration, _version(conn))
            _fill_lookalikes(conn)
            for name, approval in DEFAULT_ROOMS:
                conn.execute(
                    "INSERT OR IGNORE INTO rooms (name, name_key, approval, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (name, name_key(name), int(approval), now),
                )

        await self._write(work)

    async def backup(self, path: str) -> None:
        async with self._lock:
            db = self._conn()
            with _translate():
                # SQLite's online backup, in the database thread: a consistent copy
                # while the server goes on (writes wait for each step).
                await db._execute(_backup, db._conn, path)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        db = self._db
        if db is None:
            return
        async with self._lock:  # let the operation in progress finish
            self._db = None
            await self._stop_checkpoints()
            with contextlib.suppress(sqlite3.Error):
                await db.execute("PRAGMA optimize")
            await db.close()

    async def ping(self) -> None:
        try:
            await self._rows("SELECT 1")
        except StoreUnavailable:
            raise
        except StoreError as e:  # not open (any more)
            raise StoreUnavailable(str(e)) from e

    # -- users -------------------------------------------------------------------

    async def create_user(
        self, name: str, password_hash: str, now: int, ip: str | None
    ) -> UserRecord:
        def work(conn: sqlite3.Connection) -> int:
            try:
                user_id = _inserted(
                    conn,
                    "INSERT INTO users (name, name_key, password_hash, created_at, last_ip)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (name, name_key(name), password_hash, now, ip),
                )
            except sqlite3.IntegrityError as e:
                raise Conflict(f"the user name {name!r} is taken") from e
            keys = account_keys(name)
            try:
                conn.executemany(
                    "INSERT INTO user_lookalikes (lookalike_key, user_id) VALUES (?, ?)",
                    [(key, user_id) for key in keys],
                )
            except sqlite3.IntegrityError as e:
                holder = _one(conn, _LOOKALIKE_HOLDER.format(marks=_marks(keys)), keys)
                raise Conflict(
                    f"the user name {name!r} looks like one taken",
                    lookalike_of=holder[0] if holder is not None else None,
                ) from e
            if ip is not None:
                _remember_address(conn, user_id, ip, now)
            return user_id

        user_id = await self._write(work)
        return UserRecord(user_id, name, password_hash, now, ip)

    async def get_user(self, name: str) -> UserRecord | None:
        rows = await self._rows(
            f"SELECT {_USER_COLUMNS} FROM users WHERE name_key = ?", (name_key(name),)
        )
        return user_record(rows[0]) if rows else None

    async def get_users(self) -> list[UserRecord]:
        return [
            user_record(r)
            for r in await self._rows(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")
        ]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        sql = "UPDATE users SET password_hash = ? WHERE id = ?"
        await self._write(lambda conn: _changed(conn, sql, (password_hash, user_id)))

    async def record_login(self, user_id: int, ip: str | None, now: int) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE users SET last_ip = ?, last_login_at = ? WHERE id = ?", (ip, now, user_id)
            )
            if ip is not None:
                _remember_address(conn, user_id, ip, now)

        await self._write(work)

    async def set_role(self, user_id: int, role: Role) -> None:
        sql = "UPDATE users SET role = ? WHERE id = ?"
        await self._write(lambda conn: _changed(conn, sql, (str(role), user_id)))

    async def known_address(self, user_id: int, ip: str) -> bool:
        rows = await self._rows(
            "SELECT 1 FROM login_addresses WHERE user_id = ? AND ip = ?", (user_id, ip)
        )
        return bool(rows)

    # -- session tokens ----------------------------------------------------------

    async def add_session(self, digest: str, user_id: int, now: int, lifetime: int) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM sessions WHERE user_id = ? AND used_at <= ?", (user_id, now - lifetime)
            )
            conn.execute(
                "INSERT INTO sessions (digest, user_id, created_at, used_at) VALUES (?, ?, ?, ?)",
                (digest, user_id, now, now),
            )

        await self._write(work)

    async def session_user(self, digest: str, now: int, lifetime: int) -> int | None:
        rows = await self._rows(
            "SELECT digest, user_id, used_at FROM sessions WHERE digest = ?", (digest,)
        )
        user_id, step = session_found(rows, digest, now, lifetime)
        if step == "expire":
            sql = "DELETE FROM sessions WHERE digest = ?"
            await self._write(lambda conn: _changed(conn, sql, (digest,)))
        elif step == "touch":
            sql = "UPDATE sessions SET used_at = ? WHERE digest = ?"
            await self._write(lambda conn: _changed(conn, sql, (now, digest)))
        return user_id

    async def revoke_sessions(self, user_id: int, digest: str | None = None) -> int:
        sql = "DELETE FROM sessions WHERE user_id = ?"
        params: tuple[object, ...] = (user_id,)
        if digest is not None:
            sql, params = sql + " AND digest = ?", (user_id, digest)
        return await self._write(lambda conn: _changed(conn, sql, params))

    # -- rooms -------------------------------------------------------------------

    async def create_room(self, name: str, approval: bool) -> RoomRecord:
        sql = "INSERT INTO rooms (name, name_key, approval, created_at) VALUES (?, ?, ?, ?)"
        params = (name, name_key(name), int(approval), int(time.time() * 1000))
        try:
            room_id = await self._write(lambda conn: _inserted(conn, sql, params))
        except StoreError as e:
            if isinstance(e.__cause__, sqlite3.IntegrityError):
                raise Conflict(f"the room name {name!r} is taken") from e
            raise
        return RoomRecord(room_id, name, approval)

    async def get_rooms(self) -> list[RoomRecord]:
        rows = await self._rows("SELECT id, name, approval, topic FROM rooms ORDER BY name_key")
        return [RoomRecord(int(r[0]), str(r[1]), bool(r[2]), r[3]) for r in rows]

    async def set_topic(self, room_id: int, topic: str | None) -> None:
        sql = "UPDATE rooms SET topic = ? WHERE id = ?"
        await self._write(lambda conn: _changed(conn, sql, (topic, room_id)))

    # -- memberships -------------------------------------------------------------

    async def get_memberships(self) -> list[Membership]:
        rows = await self._rows(
            "SELECT user_id, room_id, state, read_marker, since FROM memberships"
            " ORDER BY user_id, room_id"
        )
        return [Membership(r[0], r[1], MembershipState(r[2]), r[3], r[4]) for r in rows]

    async def set_membership(
        self, user_id: int, room_id: int, state: MembershipState, now: int
    ) -> Membership:
        def work(conn: sqlite3.Connection) -> Membership:
            row = _one(
                conn,
                "SELECT state, read_marker, since FROM memberships"
                " WHERE user_id = ? AND room_id = ?",
                (user_id, room_id),
            )
            if row is not None and row[0] == state:
                return Membership(user_id, room_id, state, row[1], row[2])
            marker = 0
            if state == MembershipState.MEMBER:
                last = _one(conn, "SELECT MAX(id) FROM messages WHERE room_id = ?", (room_id,))
                marker = int(last[0] or 0)
            conn.execute(
                "INSERT INTO memberships (user_id, room_id, state, read_marker, since)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, room_id) DO UPDATE SET"
                " state = excluded.state, read_marker = excluded.read_marker,"
                " since = excluded.since",
                (user_id, room_id, str(state), marker, now),
            )
            return Membership(user_id, room_id, state, marker, now)

        return await self._write(work)

    async def delete_membership(self, user_id: int, room_id: int) -> bool:
        sql = "DELETE FROM memberships WHERE user_id = ? AND room_id = ?"
        return await self._write(lambda conn: _changed(conn, sql, (user_id, room_id)) > 0)

    # -- messages ----------------------------------------------------------------

    async def add_messages(self, batch: list[NewMessage]) -> list[StoredId]:
        if not batch:
            return []
        # The hot path of every send: the whole batch in one hop, like every write.
        return await self._write(functools.partial(_add_messages, batch))

    async def room_history(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        if after is not None:
            return await self._page(ROOM_AFTER_SQL, (room_id, after, limit + 1), limit, False)
        start = _NO_LIMIT if before is None else before
        return await self._page(ROOM_BEFORE_SQL, (room_id, start, limit + 1), limit, True)

    async def dm_history(
        self, user_id: int, peer_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        lo, hi = dm_pair(user_id, peer_id)
        if after is not None:
            return await self._page(DM_AFTER_SQL, (lo, hi, after, limit + 1), limit, False)
        start = _NO_LIMIT if before is None else before
        return await self._page(DM_BEFORE_SQL, (lo, hi, start, limit + 1), limit, True)

    async def _page(
        self, sql: str, params: tuple[Any, ...], limit: int, newest_first: bool
    ) -> tuple[list[StoredMessage], bool]:
        """A history page and its reactions: two queries, whatever the page's size."""
        page, more = history_page(await self._rows(sql, params), limit, newest_first)
        query = changes.reactions_query(page)
        if query is not None:
            page = changes.with_reactions(page, await self._rows(*query))
        return page, more

    async def search(
        self, terms: list[SearchTerm], scope: SearchScope, *, before: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        if not terms or (not scope.room_ids and scope.user_id is None):
            return [], False
        start = _NO_LIMIT if before is None else before
        async with self._lock:
            db = self._conn()
            with _translate():
                # One hop to the database thread, one snapshot for both steps.
                result: tuple[list[StoredMessage], bool] = await db._execute(  # type: ignore[no-untyped-call]
                    _search, db._conn, terms, scope, start, limit
                )
                return result

    async def messages_since(self, ts: int, room_id: int | None = None) -> list[StoredMessage]:
        if room_id is None:
            rows = await self._rows(_MESSAGE_SELECT + "WHERE m.ts >= ? ORDER BY m.id", (ts,))
        else:
            rows = await self._rows(
                _MESSAGE_SELECT + "WHERE m.room_id = ? AND m.ts >= ? ORDER BY m.id", (room_id, ts)
            )
        return [message_record(r) for r in rows]

    async def message_log(self, after: int, limit: int) -> list[LoggedMessage]:
        rows = await self._rows(_LOG_SQL, (after, limit))
        return [logged_message(r) for r in rows]

    async def last_msg_id(self) -> int:
        rows = await self._rows("SELECT COALESCE(MAX(id), 0) FROM messages")
        return int(rows[0][0])

    # -- changes to messages -------------------------------------------------------

    async def message_ref(self, msg_id: int) -> MessageRef | None:
        return changes.message_ref(await self._rows(changes.MESSAGE_REF_SQL, (msg_id,)))

    async def add_changes(self, batch: list[NewChange]) -> list[StoredChange | None]:
        if not batch:
            return []
        steps = changes.apply_changes(batch, counter=False)
        return await self._write(functools.partial(_run_steps, steps=steps))

    async def changes_since(
        self, since: int, user_id: int, room_ids: list[int], limit: int
    ) -> tuple[list[ChangeRecord], bool]:
        rows = await self._rows(*changes.changes_query(since, user_id, room_ids, limit))
        return changes.changes_page(rows, limit)

    async def last_change_id(self) -> int:
        return int((await self._rows(changes.LAST_CHANGE_SQL))[0][0])

    # -- read markers and unread counts -------------------------------------------

    async def mark_room_read(self, user_id: int, room_id: int, msg_id: int) -> bool:
        sql = (
            "UPDATE memberships SET read_marker = ? WHERE user_id = ? AND room_id = ?"
            " AND state = 'member' AND read_marker < ?"
        )
        params = (msg_id, user_id, room_id, msg_id)
        return await self._write(lambda conn: _changed(conn, sql, params) > 0)

    async def mark_dm_read(self, user_id: int, peer_id: int, msg_id: int) -> bool:
        if msg_id <= 0:
            return False

        def work(conn: sqlite3.Connection) -> bool:
            changed = _changed(
                conn,
                "UPDATE dm_reads SET msg_id = ? WHERE user_id = ? AND peer_id = ? AND msg_id < ?",
                (msg_id, user_id, peer_id, msg_id),
            )
            if not changed:
                changed = _changed(
                    conn,
                    "INSERT OR IGNORE INTO dm_reads (user_id, peer_id, msg_id) VALUES (?, ?, ?)",
                    (user_id, peer_id, msg_id),
                )
            return changed > 0

        return await self._write(work)

    async def room_unread(self, user_id: int) -> list[RoomUnread]:
        rows = await self._rows(ROOM_UNREAD_SQL, (user_id,))
        return [RoomUnread(r[0], r[1], r[2], r[3]) for r in rows]

    async def room_last_ids(self) -> dict[int, int]:
        rows = await self._rows(ROOM_LAST_IDS_SQL)
        return {r[0]: r[1] for r in rows if r[1] is not None}

    async def dm_peers(self, user_id: int) -> list[int]:
        rows = await self._rows(DM_PEERS_SQL, (user_id,))
        return [int(r[0]) for r in rows]

    async def dm_unread(self, user_id: int) -> list[DmUnread]:
        rows = await self._rows(DM_UNREAD_SQL, (user_id,))
        # A marker set without any message (mark_dm_read first) is not a conversation.
        return [DmUnread(r[0], r[1], r[2], r[3]) for r in rows if r[2] > 0]

    # -- sanctions -----------------------------------------------------------------

    async def add_sanction(
        self,
        kind: SanctionKind,
        target: str,
        until: int | None,
        reason: str,
        created_by: str,
        now: int,
    ) -> Sanction:
        sql = (
            "INSERT INTO sanctions (kind, target, until_ts, reason, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        params = (str(kind), target, until, reason, created_by, now)
        sanction_id = await self._write(lambda conn: _inserted(conn, sql, params))
        return Sanction(sanction_id, kind, target, until, reason, created_by, now)

    async def lift_sanctions(self, kind: SanctionKind, target: str, now: int) -> int:
        sql = f"UPDATE sanctions SET lifted_at = ? WHERE kind = ? AND target = ? AND {_ACTIVE}"
        params = (now, str(kind), target, now)
        return await self._write(lambda conn: _changed(conn, sql, params))

    async def active_sanctions(self, now: int) -> list[Sanction]:
        rows = await self._rows(
            f"SELECT {_SANCTION_COLUMNS} FROM sanctions WHERE {_ACTIVE} ORDER BY id", (now,)
        )
        return [sanction_record(r) for r in rows]


def _backup(conn: sqlite3.Connection, path: str) -> None:
    """Copy the database to a new file (in the database thread)."""
    where = Path(path)
    if where.exists():
        raise StoreError(f"{path} exists: a backup goes to a new file")
    if not where.parent.is_dir():
        raise StoreError(f"there is no folder {where.parent} to put {where.name} in")
    target = sqlite3.connect(path)
    try:
        conn.backup(target, pages=1024)
    finally:
        target.close()


def _fill_lookalikes(conn: sqlite3.Connection) -> None:
    """Add the look-alike keys of the accounts made before schema 10, if not done yet
    (in the transaction that migrates, before the server serves anyone)."""
    (up_to,) = _one(conn, "SELECT up_to FROM lookalike_backlog WHERE one = 1")
    if not up_to:
        return
    taken = {str(k): int(u) for k, u in conn.execute(_LOOKALIKES_TAKEN)}
    users = conn.execute(
        "SELECT id, name FROM users WHERE id <= ? ORDER BY id", (up_to,)
    ).fetchall()
    rows = backfill_keys(((int(i), str(n)) for i, n in users), taken)
    conn.executemany("INSERT INTO user_lookalikes (lookalike_key, user_id) VALUES (?, ?)", rows)
    conn.execute("UPDATE lookalike_backlog SET up_to = 0 WHERE one = 1")
    _log.info("look-alike names: the keys of %d existing accounts added (schema 10)", len(users))


def _remember_address(conn: sqlite3.Connection, user_id: int, ip: str, now: int) -> None:
    """Note that the user logged in from `ip` (see `Store.known_address`)."""
    conn.execute(
        "INSERT INTO login_addresses (user_id, ip, last_login_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id, ip) DO UPDATE SET last_login_at = excluded.last_login_at",
        (user_id, ip, now),
    )


def _marks(values: list[Any]) -> str:
    return ", ".join("?" * len(values))
