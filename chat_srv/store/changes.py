"""Changes to messages, for both stores: one algorithm, written once, that the SQLite
and MySQL stores each drive with their own connection.

`apply_changes` is a generator: it yields each statement as `(sql, params)` and is
sent back the statement's rows, so the same steps run in SQLite's thread and on an
aiomysql cursor alike. Its SQL uses `?` placeholders (the MySQL store turns them
into `%s`). The reads for history pages and `changes` are shared the same way.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chat_srv.store.base import (
    ChangeKind,
    ChangeRecord,
    MessageRef,
    NewChange,
    Reactions,
    StoredChange,
    StoredMessage,
)
from chat_srv.store.search import index_rows

Statement = tuple[str, tuple[Any, ...]]
Rows = Sequence[Sequence[Any]]
Steps = Generator[Statement, Rows, list[StoredChange | None]]
"""Yields statements, is sent each one's rows, returns `Store.add_changes`' answer."""

MESSAGE_REF_SQL = "SELECT id, sender_id, room_id, recipient_id, deleted FROM messages WHERE id = ?"


def message_ref(rows: Rows) -> MessageRef | None:
    """The result of `MESSAGE_REF_SQL` as a record."""
    if not rows:
        return None
    r = rows[0]
    return MessageRef(int(r[0]), int(r[1]), r[2], r[3], bool(r[4]))


def marks(count: int) -> str:
    """`?, ?, ?` for `count` values."""
    return ", ".join("?" * count)


@dataclass(slots=True)
class _Target:
    """A message being changed, as this transaction sees it."""

    deleted: bool
    room_id: int | None
    dm_lo: int | None
    dm_hi: int | None


def apply_changes(batch: list[NewChange], *, counter: bool, word_index: bool = False) -> Steps:
    """The statements that store `batch` in the transaction the store has begun.

    `counter`: take change ids from the locked row of `change_counter` (MySQL: ids
    in commit order across servers) rather than from MAX(id) under the database's
    single write lock (SQLite). Either way an id is used only by a change written,
    so a batch's ids follow the last one with no gap.

    `word_index`: an edit puts the new body's words in `search_words` (MySQL's own
    search index; SQLite's FTS5 index follows edits by triggers). The old body's
    words stay: a search checks each message it finds against its current body.
    """
    ids = list(dict.fromkeys(c.msg_id for c in batch))
    lock = " FOR UPDATE" if counter else ""
    rows = yield (
        f"SELECT id, deleted, room_id, dm_lo, dm_hi FROM messages WHERE id IN ({marks(len(ids))})"
        + lock,
        tuple(ids),
    )
    targets = {int(r[0]): _Target(bool(r[1]), r[2], r[3], r[4]) for r in rows}
    if counter:
        rows = yield ("SELECT last_id FROM change_counter WHERE one = 1 FOR UPDATE", ())
    else:
        rows = yield ("SELECT COALESCE(MAX(id), 0) FROM changes", ())
    last = int(rows[0][0])
    out: list[StoredChange | None] = []
    for change in batch:
        target = targets.get(change.msg_id)
        if target is None or target.deleted:
            out.append(None)
            continue
        if change.kind in (ChangeKind.REACT, ChangeKind.UNREACT):
            key = (change.msg_id, change.emoji, change.actor_id)
            rows = yield (
                "SELECT 1 FROM reactions WHERE msg_id = ? AND emoji = ? AND user_id = ?",
                key,
            )
            if bool(rows) == (change.kind is ChangeKind.REACT):
                out.append(StoredChange(last, applied=False))
                continue
        last += 1
        yield from _write_change(change, last, target, word_index)
        out.append(StoredChange(last))
    if counter:
        yield ("UPDATE change_counter SET last_id = ? WHERE one = 1", (last,))
    return out


def _write_change(
    change: NewChange, change_id: int, target: _Target, word_index: bool
) -> Generator[Statement, Rows]:
    msg_id = change.msg_id
    if change.kind is ChangeKind.EDIT:
        yield (
            "UPDATE messages SET body = ?, edited_at = ? WHERE id = ?",
            (change.body, change.ts, msg_id),
        )
        words = (
            index_rows(msg_id, change.body or "", target.room_id, target.dm_lo, target.dm_hi)
            if word_index
            else []
        )
        if words:
            yield (
                "INSERT INTO search_words (word, place, message_id) VALUES "
                + ", ".join(["(?, ?, ?)"] * len(words))
                + " ON DUPLICATE KEY UPDATE message_id = message_id",
                tuple(v for row in words for v in row),
            )
        yield ("DELETE FROM mentions WHERE msg_id = ?", (msg_id,))
        for user_id in change.mentions if target.room_id is not None else ():
            yield (
                "INSERT INTO mentions (user_id, room_id, msg_id) VALUES (?, ?, ?)",
                (user_id, target.room_id, msg_id),
            )
    elif change.kind is ChangeKind.DELETE:
        # The body goes from the store, with every earlier version of it.
        yield ("UPDATE messages SET body = '', deleted = 1 WHERE id = ?", (msg_id,))
        yield ("UPDATE changes SET body = NULL WHERE msg_id = ?", (msg_id,))
        yield ("DELETE FROM reactions WHERE msg_id = ?", (msg_id,))
        yield ("DELETE FROM mentions WHERE msg_id = ?", (msg_id,))
        target.deleted = True
    elif change.kind is ChangeKind.REACT:
        yield (
            "INSERT INTO reactions (msg_id, emoji, user_id, change_id) VALUES (?, ?, ?, ?)",
            (msg_id, change.emoji, change.actor_id, change_id),
        )
    else:
        yield (
            "DELETE FROM reactions WHERE msg_id = ? AND emoji = ? AND user_id = ?",
            (msg_id, change.emoji, change.actor_id),
        )
    yield (
        "INSERT INTO changes (id, msg_id, kind, actor, ts, body, emoji, reason,"
        " room_id, dm_lo, dm_hi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            change_id,
            msg_id,
            str(change.kind),
            change.actor,
            change.ts,
            change.body if change.kind is ChangeKind.EDIT else None,
            change.emoji,
            change.reason,
            target.room_id,
            target.dm_lo,
            target.dm_hi,
        ),
    )


# -- reading -------------------------------------------------------------------------

LAST_CHANGE_SQL = "SELECT COALESCE(MAX(id), 0) FROM changes"

# Names through scalar subqueries: the scan is a range of the primary key from
# `since`, in key order, stopping after `limit` + 1 matches.
_CHANGES_SQL = """
SELECT c.id, c.kind, c.msg_id, c.actor, c.ts,
       (SELECT s.name FROM messages AS m JOIN users AS s ON s.id = m.sender_id
        WHERE m.id = c.msg_id),
       (SELECT r.name FROM rooms AS r WHERE r.id = c.room_id),
       (SELECT t.name FROM messages AS m JOIN users AS t ON t.id = m.recipient_id
        WHERE m.id = c.msg_id),
       c.body, c.emoji
