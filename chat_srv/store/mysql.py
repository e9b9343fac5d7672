"""The MySQL/MariaDB store, through an aiomysql connection pool.

Every operation runs in one explicit transaction on a pooled connection (autocommit
off), bounded by a timeout that covers waiting for a connection and the queries:
the store never hangs. A failure of the connection (server gone, connection killed,
no answer in time) raises `StoreUnavailable` and the connection is thrown away, so
the pool reconnects by itself when the server is back. An operation whose
connection fails before COMMIT is sent (typically a pooled connection that died
while idle) runs once more on a fresh connection: the server has rolled it back.

An operation runs in a task of its own that the caller's cancellation does not
reach: a caller that goes away (its client closed the connection) stops waiting,
while the transaction still commits or rolls back and its connection goes back to
the pool. Cancelled half-way, a query would leave a connection in an unknown state
and, at the wrong moment, a pool slot that is never given back.

Text is utf8mb4 with binary collations: names are compared by the `name_key` column
the store computes, never by a collation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiomysql
import pymysql

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
from chat_srv.store.mysql_connect import (
    connection_lost,
    describe,
    error_code,
    open_error,
    parse_mysql_url,
)
from chat_srv.store.mysql_search import MysqlSearch
from chat_srv.store.rows import (
    history_page,
    logged_message,
    message_record,
    sanction_record,
    session_found,
    user_record,
)
from chat_srv.store.search import index_rows

T = TypeVar("T")
_log = logging.getLogger(__name__)
Cursor = Any  # aiomysql ships no type information

_NO_LIMIT = 2**63 - 1  # larger than any id: "before nothing" uses the same range query
_INIT_COMMAND = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'"
_SCHEMA_LOCK = "LEFT(CONCAT('chat_schema:', DATABASE()), 64)"  # lock names: 64 chars
_SCHEMA_LOCK_WAIT = 30  # seconds another server may hold the schema lock
_DEADLOCK_CODES = frozenset({1205, 1213})  # lock wait timeout, deadlock: run again
_ATTEMPTS = 3
_PING_SECONDS = 2.0  # `ping` is a health check: it need not wait the whole timeout

_USER_COLUMNS = "id, name, password_hash, created_at, last_ip, role"
# The oldest account holding one of some look-alike keys: the name a new one looks like.
_LOOKALIKE_HOLDER = (
    "SELECT u.name FROM user_lookalikes AS k JOIN users AS u ON u.id = k.user_id"
    " WHERE k.lookalike_key IN ({marks}) ORDER BY u.id LIMIT 1 LOCK IN SHARE MODE"
)
# Names through scalar subqueries, not joins: a join may be buffered, which loses
# the index order and sorts the whole range. FORCE INDEX fixes the plan (a range
# of the room or conversation index) whatever the optimizer guesses from statistics.
_MESSAGE_SELECT = """
SELECT m.id, m.ts,
       (SELECT s.name FROM users AS s WHERE s.id = m.sender_id),
       m.body,
       (SELECT r.name FROM rooms AS r WHERE r.id = m.room_id),
       (SELECT t.name FROM users AS t WHERE t.id = m.recipient_id),
       m.reply_to, m.action, m.edited_at, m.deleted
FROM messages AS m {hint}
"""
_ROOM_SELECT = _MESSAGE_SELECT.format(hint="FORCE INDEX (messages_room)")
_DM_SELECT = _MESSAGE_SELECT.format(hint="FORCE INDEX (messages_dm)")
ROOM_BEFORE_SQL = _ROOM_SELECT + "WHERE m.room_id = %s AND m.id < %s ORDER BY m.id DESC LIMIT %s"
ROOM_AFTER_SQL = _ROOM_SELECT + "WHERE m.room_id = %s AND m.id > %s ORDER BY m.id LIMIT %s"
DM_BEFORE_SQL = (
    _DM_SELECT + "WHERE m.dm_lo = %s AND m.dm_hi = %s AND m.id < %s ORDER BY m.id DESC LIMIT %s"
)
DM_AFTER_SQL = (
    _DM_SELECT + "WHERE m.dm_lo = %s AND m.dm_hi = %s AND m.id > %s ORDER BY m.id LIMIT %s"
)
# The log in id order (a cluster node catching up): a range of the primary key.
_LOG_SQL = (
    _MESSAGE_SELECT.format(hint="").replace(
        "FROM messages", ", m.sender_id, m.room_id, m.recipient_id\nFROM messages"
    )
    + "WHERE m.id > %s ORDER BY m.id LIMIT %s"
)
_SINCE_SQL = _MESSAGE_SELECT.format(hint="") + "WHERE m.ts >= %s ORDER BY m.id"
_ROOM_SINCE_SQL = _MESSAGE_SELECT.format(hint="") + (
    "WHERE m.room_id = %s AND m.ts >= %s ORDER BY m.id"
)
_SEARCH_SECONDS = 3.0  # at most, for one search (less with a short timeout)
_SEARCH_BACKLOG_CHUNK = 2_000  # messages indexed per transaction after an upgrade
_INDEX_ROWS_PER_STATEMENT = 10_000  # about 400 KiB of SQL


def _time_bound(sql: str, mariadb: bool, seconds: float) -> str:
    """`sql` (a SELECT) stopped by the server after `seconds`: MariaDB's SET STATEMENT
    max_statement_time, MySQL's MAX_EXECUTION_TIME hint."""
    if mariadb:
        return f"SET STATEMENT max_statement_time = {seconds:g} FOR {sql.lstrip()}"
    return sql.replace("SELECT", f"SELECT /*+ MAX_EXECUTION_TIME({int(seconds * 1000)}) */", 1)


