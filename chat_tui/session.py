"""A logged-in session: the client and the state, and the steps that use both.

`ChatSession` opens conversations (history, members, read marker), pages back,
sends with a nonce (kept in an outbox until the server has stored it), and after
a reconnection catches up: every conversation that was on screen gets the
messages after the last one seen, and the outbox is sent again with the same
nonces, so nothing is lost and nothing is doubled. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.names import name_key
from chat_tui.client import ChatClient, new_nonce
from chat_tui.state import ChatState, Conversation, Target

CATCH_UP_PAGE = 200  # the largest `history` page the protocol allows


@dataclass(frozen=True)
class Outgoing:
    """A message the user sent that the server has not confirmed yet."""

    target: Target
    body: str
    nonce: str


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
        self._marks: dict[Target, int] = {}  # catch-up points, taken when the link dropped

    def _conv(self, target: Target) -> Conversation:
        conv = self.state.conversation(target)
        if conv is None:
            raise KeyError(target.label)
        return conv

    async def open(self, target: Target) -> None:
        """Make `target` the current view: its newest page, its members, read marker."""
        if target.kind == "dm":
            self.state.dm(target.name)
        conv = self._conv(target)
        self.state.current = conv.target
        if not conv.loaded:
            page = await self.client.history(**target.fields())
            conv.add(page.messages)
            conv.loaded, conv.more_before = True, page.more
        if target.kind == "room":
            self.state.set_members(target.name, await self.client.who(target.name))
        await self.mark_read(target)

    async def load_older(self, target: Target) -> list[m.Message]:
        """The page before the oldest message held (empty if there is none)."""
        conv = self._conv(target)
        if not conv.more_before or conv.oldest_id is None:
            return []
        page = await self.client.history(before=conv.oldest_id, **target.fields())
        conv.more_before = page.more
        return conv.add(page.messages)

    async def mark_read(self, target: Target) -> None:
        """Tell the server everything held in `target` has been read."""
        conv = self._conv(target)
        conv.unread = 0
        if conv.newest_id:
            await self.client.mark_read(conv.newest_id, **target.fields())

    async def send(self, target: Target, body: str) -> bool:
        """Send `body` to a room or a user; kept in the outbox if the link is down.

        Returns:
            True if the server stored it, False if it waits in the outbox.

        Raises:
            ProtocolError: the server refused it (it is not kept).
        """
        outgoing = Outgoing(target, body, new_nonce())
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
        if target.kind == "room":
            await self.client.send(target.name, outgoing.body, outgoing.nonce)
        else:
            await self.client.dm(target.name, outgoing.body, outgoing.nonce)
        if outgoing in self.outbox:
            self.outbox.remove(outgoing)

    async def join(self, room: str) -> str:
        """Join a room or ask to; `member` or `pending`."""
        state = await self.client.join(room)
        info = self.state.directory.get(name_key(room))
        approval = info.approval if info is not None else state == m.PENDING
        name = info.name if info is not None else room
        self.state.set_directory(
            [m.RoomInfo(name=name, approval=approval, state=state, online=0, last_msg_id=0)]
        )
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
        """Remember, per conversation on screen, the last message seen."""
        for conv in [*self.state.rooms.values(), *self.state.dms.values()]:
            if conv.loaded:
                self._marks.setdefault(conv.target, conv.newest_id)

    async def resume(self, client: ChatClient, reply: m.LoginOk) -> dict[Target, list[m.Message]]:
        """Carry on with a new, logged-in client: catch up, resend, mark read.

        Returns:
            The messages missed while away, by conversation.
        """
        self.client = client
        self.state.merge_login(reply)
        missed: dict[Target, list[m.Message]] = {}
        for target, mark in list(self._marks.items()):
            conv = self.state.conversation(target)
            if conv is not None:
                missed[target] = await self._catch_up(conv, mark)
            del self._marks[target]
        for outgoing in list(self.outbox):
            try:
                await self._deliver(outgoing)
            except ProtocolError:  # refused now (the room was left meanwhile): drop it
                self.outbox.remove(outgoing)
        current = self.state.current
        if current is not None:
            if current.kind == "room":
                self.state.set_members(current.name, await client.who(current.name))
            await self.mark_read(current)
        return missed

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
