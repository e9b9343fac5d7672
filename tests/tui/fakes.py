"""A client that replays fixed answers instead of talking to a server (snapshots only).

The Pilot tests use a real server; snapshots need the same picture on every run,
so their times, names and messages are fixed here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec

from chat_core import messages as m
from chat_core.errors import DisconnectReason
from chat_tui.client import ChatClient

R = TypeVar("R", bound=m.Ok)


def at(day: int, hour: int, minute: int) -> int:
    """A fixed time in June 2025, UTC, in milliseconds."""
    return int(datetime(2025, 6, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


ROOMS = [
    m.RoomInfo(name="Blabla", approval=False, state=m.MEMBER, online=3, last_msg_id=20, unread=4),
    m.RoomInfo(name="Comptabilité", approval=True, state=m.NONE, online=1, last_msg_id=0),
    m.RoomInfo(name="Général", approval=False, state=m.MEMBER, online=3, last_msg_id=9, unread=0),
    m.RoomInfo(name="Informatique", approval=True, state=m.PENDING, online=2, last_msg_id=0),
    m.RoomInfo(name="Marketing", approval=True, state=m.NONE, online=0, last_msg_id=0),
]
DMS = [m.DmInfo(peer="bob", last_msg_id=21, unread=1)]
GENERAL = [
    (1, at(2, 17, 58), "carol", "anyone still here?"),
    (2, at(2, 18, 2), "bob", "just leaving, see you tomorrow"),
    (3, at(3, 9, 1), "bob", "morning all"),
    (4, at(3, 9, 3), "alice", "morning! the build is green again"),
    (5, at(3, 9, 4), "carol", "@alice great, can you tag the release?"),
    (6, at(3, 9, 6), "dave", "[bold red]not markup[/] stays as typed"),
    (7, at(3, 9, 7), "alice", "tagging it now"),
    (8, at(3, 9, 12), "bob", "Comptabilité wants the numbers by noon"),
    (9, at(3, 9, 15), "carol", "on it"),
]
CHANGED: dict[int, dict[str, Any]] = {
    3: {"body": "waves good morning", "action": True},
    4: {"edited": at(3, 9, 5)},
    6: {"body": None, "deleted": True},
    7: {"reactions": {"👍": ["bob", "carol"], "🎉": ["alice"]}},
    9: {"reply_to": 8, "reactions": {"👀": ["bob"]}},
}
"""What became of some of GENERAL's messages, for `ChangedReplayClient`."""
NOTICED: dict[str, dict[str, Any]] = {
    "Blabla": {"unread": 12, "mentions": 2},
    "Général": {"topic": "Release 2.0 on Friday: [b]tests[/b] first \u2615"},
}
"""Topics and mention counts, for `NoticingReplayClient`."""
AWAY: dict[str, dict[str, Any]] = {"bob": {"away": True, "text": "lunch, back at two"}}
MEMBERS = [
    m.UserInfo(name="alice", online=True),
    m.UserInfo(name="bob", online=True),
    m.UserInfo(name="carol", online=True),
    m.UserInfo(name="dave", online=False),
    m.UserInfo(name="eve", online=False),
]
KICK = m.Disconnect(
    reason=DisconnectReason.KICKED, text="you are kicked: flooding #Général", until=at(3, 11, 15)
)


