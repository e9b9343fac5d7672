"""What the client knows: rooms, conversations, messages, members, presence, who
is away and who is typing.

`ChatState` is plain data with no I/O and no Textual: the session fills it from
replies, `apply()` folds each server event into it and says what changed, and the
screens draw from it. Each room and conversation is a `Conversation`; edits,
deletions and reactions replace the message held by its new state. Unread counts
and mention counts come from the server at login and follow the messages after.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from chat_core import messages as m
from chat_core.names import name_key
from chat_tui.changes import ChangeLog, changed
from chat_tui.conversation import Conversation, Note, NoteKind, Target, mentions
from chat_tui.noticing import MONOTONIC, Clock, Typists


@dataclass
class Change:
    """What an event changed, so the screen redraws only that."""

    sidebar: bool = False
    users: bool = False
    target: Target | None = None  # the conversation that got (or changed) messages
    added: list[m.Message] = field(default_factory=list)
    updated: list[m.Message] = field(default_factory=list)  # held ones that changed
    alert: str | None = None  # a DM or a mention: worth a bell, outside the current view
    alert_title: str = ""
    info: str | None = None  # a toast for the user (membership, new room, notice)
    info_title: str = ""
    typing: Target | None = None  # who types there changed
    topic: Target | None = None  # the room's topic changed
    topic_note: str = ""  # who set it, in words
    status: bool = False  # someone's away status changed (the user's own too)
    note: tuple[Target, Note] | None = None  # a line from the client, kept in that conversation


class ChatState:
    """Everything the client shows: filled from replies, updated by events.

    Args:
        me: The user's name.
        clock: The time, for how long "… is typing" lasts.
    """

    def __init__(self, me: str, clock: Clock = MONOTONIC) -> None:
        self.me = me
        self.clock = clock
        self.rooms: dict[str, Conversation] = {}  # member or pending rooms, by key
        self.dms: dict[str, Conversation] = {}  # by peer key
        self.directory: dict[str, m.RoomInfo] = {}  # every room known, by key
        self.members: dict[str, dict[str, m.UserInfo]] = {}  # room key -> user key -> info
        self.online: dict[str, bool] = {}  # user key -> online
        self.names: dict[str, str] = {}  # user key -> name as registered
        self.away: dict[str, str | None] = {}  # user key -> away text, for those away
        self.typists = Typists()
        self.current: Target | None = None
        self.role: str = m.Role.USER  # this user's, as the last login said
        self.changes = ChangeLog()
        """The changes to messages seen, so a reconnection asks for the ones after."""
        self.tracks_changes = False
        """Whether the server numbers changes (it said `last_change_id` at login)."""
        self._server_clock = (0, clock())  # the server's time (ms) at the last login, and ours

    def server_now(self) -> int:
        """The server's time now, in ms, from its time at the last login and the clock."""
        server, then = self._server_clock
        return server + round((self.clock() - then) * 1000)

    @classmethod
    def from_login(cls, reply: m.LoginOk, clock: Clock = MONOTONIC) -> ChatState:
        """The state right after a login or register reply."""
        state = cls(reply.user, clock)
        state.merge_login(reply)
        # The messages about to be fetched hold every change up to this one; after a
        # re-login the log keeps its own mark, to ask for what happened meanwhile.
        state.changes = ChangeLog(reply.last_change_id or 0)
        return state

    def merge_login(self, reply: m.LoginOk) -> None:
        """Take the rooms, DMs and unread counts of a (re-)login; keep the messages."""
        self.me = reply.user
        self.role = reply.role
        self._server_clock = (reply.server_time, self.clock())
        self.tracks_changes = reply.last_change_id is not None
        self._learn(reply.user)
        for info in reply.rooms:
            self.directory[name_key(info.name)] = info
            self._room_info(info)
        for dm in reply.dms:
            conv = self.dm(dm.peer)
            conv.unread = dm.unread
            conv.last_msg_id = max(conv.last_msg_id, dm.last_msg_id)
            self.set_away(dm.peer, dm.away, dm.text)
        self.away.pop(name_key(self.me), None)  # a new connection starts back
        if self.current is not None and self.conversation(self.current) is None:
            self.current = None

    def _room_info(self, info: m.RoomInfo) -> None:
        key = name_key(info.name)
        if info.state == m.NONE:
            self.rooms.pop(key, None)
            return
        conv = self.rooms.setdefault(key, Conversation(Target.room(info.name)))
        conv.state, conv.approval = info.state, info.approval
        conv.unread = info.unread or 0
        conv.mentions = info.mentions or 0
        conv.topic = info.topic
        conv.last_msg_id = max(conv.last_msg_id, info.last_msg_id or 0)

    def set_directory(self, rooms: Iterable[m.RoomInfo]) -> None:
        """Take a `rooms` answer: every room, and this user's state in each."""
        for info in rooms:
            self.directory[name_key(info.name)] = info
            self._room_info(info)

    # -- look-ups -------------------------------------------------------------

    @property
    def moderator(self) -> bool:
        """Whether this user may moderate (a moderator or an admin)."""
        return self.role != m.Role.USER

    def conversation(self, target: Target) -> Conversation | None:
        """The room or conversation, if the user has it."""
        return (self.rooms if target.kind == "room" else self.dms).get(target.key)

    def dm(self, peer: str) -> Conversation:
        """The conversation with `peer`, created if new."""
        self._learn(peer)
        key = name_key(peer)
        conv = self.dms.get(key)
        if conv is None:
            conv = self.dms[key] = Conversation(Target.dm(self.names.get(key, peer)))
        return conv

    def sidebar(self) -> list[Conversation]:
        """Rooms (pending ones included), then conversations, each by name."""
        rooms = [self.rooms[key] for key in sorted(self.rooms)]
        return rooms + [self.dms[key] for key in sorted(self.dms)]

    def openable(self) -> list[Target]:
        """What can be opened, in sidebar order: member rooms and conversations."""
        return [conv.target for conv in self.sidebar() if conv.state == m.MEMBER]

    def user_names(self) -> list[str]:
        """Every user name seen, for completion."""
        return sorted(self.names.values(), key=name_key)

    def room_names(self) -> list[str]:
        """Every room name known, for completion."""
        return sorted((info.name for info in self.directory.values()), key=name_key)

    def set_members(self, room: str, users: Iterable[m.UserInfo]) -> None:
        """Take a `who ROOM` answer."""
        listed = {name_key(user.name): user for user in users}
        self.members[name_key(room)] = listed
        for key, user in listed.items():
            self.online[key] = user.online
            self._learn(user.name)
            self.set_away(user.name, user.away, user.text)

    def away_text(self, user: str) -> str | None:
        """The user's away message ("" when away without one); None when not away."""
        key = name_key(user)
        return (self.away[key] or "") if key in self.away else None

    def user_info(self, user: m.UserInfo) -> m.UserInfo:
        """`user` (from a `who` answer) with their away status as known now."""
        text = self.away_text(user.name)
        return msgspec.structs.replace(user, away=text is not None, text=text or None)

    def mentioned(self, message: m.Message) -> bool:
        """Whether `message` mentions the user, as the server counts mentions (never
        when they sent it).

        A version-2 server lists the names mentioned as `@name`; with an older one,
        the name as a word counts.
        """
        me = name_key(self.me)
        if name_key(message.sender) == me:
            return False
        if message.mentions is not None or self.tracks_changes:
            return any(name_key(name) == me for name in message.mentions or ())
        return bool(mentions(message.text, self.me))

    def set_away(self, user: str, away: bool, text: str | None) -> bool:
        """Note the user's status (away with `text`, or back); whether it changed."""
        key = name_key(user)
        before = self.away.get(key, False)
        if away:
            self.away[key] = text
        else:
            self.away.pop(key, None)
        return self.away.get(key, False) != before

    def note(
        self, target: Target, text: str, kind: NoteKind = "note"
    ) -> tuple[Target, Note] | None:
        """Keep a line from the client in `target` (if the user has it), where it was written."""
        conv = self.conversation(target)
        return (conv.target, conv.note(text, kind)) if conv is not None else None

    def _learn(self, user: str) -> None:
        self.names.setdefault(name_key(user), user)

    # -- events ---------------------------------------------------------------

    def apply(self, event: m.Event) -> Change:
        """Fold one server event into the state; what changed."""
        if isinstance(event, m.Message):
            return self._message(event)
        if isinstance(event, m.Presence):
            return self._presence(event)
        if isinstance(event, m.Member):
            return self._member(event)
        if isinstance(event, m.Membership):
            return self._membership(event)
        if isinstance(event, m.Read):
            return self._read(event)
        if isinstance(event, m.RoomAdded):
            self.directory[name_key(event.room)] = m.RoomInfo(
                name=event.room, approval=event.approval, state=m.NONE, online=0, last_msg_id=0
            )
            return Change(info=f"A new room was created: {event.room}")
        if isinstance(event, m.Notice):
            change = Change(info=event.text, info_title="Notice from the administrator")
            if self.current is not None:  # it stays where the user was looking
                change.note = self.note(
                    self.current, f"Notice from the administrator: {event.text}", "notice"
                )
            return change
        if isinstance(event, m.Edited | m.Deleted | m.Reaction):
            return self._changed(event)
        if isinstance(event, m.UserTyping):
            return self._typing(event)
        if isinstance(event, m.UserStatus):
            self._learn(event.user)
            return Change(status=self.set_away(event.user, event.away, event.text))
        if isinstance(event, m.Topic):
            return self._topic(event)
        return Change()

    def _typing(self, event: m.UserTyping) -> Change:
        if name_key(event.user) == name_key(self.me):
            return Change()
        if event.room is not None:
            conv = self.rooms.get(name_key(event.room))
        else:
            conv = self.dms.get(name_key(event.user))
        if conv is None:
            return Change()
        self.typists.saw(conv.target, event.user, self.clock())
        return Change(typing=conv.target)

    def _topic(self, event: m.Topic) -> Change:
        key = name_key(event.room)
        topic = event.topic or None
        info = self.directory.get(key)
        if info is not None:
            info.topic = topic
        conv = self.rooms.get(key)
        if conv is None:
            return Change()
        conv.topic = topic
        note = f"{event.by} set the topic: {topic}" if topic else f"{event.by} cleared the topic"
        return Change(topic=conv.target, topic_note=note)

    def _changed(self, event: m.Change) -> Change:
        """Fold an edit, a deletion or a reaction into the message held, if it is."""
        if not self.changes.accept(event):
            return Change()
        if event.room is not None:
            convs = [self.rooms.get(name_key(event.room))]
        else:  # msg_ids are unique server-wide; `to` alone may name the user themself
            convs = list(self.dms.values())
        for conv in convs:
            old = conv.find(event.msg_id) if conv is not None else None
            if conv is None or old is None:
                continue
            new = changed(old, event)
            conv.replace(new)
            return Change(target=conv.target, updated=[new])
        return Change()

    def _message(self, message: m.Message) -> Change:
        self._learn(message.sender)
        mine = name_key(message.sender) == name_key(self.me)
        if message.room is not None:
            key = name_key(message.room)
            conv = self.rooms.get(key)
            if conv is None:
                conv = self.rooms[key] = Conversation(Target.room(message.room))
        else:
            conv = self.dm(message.to if mine and message.to is not None else message.sender)
        sidebar = not conv.messages and conv.target.kind == "dm"
        # A window back in time holds no gap: newer messages come with its next pages.
        behind = conv.more_after and not conv.holds(message.msg_id)
        added = [] if behind else conv.add([message])
        conv.last_msg_id = max(conv.last_msg_id, message.msg_id)
        change = Change(sidebar=sidebar, target=conv.target, added=added)
        if self.typists.stopped(conv.target, message.sender):
            change.typing = conv.target
        if not (added or behind) or mine:
            return change
        mentioned = conv.target.kind == "room" and self.mentioned(message)
        if conv.target != self.current or behind:
            conv.unread += 1
            conv.mentions += mentioned
            change.sidebar = True
        if conv.target.kind == "dm":
            change.alert_title = f"Direct message from {message.sender}"
            change.alert = message.text
        elif mentioned or mentions(message.text, self.me):  # the name alone, highlighted too
            change.alert_title = f"{message.sender} mentioned you in {message.room}"
            change.alert = message.text
        return change

    def _presence(self, event: m.Presence) -> Change:
        change = Change(users=True)
        for entry in event.entries():
            key = name_key(entry.user)
            if key == name_key(self.me):
                continue  # merged presence may name oneself: one is online, here
            self._learn(entry.user)
            self.online[key] = entry.online
            if not entry.online:  # a status ends with the user's last connection
                change.status |= self.set_away(entry.user, False, None)
            for listed in self.members.values():
                if key in listed:
                    listed[key] = msgspec.structs.replace(listed[key], online=entry.online)
        return change

    def _member(self, event: m.Member) -> Change:
        room_key, user_key = name_key(event.room), name_key(event.user)
        self._learn(event.user)
        listed = self.members.get(room_key)
        if listed is not None:
            if event.joined:
                online = self.online.get(user_key, False) or user_key == name_key(self.me)
                listed[user_key] = m.UserInfo(name=event.user, online=online)
            else:
                listed.pop(user_key, None)
        if user_key != name_key(self.me):
            room = Target.room(event.room)
            gone = not event.joined and self.typists.stopped(room, event.user)
            line = f"→ {event.user} joined" if event.joined else f"← {event.user} left"
            note = self.note(room, f"{line} {event.room}", "join")
            return Change(users=True, typing=room if gone else None, note=note)
        if event.joined:
            conv = self.rooms.setdefault(room_key, Conversation(Target.room(event.room)))
            conv.state = m.MEMBER
        else:
            self._drop_room(room_key)
        return Change(sidebar=True, users=True)

    def _membership(self, event: m.Membership) -> Change:
        key = name_key(event.room)
        info = self.directory.get(key)
        if info is not None:
            info.state = event.state
        if event.state == m.NONE:
            was = self.rooms.get(key)
            self._drop_room(key)
            if was is None:
                return Change()
            if was.state == m.PENDING:
                return Change(sidebar=True, info=f"Your request to join {event.room} was refused.")
            return Change(sidebar=True, info=f"You were removed from {event.room}.")
        conv = self.rooms.setdefault(key, Conversation(Target.room(event.room)))
        conv.state = event.state
        if event.state == m.MEMBER:
            return Change(sidebar=True, info=f"You are now a member of {event.room}.")
        return Change(sidebar=True)

    def _drop_room(self, key: str) -> None:
        conv = self.rooms.pop(key, None)
        self.members.pop(key, None)
        if conv is not None and conv.target == self.current:
            self.current = None

    def _read(self, event: m.Read) -> Change:
        if event.room is not None:
            conv = self.rooms.get(name_key(event.room))
        else:
            conv = self.dms.get(name_key(event.peer or ""))
        if conv is None:
            return Change()
        if event.msg_id >= conv.last_msg_id:
            conv.unread = conv.mentions = 0
        else:
            me = name_key(self.me)
            later = [
                msg
                for msg in conv.messages
                if msg.msg_id > event.msg_id and name_key(msg.sender) != me
            ]
            conv.unread = min(conv.unread, len(later))
            conv.mentions = min(conv.mentions, sum(map(self.mentioned, later)))
        return Change(sidebar=True)
