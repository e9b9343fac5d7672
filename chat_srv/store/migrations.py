"""Helpers shared by the SQLite and MySQL stores: schema migrations, default rooms,
the look-alike keys of accounts, and the planning of a batch of messages (nonce
deduplication).

Migrations are plain SQL files, `NNN_description.sql`, one directory per backend, so
a database administrator can read them and apply them by hand (`sqlite3 FILE < ...`,
`mysql DB < ...`). Statements end with `;` at the end of a line; lines starting
with `--` are comments. A `CREATE TRIGGER` runs to a line `END;`, its own
statements inside it ending with `;` as usual. Each file ends by recording its own version in
`schema_version`, so a file applied by hand is never applied again by the server.

The backends apply the files themselves (the transaction and locking rules differ);
this module finds, reads and checks them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chat_srv
from chat_srv.lookalikes import lookalike_keys
from chat_srv.store.base import NewMessage, StoredId, StoreError

log = logging.getLogger(__name__)

# Created in `open()` when no room with the same name key exists. Général is open
# because every new user joins it at registration; see PROTOCOL.md, "Default rooms".
DEFAULT_ROOMS: tuple[tuple[str, bool], ...] = (
    ("Blabla", False),
    ("Comptabilité", True),
    ("Général", False),
    ("Informatique", True),
    ("Marketing", True),
)

_FILE_NAME = re.compile(r"(\d{3})_[A-Za-z0-9_]+\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    """One SQL file: its version (from the file name) and its statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def sql_dir(backend: str) -> Path:
    """The directory holding `backend`'s migration files.

    A wheel ships the repository's top-level `sql/` inside the package; a source
    checkout or an editable install finds it beside the package.
    """
    package = Path(chat_srv.__file__).parent
    candidates = (
        package / "_sql" / backend,
        package.parent / "sql" / backend,
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    searched = ", ".join(str(c) for c in candidates)
    raise StoreError(f"the {backend} schema files are missing (searched {searched})")


def split_statements(text: str) -> list[str]:
    """The statements of an SQL file: each ends with `;` at the end of a line (a
    trigger with the line `END;`)."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        in_trigger = (current[0] if current else stripped).upper().startswith("CREATE TRIGGER")
        if stripped.endswith(";") and (not in_trigger or stripped.upper() == "END;"):
            current.append(line.rstrip()[:-1])
            statements.append("\n".join(current).strip())
            current = []
        else:
            current.append(line.rstrip())
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [s for s in statements if s]


def load_migrations(backend: str) -> list[Migration]:
    """Every migration of `backend`, in version order; versions must be 1, 2, 3..."""
    directory = sql_dir(backend)
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise StoreError(f"{path}: a migration file is named NNN_description.sql")
        statements = tuple(split_statements(path.read_text(encoding="utf-8")))
        migrations.append(Migration(int(match.group(1)), path.name, statements))
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected or not migrations:
        raise StoreError(f"{directory}: migrations must be numbered 001, 002, ... without gaps")
    return migrations


def check_recorded(migration: Migration, recorded: int) -> None:
    """Raise unless applying `migration` left its version in `schema_version`."""
    if recorded != migration.version:
        raise StoreError(
            f"{migration.name} did not record version {migration.version} in schema_version"
        )


def newer_than_code(current: int, migrations: list[Migration]) -> None:
    """Refuse a database migrated by a newer server than this one."""
    if current > len(migrations):
        raise StoreError(
            f"the database has schema version {current}, this server knows only up to "
            f"{len(migrations)}: upgrade the server"
        )


# -- look-alike keys of accounts ------------------------------------------------------


def account_keys(name: str) -> list[str]:
    """The rows of `user_lookalikes` an account named `name` holds: its look-alike
    keys (`chat_srv.lookalikes`), in a fixed order, so that two transactions
    inserting keys they share take their locks in the same order."""
    return sorted(lookalike_keys(name))


def backfill_keys(users: Iterable[tuple[int, str]], taken: dict[str, int]) -> list[tuple[str, int]]:
    """The `user_lookalikes` rows (key, user id) for accounts made before schema 10.

    `users` are (id, name), oldest first; `taken` the keys already held, by holder
    (updated). A key two accounts share stays the older one's: the younger goes
    without it, and is logged (both accounts stay and log in as before).
    """
    rows: list[tuple[str, int]] = []
    names: dict[int, str] = {}
    for user_id, name in users:
        names[user_id] = name
        for key in account_keys(name):
            holder = taken.get(key)
            if holder is None:
                taken[key] = user_id
                rows.append((key, user_id))
                continue
            if holder == user_id:  # held already
                continue
            log.warning(
                "look-alike names: account %d %r looks like account %d %r, made before it;"
                " their shared key %r stays the older account's",
                user_id,
                name,
                holder,
                names.get(holder, "?"),
                key,
            )
    return rows


# -- message batches ----------------------------------------------------------------

# The column order of `message_row`, for INSERT statements.
MESSAGE_COLUMNS = (
    "ts, sender_id, room_id, recipient_id, dm_lo, dm_hi, body, nonce, reply_to, action"
)


def dm_pair(a: int, b: int) -> tuple[int, int]:
    """The (dm_lo, dm_hi) key of the conversation between two users."""
    return (a, b) if a <= b else (b, a)


def message_row(message: NewMessage) -> tuple[object, ...]:
    """The values of a new message, in `MESSAGE_COLUMNS` order."""
    if (message.room_id is None) == (message.recipient_id is None):
        raise ValueError("a message has exactly one of room_id and recipient_id")
    lo: int | None = None
    hi: int | None = None
    if message.recipient_id is not None:
        lo, hi = dm_pair(message.sender_id, message.recipient_id)
    return (
        message.ts,
        message.sender_id,
        message.room_id,
        message.recipient_id,
        lo,
        hi,
        message.body,
        message.nonce,
        message.reply_to,
        message.action,
    )


def mention_rows(messages: list[NewMessage], ids: list[int]) -> list[tuple[int, int, int]]:
    """(user_id, room_id, msg_id) for every mention of the room messages stored as `ids`."""
    return [
        (user_id, m.room_id, msg_id)
        for m, msg_id in zip(messages, ids, strict=True)
        if m.room_id is not None
        for user_id in m.mentions
    ]


def conversation_rows(messages: list[NewMessage]) -> list[tuple[int, int]]:
    """(user_id, peer_id) for both parties of every conversation in `messages`."""
    rows: dict[tuple[int, int], None] = {}
    for m in messages:
        if m.recipient_id is not None:
            rows[(m.sender_id, m.recipient_id)] = None
            rows[(m.recipient_id, m.sender_id)] = None
    return list(rows)


def nonce_lookup(batch: list[NewMessage]) -> tuple[list[int], list[str]]:
    """The distinct senders and nonces of the batch's messages that carry a nonce.

    Stores look up `sender_id IN (...) AND nonce IN (...)` (an index lookup per
    pair on the unique index) and keep the exact pairs with `KnownNonces`.
    """
    senders: dict[int, None] = {}
    nonces: dict[str, None] = {}
    for m in batch:
        if m.nonce is not None:
            senders[m.sender_id] = None
            nonces[m.nonce] = None
    return list(senders), list(nonces)


@dataclass(frozen=True, slots=True)
class KnownNonce:
    """A message stored before with a nonce: its id and time, and what it said where."""

    msg_id: int
    ts: int
    body: str
    room_id: int | None
    recipient_id: int | None

    def same_as(self, message: NewMessage) -> bool:
        """Whether `message` is this one sent again (same body, same room or peer)."""
        return (
            message.body == self.body
            and message.room_id == self.room_id
            and message.recipient_id == self.recipient_id
        )


KnownNonces = dict[tuple[int, str], KnownNonce]  # (sender, nonce) -> the stored message

# The columns `known_nonce` reads, for the stores' SELECT.
NONCE_COLUMNS = "sender_id, nonce, id, ts, body, room_id, recipient_id"


def known_nonce(row: Sequence[Any]) -> tuple[tuple[int, str], KnownNonce]:
    """A row of `NONCE_COLUMNS` as an entry of `KnownNonces` (nonce as text)."""
    sender, nonce, msg_id, ts, body, room_id, recipient_id = row
    if isinstance(nonce, bytes | bytearray):  # MySQL keeps nonces as VARBINARY
        nonce = bytes(nonce).decode()
    key = (int(sender), str(nonce))
    return key, KnownNonce(
        int(msg_id),
        int(ts),
        str(body),
        None if room_id is None else int(room_id),
        None if recipient_id is None else int(recipient_id),
    )


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What to insert for a batch, and how to answer for each of its messages.

    `slots[i]` is either the `StoredId` of a message stored before this batch, or
    an index into `fresh`: the message inserted for it (the i-th message itself,
    or an earlier one of the batch with the same sender and nonce). `reused[i]`
    says that message i repeats a nonce with another body, room or peer.
    """

    fresh: list[NewMessage]
    slots: list[StoredId | int]
    first_of: list[bool]  # slots[i] is an index and message i is the one inserted
    reused: list[bool]

    def results(self, ids: list[int]) -> list[StoredId]:
        """The answers, given the ids the `fresh` messages received, in order."""
        out: list[StoredId] = []
        for slot, first, reused in zip(self.slots, self.first_of, self.reused, strict=True):
            if isinstance(slot, StoredId):
                out.append(slot)
            else:
                out.append(StoredId(ids[slot], self.fresh[slot].ts, first, reused))
        return out


Place = tuple[int | None, int | None, int | None]
"""Where a message is: (room_id, dm_lo, dm_hi)."""

# The columns `Place` is made of, for the stores' look-up of replied-to messages.
PLACE_COLUMNS = "id, room_id, dm_lo, dm_hi"


def reply_lookup(batch: list[NewMessage]) -> list[int]:
    """The distinct messages the batch replies to, to look up by `PLACE_COLUMNS`."""
    return list(dict.fromkeys(m.reply_to for m in batch if m.reply_to is not None))


def places(rows: Sequence[Sequence[Any]]) -> dict[int, Place]:
    """Rows of `PLACE_COLUMNS` by message id."""
    return {int(r[0]): (r[1], r[2], r[3]) for r in rows}


def plan_batch(
    batch: list[NewMessage], known: KnownNonces, parents: dict[int, Place] | None = None
) -> BatchPlan:
    """Decide which messages of `batch` to insert, given the nonces already stored
    and where the messages they reply to are (`parents`).

    A nonce repeated with the same message is the same send again (answered with
    the original's id); repeated with another body, room or peer it is a client's
    mistake, answered as such (`StoredId.reused`) rather than dropped in silence.
    A reply to a message that is not in the same room or conversation is not
    stored (`StoredId.bad_reply`).
    """
    fresh: list[NewMessage] = []
    slots: list[StoredId | int] = []
    first_of: list[bool] = []
    reused: list[bool] = []
    in_batch: dict[tuple[int, str], int] = {}
    for m in batch:
        row = message_row(m)  # validate before anything is written
        key = (m.sender_id, m.nonce) if m.nonce is not None else None
        if m.reply_to is not None and (parents or {}).get(m.reply_to) != (row[2], row[4], row[5]):
            slots.append(StoredId(0, m.ts, False, bad_reply=True))
            first_of.append(False)
            reused.append(False)
        elif key is not None and key in known:
            stored = known[key]
            clash = not stored.same_as(m)
            slots.append(StoredId(stored.msg_id, stored.ts, False, clash))
            first_of.append(False)
            reused.append(clash)
        elif key is not None and key in in_batch:
            first = fresh[in_batch[key]]
            slots.append(in_batch[key])
            first_of.append(False)
            reused.append(
                (first.body, first.room_id, first.recipient_id)
                != (m.body, m.room_id, m.recipient_id)
            )
        else:
            if key is not None:
                in_batch[key] = len(fresh)
            slots.append(len(fresh))
            first_of.append(True)
            reused.append(False)
            fresh.append(m)
    return BatchPlan(fresh, slots, first_of, reused)
