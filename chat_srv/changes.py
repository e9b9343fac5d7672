"""Messages that change: edits, deletions and reactions, and catching up on them.

Who may change what: the sender edits; the sender deletes, and so do moderators
and admins for room messages (and the console's `redact`); anyone who can read a
message reacts to it. A message one cannot read is `no_such_message`, exactly as
an unknown one, so ids reveal nothing.

Every change goes through its own group committer: stored first, then announced
to everyone who can read the message (`edited`, `deleted`, `reaction`), then
answered with its `change_id`. `changes` replays them for a client that was away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import Role
from chat_srv.committer import Committer
from chat_srv.picture import Audience, Client, Picture, User, logged
from chat_srv.store.base import (
    ChangeKind,
    ChangeRecord,
    MembershipState,
    MessageRef,
    NewChange,
    StoredChange,
)

log = logging.getLogger(__name__)

OPERATOR = "console"
"""Who a deletion from the server's own console or admin socket is `by`."""


@dataclass(frozen=True, slots=True)
class _Pending:
    """A change on its way to the store, with the message it changes."""

    change: NewChange
    ref: MessageRef


def _changed(result: StoredChange | None) -> bool:
    return result is not None and result.applied


def _no_such_message(msg_id: int) -> ProtocolError:
    return ProtocolError(ErrorCode.NO_SUCH_MESSAGE, f"no message {msg_id} that you can read")