# One room at a time: as correlated subqueries MariaDB reads the room's whole index
# (a `ref` scan) instead of the range after the marker.
_MEMBER_MARKERS_SQL = """
SELECT room_id, read_marker FROM memberships
WHERE user_id = %s AND state = 'member'
ORDER BY room_id
"""
_ROOM_LAST_SQL = "SELECT COALESCE(MAX(id), 0) FROM messages WHERE room_id = %s"
_ROOM_UNREAD_COUNT_SQL = """
SELECT COUNT(*) FROM messages
WHERE room_id = %s AND id > %s AND sender_id <> %s
"""
_ROOM_MENTIONS_SQL = """
SELECT COUNT(*) FROM mentions
WHERE room_id = %s AND msg_id > %s AND user_id = %s
"""
_DM_MARKERS_SQL = """
SELECT d.peer_id, u.name, d.msg_id
FROM dm_reads AS d
JOIN users AS u ON u.id = d.peer_id
WHERE d.user_id = %s
ORDER BY u.name_key
"""
# A marker set without any message (mark_dm_read first) is not a conversation.
_DM_PEERS_SQL = """
SELECT d.peer_id FROM dm_reads AS d
WHERE d.user_id = %s AND EXISTS (
    SELECT 1 FROM messages AS m
    WHERE m.dm_lo = LEAST(d.user_id, d.peer_id) AND m.dm_hi = GREATEST(d.user_id, d.peer_id))
"""
_DM_LAST_SQL = "SELECT COALESCE(MAX(id), 0) FROM messages WHERE dm_lo = %s AND dm_hi = %s"
_DM_UNREAD_COUNT_SQL = """
SELECT COUNT(*) FROM messages
WHERE dm_lo = %s AND dm_hi = %s AND id > %s AND sender_id = %s
"""
_ROOM_LAST_IDS_SQL = """
SELECT r.id, (SELECT MAX(m.id) FROM messages AS m WHERE m.room_id = r.id) FROM rooms AS r
"""
_SANCTION_COLUMNS = "id, kind, target, until_ts, reason, created_by, created_at"
_ACTIVE = "lifted_at IS NULL AND (until_ts IS NULL OR until_ts > %s)"


class _Retry(Exception):
    """Run the transaction again (a concurrent writer got there first)."""


class _Unsent(Exception):
    """The connection failed before COMMIT was sent: the server rolls back what it
    had received, so the transaction can run again on another connection."""