class ReplayClient(ChatClient):
    """Answers every request from the fixed data above; events come from `push()`."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._events: asyncio.Queue[m.Event | None] = asyncio.Queue()

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def events(self) -> AsyncGenerator[m.Event, None]:
        """The pushed events, until `close()`."""
        try:
            while (event := await self._events.get()) is not None:
                yield event
        finally:
            self.closed = True

    def push(self, event: m.Event) -> None:
        """Deliver an event as if the server had sent it."""
        self._events.put_nowait(event)

    async def close(self) -> None:
        """End the event stream."""
        self.closed = True
        self._events.put_nowait(None)

    async def request(self, kind: type[m.Request], result: type[R], **fields: Any) -> R:
        """The fixed answer to a request."""
        answer: m.Ok
        if kind in (m.Login, m.Register):
            answer = m.LoginOk(user="alice", rooms=ROOMS, dms=DMS, server_time=at(3, 9, 20))
        elif kind is m.History:
            answer = m.HistoryOk(messages=self.page() if fields.get("room") else [], more=False)
        elif kind is m.Who:
            answer = m.WhoOk(users=MEMBERS)
        elif kind is m.ListRooms:
            answer = m.RoomsOk(rooms=ROOMS)
        else:
            answer = m.Ok()
        return cast(R, answer)

    def page(self) -> list[m.Message]:
        """The history of Général."""
        return [
            m.Message(msg_id=i, ts=ts, sender=who, body=body, room="Général")
            for i, ts, who, body in GENERAL
        ]


class ChangedReplayClient(ReplayClient):
    """The same, with an action, an edit, a deletion, reactions and a reply in Général."""

    def page(self) -> list[m.Message]:
        """The history of Général, as CHANGED left it."""
        return [
            msgspec.structs.replace(message, **CHANGED.get(message.msg_id, {}))
            for message in super().page()
        ]


class NoticingReplayClient(ReplayClient):
    """The same, with a topic on Général, mentions unread in Blabla, and bob away."""

    async def request(self, kind: type[m.Request], result: type[R], **fields: Any) -> R:
        """The fixed answers, with topics, mention counts and away statuses."""
        answer: m.Ok = await super().request(kind, result, **fields)
        if isinstance(answer, m.LoginOk):
            rooms = [msgspec.structs.replace(room, **NOTICED.get(room.name, {})) for room in ROOMS]
            dms = [msgspec.structs.replace(dm, away=True, text="lunch") for dm in DMS]
            answer = msgspec.structs.replace(answer, rooms=rooms, dms=dms)
        elif isinstance(answer, m.WhoOk):
            users = [msgspec.structs.replace(u, **AWAY.get(u.name, {})) for u in MEMBERS]
            answer = m.WhoOk(users=users)
        return cast(R, answer)


FOUND = [
    m.Message(
        msg_id=21, ts=at(3, 9, 18), sender="bob", body="did you tag it? [b]v2[/b]", to="alice"
    ),
    m.Message(msg_id=7, ts=at(3, 9, 7), sender="alice", body="tagging it now", room="Général"),
    m.Message(
        msg_id=5,
        ts=at(3, 9, 4),
        sender="carol",
        body="@alice great, can you tag the release?",
        room="Général",
    ),
    m.Message(
        msg_id=3,
        ts=at(1, 16, 40),
        sender="dave",
        body="Tags for the Étiquettes release go\nin the wiki",
        room="Blabla",
    ),
]
"""What `tag*` finds, newest first, for `SearchReplayClient`."""


class SearchReplayClient(ReplayClient):
    """The same, answering every search with FOUND (and more to come)."""

    async def request(self, kind: type[m.Request], result: type[R], **fields: Any) -> R:
        """The fixed answers, and FOUND for a search."""
        if kind is m.Search:
            return cast(R, m.SearchOk(messages=FOUND, more=True))
        return await super().request(kind, result, **fields)


BUSY = [
    (10, "bob", "who has the key to the server room?"),
    (11, "carol", "dave had it yesterday"),
    (12, "dave", "it is on the hook by the door"),
    (13, "alice", "found it, thanks"),
    (14, "bob", "the tests pass on the staging box"),
    (15, "carol", "all of them?"),
    (16, "bob", "all but the slow one, which times out"),
    (17, "dave", "that one always does on staging"),
    (18, "alice", "I will raise its timeout"),
    (19, "carol", "lunch at noon, anyone?"),
    (20, "bob", "yes, the usual place"),
    (21, "dave", "count me in"),
    (22, "carol", "booked a table for four"),
    (23, "bob", "the release notes need a line about the search"),
    (24, "alice", "I am writing it now"),
    (25, "carol", "and one about the new rooms"),
    (26, "dave", "Comptabilité asked again about the numbers"),
    (27, "bob", "they are in the shared folder"),
    (28, "carol", "I sent them the link"),
    (29, "dave", "they say thanks"),
    (30, "bob", "tagging 2.0 in five minutes"),
    (31, "alice", "go ahead"),
    (32, "carol", "fingers crossed"),
    (33, "bob", "tagged"),
    (34, "dave", "the build is running"),
    (35, "carol", "green!"),
    (36, "bob", "packages are up"),
    (37, "alice", "announcing it in Blabla"),
    (38, "dave", "well done, everyone"),
    (39, "carol", "cake on Friday then"),
    (40, "bob", "I will bring it"),
    (41, "dave", "back to the tickets"),
    (42, "alice", "the search is slow on big rooms"),
    (43, "carol", "how slow?"),
    (44, "alice", "a second on the oldest ones"),
    (45, "bob", "the index should help"),
    (46, "dave", "it is in 2.1"),
    (47, "carol", "then 2.1 it is"),
    (48, "alice", "I will open a ticket"),
    (49, "bob", "meeting at eleven, same room"),
    (50, "dave", "I will be five minutes late"),
    (51, "carol", "noted"),
]
"""A busy morning in Général after GENERAL, a minute apart from 09:16 to 09:57, for
`BusyReplayClient`."""


class BusyReplayClient(ReplayClient):
    """The same, with a longer history in Général (more than a screen, even a large one)."""

    def page(self) -> list[m.Message]:
        """The history of Général, and the busy morning after it."""
        busy = [
            m.Message(msg_id=i, ts=at(3, 9, 6 + i), sender=who, body=body, room="Général")
            for i, who, body in BUSY
        ]
        return [*super().page(), *busy]


class UnreadReplayClient(BusyReplayClient):
    """The same, with the newest 20 messages of the others in Général unread."""

    async def request(self, kind: type[m.Request], result: type[R], **fields: Any) -> R:
        """The fixed answers, with Général's unread count."""
        answer: m.Ok = await super().request(kind, result, **fields)
        if isinstance(answer, m.LoginOk):
            rooms = [
                msgspec.structs.replace(room, unread=20, last_msg_id=51)
                if room.name == "Général"
                else room
                for room in answer.rooms
            ]
            answer = msgspec.structs.replace(answer, rooms=rooms)
        return cast(R, answer)


class StuckClient(ReplayClient):
    """A client that never connects: the server stays out of reach."""

    async def connect(self) -> None:
        """Wait for ever (until the app ends)."""
        await asyncio.Event().wait()
