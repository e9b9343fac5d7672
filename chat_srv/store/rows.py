"""Result rows into records: the column orders both backends' queries select."""

from __future__ import annotations

import hmac
from typing import Any, Literal

from chat_core.messages import Role
from chat_srv.store.base import LoggedMessage, Sanction, SanctionKind, StoredMessage, UserRecord


def user_record(row: Any) -> UserRecord:
    """A row of (id, name, password_hash, created_at, last_ip, role)."""
    return UserRecord(int(row[0]), str(row[1]), str(row[2]), int(row[3]), row[4], Role(row[5]))


def message_record(row: Any) -> StoredMessage:
    """A row of (id, ts, sender name, body, room name, recipient name, reply_to,
    action, edited_at, deleted)."""
    return StoredMessage(
        int(row[0]),
        int(row[1]),
        str(row[2]),
        str(row[3]),
        row[4],
        row[5],
        reply_to=row[6],
        action=bool(row[7]),
        edited=row[8],
        deleted=bool(row[9]),
    )


def logged_message(row: Any) -> LoggedMessage:
    """A row of `message_record`'s columns, then sender_id, room_id, recipient_id."""
    return LoggedMessage(message_record(row), int(row[10]), row[11], row[12])


def sanction_record(row: Any) -> Sanction:
    """A row of (id, kind, target, until_ts, reason, created_by, created_at)."""
    return Sanction(
        int(row[0]), SanctionKind(row[1]), str(row[2]), row[3], str(row[4]), str(row[5]), row[6]
    )


def history_page(rows: Any, limit: int, newest_first: bool) -> tuple[list[StoredMessage], bool]:
    """Trim the extra row fetched to detect `more`, and order the page oldest first."""
    more = len(rows) > limit
    page = [message_record(r) for r in rows[:limit]]
    if newest_first:
        page.reverse()
    return page, more


SESSION_TOUCH = 3_600_000  # ms: a token's `used_at` is brought up to date at most hourly

SessionStep = Literal["expire", "touch"] | None
"""What a store does after finding a token: forget it, mark it used, or nothing."""


def session_found(
    rows: Any, digest: str, now: int, lifetime: int
) -> tuple[int | None, SessionStep]:
    """Rows of (digest, user_id, used_at) for a token's digest: the user it logs in
    (None: unknown or expired) and the write it calls for."""
    if not rows or not hmac.compare_digest(str(rows[0][0]), digest):
        return None, None
    _, user_id, used_at = rows[0]
    if used_at <= now - lifetime:
        return None, "expire"
    return int(user_id), "touch" if now - used_at >= SESSION_TOUCH else None