FROM changes AS c
WHERE c.id > ? AND ({readable})
  AND (c.kind = 'delete' OR (SELECT m.deleted FROM messages AS m WHERE m.id = c.msg_id) = 0)
ORDER BY c.id
LIMIT ?
"""


def changes_query(since: int, user_id: int, room_ids: list[int], limit: int) -> Statement:
    """The query of `Store.changes_since` (fetching `limit` + 1 rows, to see `more`)."""
    readable = "c.dm_lo = ? OR c.dm_hi = ?"
    if room_ids:
        readable = f"c.room_id IN ({marks(len(room_ids))}) OR " + readable
    return (
        _CHANGES_SQL.format(readable=readable),
        (since, *room_ids, user_id, user_id, limit + 1),
    )


def changes_page(rows: Rows, limit: int) -> tuple[list[ChangeRecord], bool]:
    """The rows of `changes_query` as records, and whether more remain."""
    page = [
        ChangeRecord(
            change_id=int(r[0]),
            kind=ChangeKind(r[1]),
            msg_id=int(r[2]),
            actor=str(r[3]),
            ts=int(r[4]),
            sender=str(r[5]),
            room=r[6],
            recipient=r[7],
            body=r[8],
            emoji=r[9],
        )
        for r in rows[:limit]
    ]
    return page, len(rows) > limit


def reactions_query(page: list[StoredMessage]) -> Statement | None:
    """The one query that reads the reactions of a page of history (None: no need)."""
    ids = [message.msg_id for message in page if not message.deleted]
    if not ids:
        return None
    return (
        "SELECT r.msg_id, r.emoji, (SELECT u.name FROM users AS u WHERE u.id = r.user_id)"
        f" FROM reactions AS r WHERE r.msg_id IN ({marks(len(ids))}) ORDER BY r.change_id",
        tuple(ids),
    )


def with_reactions(page: list[StoredMessage], rows: Rows) -> list[StoredMessage]:
    """`page` with the reactions read by `reactions_query`."""
    found: dict[int, Reactions] = {}
    for msg_id, emoji, name in rows:
        found.setdefault(int(msg_id), {}).setdefault(str(emoji), []).append(str(name))
    if not found:
        return page
    return [
        replace(message, reactions=found[message.msg_id]) if message.msg_id in found else message
        for message in page
    ]
