"""A logged-in session: the client and the state, and the steps that use both.

`ChatSession` opens conversations (history, members, read marker), pages back,
jumps to a message of the past (and pages forward from there), searches, sends
with a nonce (kept in an outbox until the server has stored it: the screen shows
those as waiting), and after
a reconnection catches up: every conversation that was on screen gets the
messages after the last one seen, the edits, deletions and reactions made meanwhile
are fetched (`changes` after the last one seen) and folded in, and the outbox is
sent again with the same nonces, so nothing is lost and nothing is doubled; the
conversation on screen, if it was opened offline, gets its history; an
away status is set again (the server forgets it with the last connection). It also
says when the user is typing (at most every 3 s per conversation), sets their
status and rooms' topics. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.names import name_key
from chat_tui.client import ChatClient, new_nonce
from chat_tui.conversation import Conversation, Outgoing, Target
from chat_tui.noticing import TypingThrottle
from chat_tui.state import ChatState

CATCH_UP_PAGE = 200  # the largest `history` page the protocol allows
JUMP_PAGE = 50  # messages fetched on each side of one jumped to
CHANGES_PAGE = m.CHANGES_LIMIT_DEFAULT  # changes asked for at once when catching up


@dataclass
class CaughtUp:
    """What a reconnection brought, by conversation: new messages and changed ones."""

    missed: dict[Target, list[m.Message]] = field(default_factory=dict)
    changed: dict[Target, list[m.Message]] = field(default_factory=dict)


class ChatSession:
    """What the chat screen asks for, done with the client and kept in the state.

    Args:
        client: A connected, logged-in client.
        state: The state built from the login reply.
    """

    def __init__(self, client: ChatClient, state: ChatState) -> None:
        self.client = client
        self.state = state
        self.outbox: list[Outgoing] = []
        self.throttle = TypingThrottle()
        self._marks: dict[Target, int] = {}  # catch-up points, taken when the link dropped

    def _conv(self, target: Target) -> Conversation:
        conv = self.state.conversation(target)
        if conv is None:
            raise KeyError(target.label)
        return conv

    def look_at(self, target: Target) -> Conversation:
        """Make `target` the current view; a window back in time left is forgotten."""
        if target.kind == "dm":
            self.state.dm(target.name)
        conv = self._conv(target)
        current = self.state.current
        previous = self.state.conversation(current) if current is not None else None
        if previous is not None and previous is not conv and previous.more_after:
            previous.forget()
        if previous is not conv:  # where the read marker is, until the next opening
            conv.mark_unread(self.state.me)
        self.state.current = conv.target
        return conv

    async def open(self, target: Target) -> None:
        """Make `target` the current view: its newest page, its members, read marker."""
        conv = self.look_at(target)
        if not conv.loaded:
            await self._load(conv)
            conv.mark_unread(self.state.me)
        if target.kind == "room":
            self.state.set_members(target.name, await self.client.who(target.name))
        await self.mark_read(target)

    async def _load(self, conv: Conversation) -> list[m.Message]:
        """Fetch the newest page of `conv`; the messages it added."""
        page = await self.client.history(**conv.target.fields())
        conv.loaded, conv.more_before = True, page.more
        return conv.add(page.messages)

    def waiting(self, target: Target | None) -> list[Outgoing]:
        """The messages sent to `target` that the server has not confirmed yet."""
        return [outgoing for outgoing in self.outbox if outgoing.target == target]

    async def load_older(self, target: Target) -> list[m.Message]:
        """The page before the oldest message held (empty if there is none)."""
        conv = self._conv(target)
        if not conv.more_before or conv.oldest_id is None:
            return []
        page = await self.client.history(before=conv.oldest_id, **target.fields())
        conv.more_before = page.more
        return conv.add(page.messages)

    async def jump(self, target: Target, msg_id: int) -> bool:
        """Hold the messages around `msg_id` in `target` (a page on each side); whether
        it is there.

        When they join the messages held, they are added to them; otherwise they take
        their place as a window back in time (`more_after`): newer messages come with
        `load_newer`, and live ones wait for it.
        """
        conv = self.look_at(target)
        if conv.holds(msg_id):
            return True
        fields = conv.target.fields()
        before = await self.client.history(before=msg_id + 1, limit=JUMP_PAGE, **fields)
        if not any(message.msg_id == msg_id for message in before.messages):
            return False
        after = await self.client.history(after=msg_id, limit=JUMP_PAGE, **fields)
        oldest = conv.oldest_id
        joins = not after.more or (
            oldest is not None and any(message.msg_id >= oldest for message in after.messages)
        )
        if not joins:
            conv.forget()
            conv.more_after = True
        if not joins or oldest is None or before.messages[0].msg_id < oldest:
            conv.more_before = before.more
        conv.add([*before.messages, *after.messages])
        conv.loaded = True
        return True

    async def load_newer(self, target: Target) -> list[m.Message]:
        """The page after the newest message of a window back in time (empty if there is
        none); the last one ends the window and marks it read."""
        conv = self._conv(target)
        if not conv.more_after:
            return []
        fields = conv.target.fields()
        page = await self.client.history(after=conv.newest_id, limit=CATCH_UP_PAGE, **fields)
        conv.more_after = page.more and bool(page.messages)
        added = conv.add(page.messages)
        if not conv.more_after and self.state.current == conv.target:
            await self.mark_read(conv.target)
        return added

    async def mark_read(self, target: Target) -> None:
        """Tell the server everything held in `target` has been read (not in a window
        back in time: the newest are not there)."""
        conv = self._conv(target)
        if conv.more_after:
            return
        conv.unread = conv.mentions = 0
        if conv.newest_id:
            await self.client.mark_read(conv.newest_id, **target.fields())

    async def send(
        self, target: Target, body: str, *, reply_to: int | None = None, action: bool = False
    ) -> bool:
        """Send `body` to a room or a user; kept in the outbox if the link is down.

        Args:
            target: The room or the conversation.
            body: The text.
            reply_to: The message it answers, in the same room or conversation.
            action: A `/me` line.

        Returns:
            True if the server stored it, False if it waits in the outbox.

        Raises:
            ProtocolError: the server refused it (it is not kept).
        """
        outgoing = Outgoing(target, body, new_nonce(), reply_to, action)
        self.outbox.append(outgoing)
        if self.client.closed:
            return False
        try:
            await self._deliver(outgoing)
        except (ConnectionError, TimeoutError):
            return False  # sent again, with the same nonce, once reconnected
        except BaseException:
            self.outbox.remove(outgoing)
            raise
        return True

    async def _deliver(self, outgoing: Outgoing) -> None:
        target = outgoing.target
        send = self.client.send if target.kind == "room" else self.client.dm
        await send(
            target.name,
            outgoing.body,
            outgoing.nonce,
            reply_to=outgoing.reply_to,
            action=outgoing.action,
        )
        if outgoing in self.outbox:
            self.outbox.remove(outgoing)

    async def edit(self, msg_id: int, body: str) -> None:
        """Replace the body of one's message (the `edited` event updates the state)."""
        await self.client.edit(msg_id, body)

    async def delete(self, msg_id: int) -> None:
        """Delete a message (the `deleted` event updates the state)."""
        await self.client.delete(msg_id)

    async def react(self, msg_id: int, emoji: str, *, on: bool) -> None:
        """Put a reaction on or take it back (the `reaction` event updates the state)."""
        await self.client.react(msg_id, emoji, on=on)

    async def fetch_parent(self, target: Target, msg_id: int) -> m.Message | None:
        """Fetch the message a reply quotes when it is not held; None if it is not there.

        The page after `msg_id - 1` starts with `msg_id` when it is in `target`.
        """
        conv = self._conv(target)
        page = await self.client.history(after=msg_id - 1, limit=1, **target.fields())
        found = next((msg for msg in page.messages if msg.msg_id == msg_id), None)
        if found is not None and conv.find(msg_id) is None:
            conv.quoted[msg_id] = found
        return found

    async def search(self, query: str, before: int | None = None) -> tuple[list[m.Message], bool]:
        """A page of the messages that match `query`, newest first (before `before`, if
        given), and whether older ones match too."""
        page = await self.client.search(query, before=before)
        return page.messages, page.more

    def typing_due(self, target: Target) -> bool:
        """Whether to say the user is typing in `target`: not if said less than 3 s ago
        (if it is due, it counts as said)."""
        return self.throttle.due(target, self.state.clock())

    async def send_typing(self, target: Target) -> None:
        """Say the user is typing in `target`."""
        await self.client.typing(**target.fields())

    async def set_status(self, away: bool, text: str | None = None) -> None:
        """Set the user away (with an away message, if `text` has one) or back."""
        text = (text or "").strip() or None if away else None
        await self.client.set_status(away, text)
        self.state.set_away(self.state.me, away, text)

    async def set_topic(self, room: str, topic: str) -> None:
        """Set a room's topic ("" clears it); the `topic` event updates the state."""
        await self.client.set_topic(room, topic)

    async def join(self, room: str) -> str:
        """Join a room or ask to; `member` or `pending`."""
        state = await self.client.join(room)
        info = self.state.directory.get(name_key(room))
        approval = info.approval if info is not None else state == m.PENDING
        name = info.name if info is not None else room
        topic = info.topic if info is not None else None
        joined = m.RoomInfo(
            name=name, approval=approval, state=state, online=0, last_msg_id=0, topic=topic
        )
        self.state.set_directory([joined])
        return state

    async def leave(self, room: str) -> None:
        """Leave a room."""
        await self.client.leave(room)
        self.state.apply(m.Member(room=room, user=self.state.me, joined=False))
        info = self.state.directory.get(name_key(room))
        if info is not None:
            info.state = m.NONE

    async def list_rooms(self) -> list[m.RoomInfo]:
        """Every room, with this user's state in each."""
        rooms = await self.client.rooms()
        self.state.set_directory(rooms)
        return rooms

    # -- reconnection -----------------------------------------------------------------

    def connection_lost(self) -> None:
        """Remember, per conversation on screen, the last message seen (and change)."""
        self.state.changes.hold()
        for conv in [*self.state.rooms.values(), *self.state.dms.values()]:
            if conv.loaded and not conv.more_after:  # a window loads newer ones anyway
                self._marks.setdefault(conv.target, conv.newest_id)

    async def resume(self, client: ChatClient, reply: m.LoginOk) -> CaughtUp:
        """Carry on with a new, logged-in client: catch up, resend, mark read.

        Returns:
            The messages missed while away, and those changed meanwhile.
        """
        self.client = client
        away = self.state.away_text(self.state.me)
        self.state.merge_login(reply)
        if away is not None:
            await self.set_status(True, away)
        caught = CaughtUp()
        for target, mark in list(self._marks.items()):
            conv = self.state.conversation(target)
            if conv is not None:
                caught.missed[target] = await self._catch_up(conv, mark)
            del self._marks[target]
        if self.state.tracks_changes:
            await self._catch_up_changes(caught.changed)
        self.state.changes.release()
        for outgoing in list(self.outbox):
            try:
                await self._deliver(outgoing)
            except ProtocolError:  # refused now (the room was left meanwhile): drop it
                self.outbox.remove(outgoing)
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        if current is not None and conv is not None:
            if not conv.loaded:  # opened while offline: its history now
                caught.missed[current] = await self._load(conv)
            if current.kind == "room":
                self.state.set_members(current.name, await client.who(current.name))
            else:
                online = {name_key(user.name) for user in await client.who() if user.online}
                self.state.online[current.key] = current.key in online
            await self.mark_read(current)
        return caught

    async def _catch_up(self, conv: Conversation, mark: int) -> list[m.Message]:
        added: list[m.Message] = []
        more = True
        while more:
            page = await self.client.history(
                after=mark, limit=CATCH_UP_PAGE, **conv.target.fields()
            )
            added += conv.add(page.messages)
            more = page.more and bool(page.messages)
            if page.messages:
                mark = page.messages[-1].msg_id
        return added

    async def _catch_up_changes(self, changed: dict[Target, list[m.Message]]) -> None:
        """Fold in every change made since the last one seen, page after page."""
        log = self.state.changes
        since = log.last
        more = True
        while more:
            page = await self.client.changes(since=since, limit=CHANGES_PAGE)
            for event in page.changes:
                change = self.state.apply(event)
                if change.target is not None and change.updated:
                    changed.setdefault(change.target, []).extend(change.updated)
            if page.changes:
                since = page.changes[-1].change_id
                log.caught_up_to(since)
            more = page.more and bool(page.changes)