class MessageChanges:
    """The rules of `edit`, `delete`, `react` and `changes`, and their fan-out."""

    def __init__(self, picture: Picture, max_batch: int) -> None:
        self._picture = picture
        self._store = picture.store
        self._clock = picture.clock
        self.committer: Committer[_Pending, StoredChange | None] = Committer(
            self._write, max_batch, self._deliver, picture.metrics, fresh=_changed, what="changes"
        )

    # -- requests ---------------------------------------------------------------------

    async def edit(self, client: Client, request: m.Edit) -> m.Reply:
        """Replace the body of the caller's own message."""
        user = logged(client)
        ref = await self._readable(user, request.msg_id)
        if ref.sender_id != user.id:
            raise ProtocolError(ErrorCode.FORBIDDEN, "only its sender may edit a message")
        change = NewChange(
            ChangeKind.EDIT,
            ref.msg_id,
            user.name,
            self._clock.now_ms(),
            actor_id=user.id,
            body=request.body,
            mentions=self._picture.mention_ids(request.body, ref.room_id, user.id)
            if ref.room_id is not None
            else (),
        )
        return m.ChangedOk(id=request.id, change_id=await self._store_change(change, ref))

    async def delete(self, client: Client, request: m.Delete) -> m.Reply:
        """Delete the caller's own message, or a room's as a moderator or admin."""
        user = logged(client)
        ref = await self._message(request.msg_id)
        readable = self._may_read(user, ref)
        if not readable and not (ref.room_id is not None and user.role is not Role.USER):
            raise _no_such_message(request.msg_id)
        if ref.sender_id != user.id and (ref.room_id is None or user.role is Role.USER):
            raise ProtocolError(
                ErrorCode.FORBIDDEN,
                "only its sender may delete a message"
                if ref.room_id is None
                else "only its sender or a moderator may delete a message",
            )
        change = NewChange(
            ChangeKind.DELETE, ref.msg_id, user.name, self._clock.now_ms(), actor_id=user.id
        )
        change_id = await self._store_change(change, ref)
        if ref.sender_id != user.id:
            log.info("%s (%s) deleted message %d", user.name, user.role, ref.msg_id)
        return m.ChangedOk(id=request.id, change_id=change_id)

    async def react(self, client: Client, request: m.React) -> m.Reply:
        """Put the caller's reaction on a message they can read, or take it back."""
        user = logged(client)
        ref = await self._readable(user, request.msg_id)
        change = NewChange(
            ChangeKind.REACT if request.on else ChangeKind.UNREACT,
            ref.msg_id,
            user.name,
            self._clock.now_ms(),
            actor_id=user.id,
            emoji=request.emoji,
        )
        return m.ChangedOk(id=request.id, change_id=await self._store_change(change, ref))

    async def changes(self, client: Client, request: m.Changes) -> m.Reply:
        """The changes after `since` to messages the caller can read now."""
        user = logged(client)
        page, more = await self._store.changes_since(
            request.since, user.id, sorted(user.rooms), request.limit
        )
        return m.ChangesOk(id=request.id, changes=[self._replayed(c) for c in page], more=more)

    async def redact(self, actor: str, role: Role | None, msg_id: int, reason: str) -> int:
        """Delete a message for the console's `redact`; the change id.

        `role` None is the server's operator (any message); a moderator may redact
        room messages, an admin any message.
        """
        ref = await self._message(msg_id)
        if ref.room_id is None and role is Role.MODERATOR:
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "a moderator redacts room messages, not direct messages"
            )
        change = NewChange(
            ChangeKind.DELETE, ref.msg_id, actor, self._clock.now_ms(), reason=reason
        )
        change_id = await self._store_change(change, ref)
        log.info("%s: redacted message %d, reason %r", actor, msg_id, reason)
        return change_id

    # -- who may read what --------------------------------------------------------------

    async def _message(self, msg_id: int) -> MessageRef:
        ref = await self._store.message_ref(msg_id)
        if ref is None or ref.deleted:
            raise _no_such_message(msg_id)
        return ref

    async def _readable(self, user: User, msg_id: int) -> MessageRef:
        ref = await self._message(msg_id)
        if not self._may_read(user, ref):
            raise _no_such_message(msg_id)
        return ref

    def _may_read(self, user: User, ref: MessageRef) -> bool:
        if ref.room_id is not None:
            room = self._picture.rooms_by_id.get(ref.room_id)
            return room is not None and room.members.get(user.id) is MembershipState.MEMBER
        return user.id in (ref.sender_id, ref.recipient_id)

    # -- storing and announcing ----------------------------------------------------------

    async def _store_change(self, change: NewChange, ref: MessageRef) -> int:
        """Store `change`, announced before this returns; its change id."""
        result = await self.committer.submit(_Pending(change, ref))
        if result is None:  # deleted meanwhile
            raise _no_such_message(change.msg_id)
        return result.change_id

    async def _write(self, batch: list[_Pending]) -> list[StoredChange | None]:
        return await self._store.add_changes([p.change for p in batch])

    def _deliver(self, batch: list[tuple[_Pending, StoredChange | None]]) -> None:
        """Announce a committed batch to whoever can read each message, in id order."""
        picture = self._picture
        for pending, result in batch:
            assert result is not None  # only applied changes are delivered
            change, ref = pending.change, pending.ref
            room = picture.rooms_by_id[ref.room_id] if ref.room_id is not None else None
            sender = picture.users_by_id[ref.sender_id]
            recipient = (
                picture.users_by_id[ref.recipient_id] if ref.recipient_id is not None else None
            )
            event = change_event(
                result.change_id,
                change.kind,
                ref.msg_id,
                actor=change.actor,
                ts=change.ts,
                sender=sender.name,
                room=room.name if room is not None else None,
                to=recipient.name if recipient is not None else None,
                body=change.body,
                emoji=change.emoji,
                mentions=picture.mention_names(change.body or ""),
            )
            if room is not None:
                audience = Audience(
                    room_ids=(room.id,), change_id=result.change_id, msg_id=ref.msg_id
                )
            else:
                parties = (sender.id,) if recipient is None else (sender.id, recipient.id)
                audience = Audience(user_ids=parties, change_id=result.change_id, msg_id=ref.msg_id)
            picture.send_event(m.encode(event), audience)

    def _replayed(self, record: ChangeRecord) -> m.Change:
        return change_event(
            record.change_id,
            record.kind,
            record.msg_id,
            actor=record.actor,
            ts=record.ts,
            sender=record.sender,
            room=record.room,
            to=record.recipient,
            body=record.body,
            emoji=record.emoji,
            mentions=self._picture.mention_names(record.body or ""),
        )


def change_event(
    change_id: int,
    kind: ChangeKind,
    msg_id: int,
    *,
    actor: str,
    ts: int,
    sender: str,
    room: str | None,
    to: str | None,
    body: str | None,
    emoji: str | None,
    mentions: list[str] | None,
) -> m.Change:
    """The event that announces a change (and that `changes` replays)."""
    if kind is ChangeKind.EDIT:
        return m.Edited(
            change_id=change_id,
            msg_id=msg_id,
            sender=sender,
            body=body or "",
            edited=ts,
            room=room,
            to=to,
            mentions=mentions,
        )
    if kind is ChangeKind.DELETE:
        return m.Deleted(
            change_id=change_id, msg_id=msg_id, by=actor, room=room, to=to, sender=sender
        )
    return m.Reaction(
        change_id=change_id,
        msg_id=msg_id,
        user=actor,
        emoji=emoji or "",
        on=kind is ChangeKind.REACT,
        room=room,
        to=to,
        sender=sender,
    )
