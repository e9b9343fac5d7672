"""The chat screen's `/commands`, run against the session, and the client's own lines.

A base of `ChatScreen`, kept apart so each module stays small: the screen
supplies the drawing (`open_target`, `redraw_sidebar`) and the rest; the
replies and reactions come from `MessageActions` below it. What a command says
(`note`) is a line in the message pane kept with the room or conversation it was
written in, so it is there again when the user comes back to it; so are notices
and (unless the settings hide them) who joined and left. A message sent while
offline shows at once, dimmed and waiting, until the server has it.
"""

from __future__ import annotations

from datetime import tzinfo

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.names import name_key
from chat_tui.commands import Command
from chat_tui.config import Preferences
from chat_tui.conversation import Note, Target
from chat_tui.render import describe_error
from chat_tui.screens.message_actions import OFFLINE, MessageActions
from chat_tui.session import ChatSession
from chat_tui.state import ChatState
from chat_tui.widgets.message_pane import Extras, MessagePane


class ChatCommands(MessageActions):
    """What each `/command` (and a plain line) does."""

    session: ChatSession
    state: ChatState
    tz: tzinfo | None
    preferences: Preferences

    async def note(self, text: str) -> None:
        """A line from the client in the message pane, kept with the conversation."""
        kept = self.state.note(self.state.current, text) if self.state.current else None
        await self.query_one(MessagePane).note(kept[1] if kept is not None else text)

    async def noted(self, target: Target, note: Note) -> None:
        """A line kept in `target` by an event: shown if `target` is on screen."""
        if target == self.state.current and self._shown(note):
            await self.query_one(MessagePane).note(note)

    def _shown(self, note: Note) -> bool:
        return note.kind != "join" or self.preferences.show_joins

    def pane_extras(self) -> Extras:
        """What the message pane shows beside the messages of the conversation on screen."""
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        if conv is None:
            return Extras()
        notes = [note for note in conv.notes if self._shown(note)]
        return Extras(notes, self.session.waiting(current), conv.marker, conv.cleared)

    def open_target(self, target: Target, around: int | None = None) -> None:
        """Show a room or a conversation (around a message of it) (the screen's)."""
        raise NotImplementedError

    def redraw_sidebar(self) -> None:
        """Redraw the sidebar (the screen's)."""
        raise NotImplementedError

    def browse_rooms(self) -> None:
        """Open the room browser (the screen's)."""
        raise NotImplementedError

    async def app_action(self, action: str) -> None:
        """Run an action of the app: `help`, `quit` (the screen's)."""
        raise NotImplementedError

    async def dispatch(self, command: Command) -> None:
        current = self.state.current
        if command.name in ("say", "/me", "/react") and current is None:
            await self.note("Open a room first: /join ROOM, or Ctrl+O to browse.")
        elif command.name in ("say", "/me") and current is not None:
            await self._send(current, command.text, action=command.name == "/me")
        elif command.name == "/react":
            await self.react_to_newest(command.args[0])
        elif command.name == "/join":
            await self.join(command.args[0])
        elif command.name in ("/leave", "/part"):
            await self._leave(command.args[0] if command.args else None)
        elif command.name in ("/msg", "/query"):
            await self._message(command)
        elif command.name in ("/who", "/names"):
            await self._who()
        elif command.name == "/clear":
            await self._clear()
        elif command.name == "/rooms":
            self.browse_rooms()
        elif command.name == "/mod":
            await self._moderate(command.text)
        elif command.name in ("/away", "/back"):
            await self._set_status(command.name == "/away", command.text)
        elif command.name == "/topic":
            await self._set_topic(command.text)
        elif command.name == "/search":
            self.search(command.text)
        elif command.name == "/help":
            await self.app_action("help")
        elif command.name == "/logout":
            await self.app_action("logout(True)" if command.args else "logout")
        elif command.name == "/quit":
            await self.app_action("quit")

    async def _message(self, command: Command) -> None:
        """`/msg USER [TEXT]` (or `/query`, whose words come split)."""
        if not command.args:
            await self.note("usage: /query USER")
            return
        target = Target.dm(command.args[0])
        text = command.text or " ".join(command.args[1:])
        if target.key == name_key(self.state.me):
            await self.note("A direct message goes to someone else.")
            return
        self.open_target(target)
        if text:
            await self._send(target, text)

    async def _clear(self) -> None:
        """Empty the pane of the conversation on screen, for this client only."""
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        if conv is not None:
            conv.clear()
        pane = self.query_one(MessagePane)
        await pane.show(conv.messages if conv is not None else [])
        pane.more_before = False  # what was cleared does not come back by scrolling up

    async def _send(self, target: Target, text: str, *, action: bool = False) -> None:
        conv = self.state.conversation(target)
        if conv is not None and conv.more_after:  # what one says goes at the bottom: go there
            conv.forget()
            self.open_target(conv.target)
        reply_to = self.take_reply(target)
        await self.session.send(target, text, reply_to=reply_to, action=action)
        if target == self.state.current:  # offline: waiting, dimmed, until the server has it
            await self.query_one(MessagePane).show_waiting()

    async def join(self, room: str) -> None:
        """Join `room` (or ask to) and open it once a member: from `/join`, the quick
        switcher or the room browser. A refusal, or no connection, is said in the pane."""
        try:
            state = await self.session.join(room)
        except ProtocolError as error:
            if error.code != ErrorCode.ALREADY_MEMBER:
                await self.note(describe_error(error, self.tz))
                return
            state = m.MEMBER
        except OFFLINE:
            await self.note("Not connected: try again once reconnected.")
            return
        self.redraw_sidebar()
        target = Target.room(room)
        conv = self.state.conversation(target)
        if state == m.MEMBER and conv is not None:
            self.open_target(conv.target)
        else:
            await self.note(f"Asked to join {room}: waiting for an administrator's approval.")

    async def _leave(self, room: str | None) -> None:
        current = self.state.current
        if room is None and (current is None or current.kind != "room"):
            await self.note("This is not a room: /leave ROOM leaves ROOM.")
            return
        name = room if room is not None else current.name if current is not None else ""
        await self.session.leave(name)
        await self.note(f"You left {name}.")
        self.redraw_sidebar()
        if self.state.current is None and self.state.openable():
            self.open_target(self.state.openable()[0])

    def redraw_status(self) -> None:
        """Redraw where away statuses show (the screen's)."""
        raise NotImplementedError

    def search(self, query: str = "") -> None:
        """Open the search view, searching `query` at once if given (the screen's)."""
        raise NotImplementedError

    async def _set_status(self, away: bool, text: str) -> None:
        await self.session.set_status(away, text)
        self.redraw_status()
        shown = self.state.away_text(self.state.me)
        if shown is None:
            await self.note("You are back.")
        else:
            await self.note(f"You are away{': ' + shown if shown else ''} (/back when back).")

    async def _set_topic(self, topic: str) -> None:
        current = self.state.current
        if current is None or current.kind != "room":
            await self.note("/topic sets the topic of the current room; this is not a room.")
            return
        await self.session.set_topic(current.name, topic)

    async def _moderate(self, line: str) -> None:
        """Run a console line on the server; its output (or its error) in the pane."""
        try:
            lines = await self.session.client.moderate(line, width=self.pane_width())
        except ProtocolError as error:
            if error.code not in (ErrorCode.BAD_REQUEST, ErrorCode.FORBIDDEN):
                raise
            lines = error.message.splitlines()
            lines[0] = f"Refused: {lines[0]}" if error.code == ErrorCode.FORBIDDEN else lines[0]
        await self.note("\n".join(lines) or "(nothing to show)")

    def pane_width(self) -> int | None:
        """The message pane's width in columns (the screen's), if known."""
        return None

    async def _who(self) -> None:
        current = self.state.current
        if current is not None and current.kind == "room":
            users = list(self.state.members.get(current.key, {}).values())
            where = current.label
        else:
            users = await self.session.client.who()
            where = "the server"
        online = [user.name for user in users if user.online]
        offline = [user.name for user in users if not user.online]
        text = f"In {where}: online {', '.join(online) or 'nobody'}"
        await self.note(text + (f"; offline {', '.join(offline)}" if offline else ""))