def _marks(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


_unfinished: set[asyncio.Task[Any]] = set()  # operations whose callers stopped waiting


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await `work` in a task of its own, which cancelling the caller does not stop."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            # Keep it alive until it is done, and take its outcome then: nobody waits.
            _unfinished.add(task)
            task.add_done_callback(_forget_outcome)
        raise


def _forget_outcome(task: asyncio.Task[Any]) -> None:
    _unfinished.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as lost


async def _fetchall(cur: Cursor, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
    await cur.execute(sql, args)
    return list(await cur.fetchall())


def _placeholders(sql: str) -> str:
    """A statement of `chat_srv.store.changes` (`?` placeholders) for aiomysql."""
    return sql.replace("?", "%s")


async def _shared(cur: Cursor, statement: changes.Statement) -> list[Any]:
    """Run one of `chat_srv.store.changes`' statements; its rows."""
    sql, args = statement
    return await _fetchall(cur, _placeholders(sql), args)


class MysqlStore(Store):
    """A store in a MySQL or MariaDB database, through a pool of connections."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        timeout: float = 5.0,
        search_seconds: float = _SEARCH_SECONDS,
    ) -> None:
        self._url = parse_mysql_url(url)
        self._pool_size = pool_size
        self._timeout = timeout
        self._pool: Any = None
        # A search whose words are common but whose phrase is rare may read many
        # candidates (chat_srv/store/mysql_search.py): a few at a time, each stopped
        # past a time below the store's timeout, so that searches never hold the pool
        # nor run on unseen.
        self._searches = asyncio.Semaphore(max(1, pool_size // 4))
        # Made again at `open`, once the server says whether it is MariaDB or MySQL
        # (they bound a statement's time differently).
        seconds = round(min(search_seconds, timeout * 0.6), 3)
        self._search = MysqlSearch(
            _MESSAGE_SELECT.format(hint=""), lambda sql: _time_bound(sql, True, seconds), seconds
        )
        # Messages are inserted one batch at a time, so ids become visible in order.
        self._write_lock = asyncio.Lock()

    # -- plumbing ----------------------------------------------------------------

    def _unavailable(self, error: BaseException, seconds: float) -> StoreUnavailable:
        if isinstance(error, TimeoutError):
            return StoreUnavailable(
                f"MySQL at {self._url.where} did not answer within {seconds:g} s"
            )
        return StoreUnavailable(f"MySQL at {self._url.where} failed: {describe(error)}")

    async def _run(
        self,
        op: Callable[[Cursor], Awaitable[T]],
        *,
        read_only: bool = False,
        seconds: float | None = None,
    ) -> T:
        """Run `op` in a transaction, committed if it returns, rolled back if not."""
        seconds = seconds or self._timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                return await _to_the_end(self._attempt(op, seconds))
            except _Retry as e:
                if attempt < _ATTEMPTS:
                    continue
                raise StoreUnavailable("too many concurrent writers; try again") from e
            except _Unsent as e:
                # Typically a pooled connection that died while idle: once more, on
                # a fresh one.
                if attempt < 2:
                    continue
                cause = e.__cause__ or e
                raise self._unavailable(cause, seconds) from cause
            except TimeoutError as e:
                raise self._unavailable(e, seconds) from e
            except (pymysql.err.MySQLError, OSError) as e:
                if error_code(e) in _DEADLOCK_CODES and attempt < _ATTEMPTS:
                    continue
                # Lost while committing: a read has its answer all the same, but a
                # write may or may not have been committed, so it is not repeated.
                if connection_lost(e) and read_only and attempt < 2:
                    continue
                if connection_lost(e) or isinstance(e, pymysql.err.OperationalError):
                    raise self._unavailable(e, seconds) from e
                raise StoreError(f"MySQL refused an operation: {describe(e)}") from e

    async def _attempt(self, op: Callable[[Cursor], Awaitable[T]], seconds: float) -> T:
        pool = self._pool
        if pool is None:
            raise StoreError("the store is not open")
        async with asyncio.timeout(seconds):
            try:
                conn = await pool.acquire()
            except (pymysql.err.MySQLError, OSError) as e:
                if connection_lost(e):
                    raise _Unsent from e
                raise
            committing = False
            try:
                cur = await conn.cursor()
                result = await op(cur)
                committing = True
                await conn.commit()
                return result
            except BaseException as e:
                await self._settle(conn, e)
                if connection_lost(e) and not committing:
                    raise _Unsent from e
                raise
            finally:
                # A closed connection leaves the pool; the pool opens new ones.
                await pool.release(conn)

    @staticmethod
    async def _settle(conn: Any, error: BaseException) -> None:
        """After a failed operation: roll back if the server answered, else drop the
        connection (its state is unknown: cancelled mid-query, or broken)."""
        answered = isinstance(error, StoreError | _Retry) or (
            isinstance(error, pymysql.err.MySQLError) and not connection_lost(error)
        )
        if answered and not conn.closed:
            try:
                await conn.rollback()
                return
            except asyncio.CancelledError:
                conn.close()
                raise
            except Exception:  # the connection broke as well: drop it
                pass
        conn.close()

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            raise StoreError("the store is already open")
        url = self._url
        try:
            async with asyncio.timeout(self._timeout):
                pool = await aiomysql.create_pool(
                    minsize=1,
                    maxsize=self._pool_size,
                    host=url.host,
                    port=url.port,
                    user=url.user,
                    password=url.password,
                    db=url.database,
                    charset="utf8mb4",
                    autocommit=False,
                    connect_timeout=self._timeout,
                    init_command=_INIT_COMMAND,
                    pool_recycle=3600,  # under MySQL's wait_timeout (8 h by default)
                )
        except TimeoutError as e:
            raise self._unavailable(e, self._timeout) from e
        except (pymysql.err.MySQLError, OSError) as e:
            raise open_error(url, e) from e
        self._pool = pool
        try:
            await self._run(self._migrate, seconds=_SCHEMA_LOCK_WAIT + self._timeout)
            ((version,),) = await self._select("SELECT VERSION()")
            mariadb = "mariadb" in str(version).lower()
            seconds = self._search.seconds
            self._search = MysqlSearch(
                _MESSAGE_SELECT.format(hint=""),
                lambda sql: _time_bound(sql, mariadb, seconds),
                seconds,
            )
            await self._index_backlog()
        except BaseException:
            await self.close()
            raise

    async def _migrate(self, cur: Cursor) -> None:
        """Apply pending migrations and create missing default rooms, holding a named
        lock: MySQL's DDL commits on its own, so only the lock keeps two servers
        starting at once from both applying a migration."""
        migrations = load_migrations("mysql")
        await cur.execute(f"SELECT GET_LOCK({_SCHEMA_LOCK}, %s)", (_SCHEMA_LOCK_WAIT,))
        (got,) = await cur.fetchone()
        if got != 1:
            raise StoreUnavailable(
                f"another server held the schema lock for {_SCHEMA_LOCK_WAIT} s; try again"
            )
        try:
            await cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables"
                " WHERE table_schema = DATABASE() AND table_name = 'schema_version'"
            )
            current = 0
            if (await cur.fetchone())[0]:
                await cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                current = int((await cur.fetchone())[0])
            newer_than_code(current, migrations)
            for migration in migrations[current:]:
                for statement in migration.statements:
                    await cur.execute(statement)
                await cur.connection.commit()
                await cur.execute("SELECT MAX(version) FROM schema_version")
                check_recorded(migration, int((await cur.fetchone())[0]))
            await _fill_lookalikes(cur)
            keys = [name_key(name) for name, _ in DEFAULT_ROOMS]
            rows = await _fetchall(
                cur, f"SELECT name_key FROM rooms WHERE name_key IN ({_marks(keys)})", tuple(keys)
            )
            present = {r[0] for r in rows}
            now = int(time.time() * 1000)
            for name, approval in DEFAULT_ROOMS:
                if name_key(name) not in present:
                    await cur.execute(
                        "INSERT INTO rooms (name, name_key, approval, created_at)"
                        " VALUES (%s, %s, %s, %s)",
                        (name, name_key(name), approval, now),
                    )
            await cur.connection.commit()
        finally:
            # A broken connection has released the lock already.
            with contextlib.suppress(pymysql.err.MySQLError, OSError):
                await cur.execute(f"SELECT RELEASE_LOCK({_SCHEMA_LOCK})")
                await cur.fetchall()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.close()
        try:
            async with asyncio.timeout(self._timeout):
                await pool.wait_closed()
        except TimeoutError:
            pool.terminate()  # an operation is stuck: cut its connection

    async def ping(self) -> None:
        async def op(cur: Cursor) -> None:
            await cur.execute("SELECT 1")
            await cur.fetchall()

        try:
            await self._run(op, read_only=True, seconds=min(_PING_SECONDS, self._timeout))
        except StoreUnavailable:
            raise
        except StoreError as e:  # not open, or refused
            raise StoreUnavailable(str(e)) from e

    # -- users -------------------------------------------------------------------

    async def create_user(
        self, name: str, password_hash: str, now: int, ip: str | None
    ) -> UserRecord:
        async def op(cur: Cursor) -> int:
            try:
                await cur.execute(
                    "INSERT INTO users (name, name_key, password_hash, created_at, last_ip)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (name, name_key(name), password_hash, now, ip),
                )
            except pymysql.err.IntegrityError as e:
                if error_code(e) == 1062:
                    raise Conflict(f"the user name {name!r} is taken") from e
                raise
            user_id = int(cur.lastrowid)
            keys = account_keys(name)
            try:
                await cur.executemany(
                    "INSERT INTO user_lookalikes (lookalike_key, user_id) VALUES (%s, %s)",
                    [(key, user_id) for key in keys],
                )
            except pymysql.err.IntegrityError as e:
                if error_code(e) != 1062:
                    raise
                # A locking read: the row that refused this one, committed meanwhile.
                holder = await _fetchall(
                    cur, _LOOKALIKE_HOLDER.format(marks=_marks(keys)), tuple(keys)
                )
                raise Conflict(
                    f"the user name {name!r} looks like one taken",
                    lookalike_of=str(holder[0][0]) if holder else None,
                ) from e
            if ip is not None:
                await _remember_address(cur, user_id, ip, now)
            return user_id

        return UserRecord(await self._run(op), name, password_hash, now, ip)

    async def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        async def op(cur: Cursor) -> list[Any]:
            return await _fetchall(cur, sql, args)

        return await self._run(op, read_only=True)

    async def _change(self, sql: str, args: tuple[Any, ...]) -> int:
        async def op(cur: Cursor) -> int:
            await cur.execute(sql, args)
            return int(cur.rowcount)

        return await self._run(op)

    async def get_user(self, name: str) -> UserRecord | None:
        rows = await self._select(
            f"SELECT {_USER_COLUMNS} FROM users WHERE name_key = %s", (name_key(name),)
        )
        return user_record(rows[0]) if rows else None

    async def get_users(self) -> list[UserRecord]:
        return [
            user_record(r)
            for r in await self._select(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")
        ]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self._change(
            "UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
        )

    async def record_login(self, user_id: int, ip: str | None, now: int) -> None:
        async def op(cur: Cursor) -> None:
            await cur.execute(
                "UPDATE users SET last_ip = %s, last_login_at = %s WHERE id = %s",
                (ip, now, user_id),
            )
            if ip is not None:
                await _remember_address(cur, user_id, ip, now)

        await self._run(op)

    async def set_role(self, user_id: int, role: Role) -> None:
        await self._change("UPDATE users SET role = %s WHERE id = %s", (str(role), user_id))

    async def known_address(self, user_id: int, ip: str) -> bool:
        rows = await self._select(
            "SELECT 1 FROM login_addresses WHERE user_id = %s AND ip = %s", (user_id, ip)
        )
        return bool(rows)

    # -- session tokens ----------------------------------------------------------

    async def add_session(self, digest: str, user_id: int, now: int, lifetime: int) -> None:
        async def op(cur: Cursor) -> None:
            # The expired sessions found by a plain read, deleted by their keys: a
            # DELETE ... WHERE user_id would lock the index's gap where the user's
            # rows go (REPEATABLE READ), and new users' first sessions, inserted in
            # that one gap at the same moment, would deadlock.
            await cur.execute(
                "SELECT digest FROM sessions WHERE user_id = %s AND used_at <= %s",
                (user_id, now - lifetime),
            )
            expired = [row[0] for row in await cur.fetchall()]
            if expired:
                sql = f"DELETE FROM sessions WHERE digest IN ({_marks(expired)})"
                await cur.execute(sql, expired)
            await cur.execute(
                "INSERT INTO sessions (digest, user_id, created_at, used_at)"
                " VALUES (%s, %s, %s, %s)",
                (digest, user_id, now, now),
            )

        await self._run(op)

    async def session_user(self, digest: str, now: int, lifetime: int) -> int | None:
        rows = await self._select(
            "SELECT digest, user_id, used_at FROM sessions WHERE digest = %s", (digest,)
        )
        user_id, step = session_found(rows, digest, now, lifetime)
        if step == "expire":
            await self._change("DELETE FROM sessions WHERE digest = %s", (digest,))
        elif step == "touch":
            await self._change("UPDATE sessions SET used_at = %s WHERE digest = %s", (now, digest))
        return user_id

    async def revoke_sessions(self, user_id: int, digest: str | None = None) -> int:
        if digest is None:
            return await self._change("DELETE FROM sessions WHERE user_id = %s", (user_id,))
        return await self._change(
            "DELETE FROM sessions WHERE user_id = %s AND digest = %s", (user_id, digest)
        )

    # -- rooms -------------------------------------------------------------------

    async def create_room(self, name: str, approval: bool) -> RoomRecord:
        async def op(cur: Cursor) -> int:
            try:
                await cur.execute(
                    "INSERT INTO rooms (name, name_key, approval, created_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (name, name_key(name), approval, int(time.time() * 1000)),
                )
            except pymysql.err.IntegrityError as e:
                if error_code(e) == 1062:
                    raise Conflict(f"the room name {name!r} is taken") from e
                raise
            return int(cur.lastrowid)

        return RoomRecord(await self._run(op), name, approval)

    async def get_rooms(self) -> list[RoomRecord]:
        rows = await self._select("SELECT id, name, approval, topic FROM rooms ORDER BY name_key")
        return [RoomRecord(int(r[0]), str(r[1]), bool(r[2]), r[3]) for r in rows]

    async def set_topic(self, room_id: int, topic: str | None) -> None:
        await self._change("UPDATE rooms SET topic = %s WHERE id = %s", (topic, room_id))

    # -- memberships -------------------------------------------------------------

    async def get_memberships(self) -> list[Membership]:
        rows = await self._select(
            "SELECT user_id, room_id, state, read_marker, since FROM memberships"
            " ORDER BY user_id, room_id"
        )
        return [
            Membership(int(r[0]), int(r[1]), MembershipState(r[2]), int(r[3]), int(r[4]))
            for r in rows
        ]

    async def set_membership(
        self, user_id: int, room_id: int, state: MembershipState, now: int
    ) -> Membership:
        async def op(cur: Cursor) -> Membership:
            await cur.execute(
                "SELECT state, read_marker, since FROM memberships"
                " WHERE user_id = %s AND room_id = %s FOR UPDATE",
                (user_id, room_id),
            )
            row = await cur.fetchone()
            if row is not None and row[0] == state:
                return Membership(user_id, room_id, state, int(row[1]), int(row[2]))
            marker = 0
            if state == MembershipState.MEMBER:
                await cur.execute("SELECT MAX(id) FROM messages WHERE room_id = %s", (room_id,))
                marker = int((await cur.fetchone())[0] or 0)
            if row is None:
                await cur.execute(
                    "INSERT INTO memberships (user_id, room_id, state, read_marker, since)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (user_id, room_id, str(state), marker, now),
                )
            else:
                await cur.execute(
                    "UPDATE memberships SET state = %s, read_marker = %s, since = %s"
                    " WHERE user_id = %s AND room_id = %s",
                    (str(state), marker, now, user_id, room_id),
                )
            return Membership(user_id, room_id, state, marker, now)

        return await self._run(op)

    async def delete_membership(self, user_id: int, room_id: int) -> bool:
        changed = await self._change(
            "DELETE FROM memberships WHERE user_id = %s AND room_id = %s", (user_id, room_id)
        )
        return changed > 0

    # -- messages ----------------------------------------------------------------

    async def add_messages(self, batch: list[NewMessage]) -> list[StoredId]:
        if not batch:
            return []

        async def op(cur: Cursor) -> list[StoredId]:
            # The counter's row, locked until the end of the transaction, orders the
            # writers: ids follow commit order, across servers (schema 7).
            await cur.execute("SELECT last_id FROM message_counter WHERE one = 1 FOR UPDATE")
            (last,) = await cur.fetchone()
            known: KnownNonces = {}
            senders, nonces = nonce_lookup(batch)
            if nonces:
                # nonce is VARBINARY: compared byte for byte, no trailing-space padding.
                rows = await _fetchall(
                    cur,
                    f"SELECT {NONCE_COLUMNS} FROM messages"
                    f" WHERE sender_id IN ({_marks(senders)}) AND nonce IN ({_marks(nonces)})",
                    (*senders, *nonces),
                )
                known = dict(known_nonce(row) for row in rows)
            parent_ids = reply_lookup(batch)
            parents = None
            if parent_ids:
                sql = f"SELECT {PLACE_COLUMNS} FROM messages WHERE id IN ({_marks(parent_ids)})"
                parents = places(await _fetchall(cur, sql, tuple(parent_ids)))
            plan = plan_batch(batch, known, parents)
            ids = list(range(int(last) + 1, int(last) + 1 + len(plan.fresh)))
            if ids:
                rows = [(i, *message_row(m)) for i, m in zip(ids, plan.fresh, strict=True)]
                try:  # one multi-row INSERT: the ids are ours already
                    await cur.executemany(
                        f"INSERT INTO messages (id, {MESSAGE_COLUMNS})"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )
                except pymysql.err.IntegrityError as e:
                    if error_code(e) == 1062:  # a nonce stored meanwhile: read it again
                        raise _Retry from e
                    raise
                await cur.execute(
                    "UPDATE message_counter SET last_id = %s WHERE one = 1", (ids[-1],)
                )
                await _index_words(cur, _new_words(ids, plan.fresh))
            mentions = mention_rows(plan.fresh, ids)
            if mentions:
                await cur.executemany(
                    "INSERT INTO mentions (user_id, room_id, msg_id) VALUES (%s, %s, %s)",
                    mentions,
                )
            pairs = conversation_rows(plan.fresh)
            if pairs:
                await cur.executemany(
                    "INSERT INTO dm_reads (user_id, peer_id, msg_id) VALUES (%s, %s, 0)"
                    " ON DUPLICATE KEY UPDATE msg_id = msg_id",
                    pairs,
                )
            return plan.results(ids)

        async with self._write_lock:
            return await self._run(op)

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
        self, sql: str, args: tuple[Any, ...], limit: int, newest_first: bool
    ) -> tuple[list[StoredMessage], bool]:
        """A history page and its reactions: two queries, whatever the page's size,
        in one transaction (one snapshot)."""

        async def op(cur: Cursor) -> tuple[list[StoredMessage], bool]:
            page, more = history_page(await _fetchall(cur, sql, args), limit, newest_first)
            return await _with_reactions(cur, page), more

        return await self._run(op, read_only=True)

    async def search(
        self, terms: list[SearchTerm], scope: SearchScope, *, before: int | None, limit: int
    ) -> tuple[list[StoredMessage], bool]:
        start = _NO_LIMIT if before is None else before

        async def op(cur: Cursor) -> tuple[list[StoredMessage], bool]:
            rows, more = await self._search.run(cur, terms, scope, start, limit)
            page, _ = history_page(rows, limit, False)  # kept as found: newest first
            return await _with_reactions(cur, page), more

        try:
            async with asyncio.timeout(self._timeout):
                await self._searches.acquire()
        except TimeoutError:
            raise StoreUnavailable("too many searches at once; try again") from None
        try:
            return await self._run(op, read_only=True)
        finally:
            self._searches.release()

    async def _index_backlog(self) -> None:
        """Index the messages a database held when it was brought to schema 9, newest
        first, a chunk per transaction (`search_backlog` says how far it went: a
        server stopped meanwhile goes on from there)."""

        async def chunk(cur: Cursor) -> int:
            await cur.execute("SELECT up_to FROM search_backlog WHERE one = 1 FOR UPDATE")
            (up_to,) = await cur.fetchone()
            low = max(0, int(up_to) - _SEARCH_BACKLOG_CHUNK)
            rows = await _fetchall(
                cur,
                "SELECT id, body, room_id, dm_lo, dm_hi FROM messages"
                " WHERE id > %s AND id <= %s AND deleted = 0",
                (low, up_to),
            )
            await _index_words(cur, [w for r in rows for w in index_rows(*r)])
            await cur.execute("UPDATE search_backlog SET up_to = %s WHERE one = 1", (low,))
            return low

        (left,) = (await self._select("SELECT up_to FROM search_backlog WHERE one = 1"))[0]
        if int(left) > 0:
            _log.info("search: indexing %s existing messages (schema 9)", left)
            while int(left) > 0:
                left = await self._run(chunk)
            _log.info("search: existing messages indexed")

    async def messages_since(self, ts: int, room_id: int | None = None) -> list[StoredMessage]:
        if room_id is None:
            rows = await self._select(_SINCE_SQL, (ts,))
        else:
            rows = await self._select(_ROOM_SINCE_SQL, (room_id, ts))
        return [message_record(r) for r in rows]

    async def message_log(self, after: int, limit: int) -> list[LoggedMessage]:
        rows = await self._select(_LOG_SQL, (after, limit))
        return [logged_message(r) for r in rows]

    async def last_msg_id(self) -> int:
        rows = await self._select("SELECT COALESCE(MAX(id), 0) FROM messages")
        return int(rows[0][0])

    # -- changes to messages -------------------------------------------------------

    async def message_ref(self, msg_id: int) -> MessageRef | None:
        statement = (changes.MESSAGE_REF_SQL, (msg_id,))

        async def op(cur: Cursor) -> MessageRef | None:
            return changes.message_ref(await _shared(cur, statement))

        return await self._run(op, read_only=True)

    async def add_changes(self, batch: list[NewChange]) -> list[StoredChange | None]:
        if not batch:
            return []

        async def op(cur: Cursor) -> list[StoredChange | None]:
            # Afresh on each attempt.
            steps = changes.apply_changes(batch, counter=True, word_index=True)
            try:
                statement = next(steps)
                while True:
                    statement = steps.send(await _shared(cur, statement))
            except StopIteration as done:
                result: list[StoredChange | None] = done.value
                return result

        return await self._run(op)

    async def changes_since(
        self, since: int, user_id: int, room_ids: list[int], limit: int
    ) -> tuple[list[ChangeRecord], bool]:
        sql, args = changes.changes_query(since, user_id, room_ids, limit)
        return changes.changes_page(await self._select(_placeholders(sql), args), limit)

    async def last_change_id(self) -> int:
        async def op(cur: Cursor) -> int:
            await cur.execute("SELECT last_id FROM change_counter WHERE one = 1")
            return int((await cur.fetchone())[0])

        return await self._run(op, read_only=True)

    # -- read markers and unread counts -------------------------------------------

    async def mark_room_read(self, user_id: int, room_id: int, msg_id: int) -> bool:
        changed = await self._change(
            "UPDATE memberships SET read_marker = %s WHERE user_id = %s AND room_id = %s"
            " AND state = 'member' AND read_marker < %s",
            (msg_id, user_id, room_id, msg_id),
        )
        return changed > 0

    async def mark_dm_read(self, user_id: int, peer_id: int, msg_id: int) -> bool:
        if msg_id <= 0:
            return False

        async def op(cur: Cursor) -> bool:
            await cur.execute(
                "UPDATE dm_reads SET msg_id = %s"
                " WHERE user_id = %s AND peer_id = %s AND msg_id < %s",
                (msg_id, user_id, peer_id, msg_id),
            )
            if cur.rowcount:
                return True
            # No row yet, or already at or past msg_id: an existing row is left alone.
            await cur.execute(
                "INSERT INTO dm_reads (user_id, peer_id, msg_id) VALUES (%s, %s, %s)"
                " ON DUPLICATE KEY UPDATE msg_id = msg_id",
                (user_id, peer_id, msg_id),
            )
            return bool(cur.rowcount)

        return await self._run(op)

    async def room_unread(self, user_id: int) -> list[RoomUnread]:
        async def op(cur: Cursor) -> list[RoomUnread]:
            found = []
            for room_id, marker in await _fetchall(cur, _MEMBER_MARKERS_SQL, (user_id,)):
                (last,) = (await _fetchall(cur, _ROOM_LAST_SQL, (room_id,)))[0]
                count_args = (room_id, marker, user_id)
                (unread,) = (await _fetchall(cur, _ROOM_UNREAD_COUNT_SQL, count_args))[0]
                (mentions,) = (await _fetchall(cur, _ROOM_MENTIONS_SQL, count_args))[0]
                found.append(RoomUnread(int(room_id), int(last), int(unread), int(mentions)))
            return found

        return await self._run(op, read_only=True)

    async def room_last_ids(self) -> dict[int, int]:
        rows = await self._select(_ROOM_LAST_IDS_SQL)
        return {int(r[0]): int(r[1]) for r in rows if r[1] is not None}

    async def dm_peers(self, user_id: int) -> list[int]:
        rows = await self._select(_DM_PEERS_SQL, (user_id,))
        return [int(r[0]) for r in rows]

    async def dm_unread(self, user_id: int) -> list[DmUnread]:
        async def op(cur: Cursor) -> list[DmUnread]:
            found = []
            for peer_id, peer, marker in await _fetchall(cur, _DM_MARKERS_SQL, (user_id,)):
                lo, hi = dm_pair(user_id, int(peer_id))
                (last,) = (await _fetchall(cur, _DM_LAST_SQL, (lo, hi)))[0]
                if not last:  # a marker set before any message is not a conversation
                    continue
                count_args = (lo, hi, marker, peer_id)
                (unread,) = (await _fetchall(cur, _DM_UNREAD_COUNT_SQL, count_args))[0]
                found.append(DmUnread(int(peer_id), str(peer), int(last), int(unread)))
            return found

        return await self._run(op, read_only=True)

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
        async def op(cur: Cursor) -> int:
            await cur.execute(
                "INSERT INTO sanctions (kind, target, until_ts, reason, created_by, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (str(kind), target, until, reason, created_by, now),
            )
            return int(cur.lastrowid)

        return Sanction(await self._run(op), kind, target, until, reason, created_by, now)

    async def lift_sanctions(self, kind: SanctionKind, target: str, now: int) -> int:
        return await self._change(
            f"UPDATE sanctions SET lifted_at = %s WHERE kind = %s AND target = %s AND {_ACTIVE}",
            (now, str(kind), target, now),
        )

    async def active_sanctions(self, now: int) -> list[Sanction]:
        rows = await self._select(
            f"SELECT {_SANCTION_COLUMNS} FROM sanctions WHERE {_ACTIVE} ORDER BY id", (now,)
        )
        return [sanction_record(r) for r in rows]


def _new_words(ids: list[int], fresh: list[NewMessage]) -> list[tuple[str, int, int]]:
    """The search index's rows of new messages."""
    out: list[tuple[str, int, int]] = []
    for msg_id, m in zip(ids, fresh, strict=True):
        lo, hi = (None, None) if m.recipient_id is None else dm_pair(m.sender_id, m.recipient_id)
        out.extend(index_rows(msg_id, m.body, m.room_id, lo, hi))
    return out


async def _index_words(cur: Cursor, rows: list[tuple[str, int, int]]) -> None:
    """Put rows in the search index (`chat_srv.store.search.index_rows`); a row that is
    there already (indexed before a restart) is left as it is, without a warning.

    A chat message has some twenty rows: escaping each value as a parameter cost
    more than making the rows (benchmarks/RESULTS.md, "Search"), so the values are
    written as literals that cannot hold anything else, the key in hexadecimal
    and the numbers as Python writes an int.
    """
    rows = sorted(rows)
    for start in range(0, len(rows), _INDEX_ROWS_PER_STATEMENT):
        values = ",".join(
            f"(X'{key.encode().hex()}',{int(place)},{int(msg_id)})"
            for key, place, msg_id in rows[start : start + _INDEX_ROWS_PER_STATEMENT]
        )
        await cur.execute(
            f"INSERT INTO search_words (word, place, message_id) VALUES {values}"
            " ON DUPLICATE KEY UPDATE message_id = message_id"
        )


async def _with_reactions(cur: Cursor, page: list[StoredMessage]) -> list[StoredMessage]:
    """`page` with its reactions: one more query (none if no message can have any)."""
    query = changes.reactions_query(page)
    if query is None:
        return page
    return changes.with_reactions(page, await _shared(cur, query))


async def _fill_lookalikes(cur: Cursor) -> None:
    """Add the look-alike keys of the accounts made before schema 10, if not done yet
    (holding the schema lock, before the server serves anyone), in one transaction."""
    rows = await _fetchall(cur, "SELECT up_to FROM lookalike_backlog WHERE one = 1 FOR UPDATE")
    up_to = int(rows[0][0]) if rows else 0
    if not up_to:
        return
    held = await _fetchall(cur, "SELECT lookalike_key, user_id FROM user_lookalikes")
    taken = {bytes(k).decode(): int(u) for k, u in held}
    users = await _fetchall(cur, "SELECT id, name FROM users WHERE id <= %s ORDER BY id", (up_to,))
    keys = backfill_keys(((int(i), str(n)) for i, n in users), taken)
    if keys:
        await cur.executemany(
            "INSERT INTO user_lookalikes (lookalike_key, user_id) VALUES (%s, %s)", keys
        )
    await cur.execute("UPDATE lookalike_backlog SET up_to = 0 WHERE one = 1")
    await cur.connection.commit()
    _log.info("look-alike names: the keys of %d existing accounts added (schema 10)", len(users))


async def _remember_address(cur: Cursor, user_id: int, ip: str, now: int) -> None:
    """Note that the user logged in from `ip` (see `Store.known_address`)."""
    await cur.execute(
        "INSERT INTO login_addresses (user_id, ip, last_login_at) VALUES (%s, %s, %s)"
        " ON DUPLICATE KEY UPDATE last_login_at = %s",
        (user_id, ip, now, now),
    )
