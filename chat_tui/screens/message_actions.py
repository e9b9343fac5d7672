"""The chat screen's actions on messages already sent: edit, delete, reply, react.

A base of `ChatScreen`, kept apart so each module stays small. Up on an empty
input selects the newest message in the pane; the pane posts what the user asks
for the selected one (`MessagePane.Act`) and this decides: an edit or a reply
goes through the input line (the bar above it says which, Escape cancels), a
deletion asks first, a reaction opens the picker; a reply's quote leads to the
message it quotes. The server's change events redraw the messages; a refusal is a
toast.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Literal

from textual import on, work
from textual.screen import Screen

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.names import name_key
from chat_tui.changes import has_reacted
from chat_tui.conversation import Target
from chat_tui.render import describe_error, first_line
from chat_tui.screens.confirm import ConfirmDelete
from chat_tui.screens.reaction_picker import ReactionPicker
from chat_tui.session import ChatSession
from chat_tui.state import ChatState
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.compose_bar import ComposeBar
from chat_tui.widgets.message_pane import MessagePane

OFFLINE = (ConnectionError, TimeoutError)


@dataclass(frozen=True)
class Composing:
    """What the next Enter does beyond sending a line: edit `message`, or reply to it."""

    kind: Literal["edit", "reply"]
    message: m.Message
    target: Target


class MessageActions(Screen[None]):
    """Selecting a message, and what can be done to it."""

    session: ChatSession
    state: ChatState
    tz: tzinfo | None

    def __init__(self) -> None:
        super().__init__()
        self.composing: Composing | None = None
        """The edit or reply under way, if one is."""
        self._asked: set[tuple[Target, int]] = set()  # parents fetched (or tried) once

    def open_target(self, target: Target, around: int | None = None) -> None:
        """Show a room or a conversation (around a message of it) (the screen's)."""
        raise NotImplementedError

    def lookup(self, msg_id: int) -> m.Message | None:
        """A message of the current view as held now (for the pane's quotes)."""
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        return conv.find(msg_id) if conv is not None else None

    # -- selecting ----------------------------------------------------------------

    @on(ChatInput.SelectMessages)
    def _select_messages(self) -> None:
        pane = self.query_one(MessagePane)
        if pane.select_newest():
            pane.focus()

    @on(MessagePane.Left)
    def _left(self) -> None:
        self.query_one(ChatInput).focus()

    @on(MessagePane.Act)
    def _act(self, event: MessagePane.Act) -> None:
        event.stop()
        target = self.state.current
        message = self.lookup(event.message.msg_id) or event.message
        if target is None or message.deleted:
            return
        if event.action == "quoted":
            if message.reply_to is not None:
                self.open_target(target, around=message.reply_to)
        elif event.action == "edit":
            if name_key(message.sender) != name_key(self.state.me):
                self.notify("You can edit only your own messages.", severity="warning")
                return
            self.compose_with(Composing("edit", message, target))
        elif event.action == "reply":
            self.compose_with(Composing("reply", message, target))
        elif event.action == "delete":
            self._delete(message)
        else:
            self._pick_reaction(message)

    # -- editing and replying through the input line ---------------------------------

    def compose_with(self, composing: Composing | None) -> None:
        """Start an edit or a reply (None: end it), and put the cursor on the input."""
        field = self.query_one(ChatInput)
        was, self.composing = self.composing, composing
        if was is not None and was.kind == "edit" and field.value == was.message.text:
            field.value = ""  # an edit given up leaves no copy of the old text behind
        bar = self.query_one(ComposeBar)
        if composing is None:
            bar.say(None)
            return
        message = composing.message
        if composing.kind == "edit":
            bar.say("✎ Editing your message: Enter saves, Esc cancels")
            field.value = message.text
            field.cursor_position = len(field.value)
        else:
            bar.say(f"↪ Replying to {message.sender}: {first_line(message.text)}  (Esc cancels)")
        self.query_one(MessagePane).select(None)
        field.focus()

    def take_reply(self, target: Target) -> int | None:
        """The message the line being sent to `target` replies to (the reply ends)."""
        composing = self.composing
        if composing is None or composing.kind != "reply" or composing.target != target:
            return None
        self.compose_with(None)
        return composing.message.msg_id

    def take_edit(self) -> Composing | None:
        """The edit the submitted line finishes, if one is under way (it ends)."""
        composing = self.composing
        if composing is None or composing.kind != "edit":
            return None
        self.composing = None
        self.query_one(ComposeBar).say(None)
        return composing

    def edit_submitted(self, composing: Composing, body: str) -> None:
        """The line submitted while editing: the new body (unchanged or empty: no edit)."""
        if body.strip() and body != composing.message.text:
            self._edit(composing, body)

    def cancel_composing(self) -> bool:
        """Escape on the input: end an edit or a reply; whether there was one."""
        if self.composing is None:
            return False
        self.compose_with(None)
        return True

    def changed_messages(self, target: Target, updated: list[m.Message]) -> None:
        """Messages of `target` changed: redraw those shown; end an edit of a deleted one."""
        composing = self.composing
        gone = {message.msg_id for message in updated if message.deleted}
        if composing is not None and composing.message.msg_id in gone:
            what = "editing" if composing.kind == "edit" else "replying to"
            self.compose_with(None)
            self.notify(f"The message you were {what} was deleted.", severity="warning")
        if target == self.state.current:
            self.query_one(MessagePane).redraw({message.msg_id for message in updated})

    # -- deleting and reacting ---------------------------------------------------------

    @work(group="message_actions", exit_on_error=False)
    async def _delete(self, message: m.Message) -> None:
        if await self.app.push_screen_wait(ConfirmDelete(message)):
            await self._request(self.session.delete(message.msg_id))

    @work(group="message_actions", exit_on_error=False)
    async def _pick_reaction(self, message: m.Message) -> None:
        me = self.state.me
        mine = {emoji for emoji in message.reactions or {} if has_reacted(message, emoji, me)}
        emoji = await self.app.push_screen_wait(ReactionPicker(mine))
        if emoji is not None:
            await self.toggle_reaction(message, emoji)

    async def toggle_reaction(self, message: m.Message, emoji: str) -> None:
        """Put `emoji` on `message`, or take it back if the user has it on already."""
        now = self.lookup(message.msg_id) or message
        on = not has_reacted(now, emoji, self.state.me)
        await self._request(self.session.react(message.msg_id, emoji, on=on))

    async def react_to_newest(self, emoji: str) -> None:
        """`/react EMOJI`: toggle it on the newest message of the current view."""
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        shown = [message for message in conv.messages if not message.deleted] if conv else []
        if not shown:
            self.notify("There is no message here to react to.", severity="warning")
            return
        await self.toggle_reaction(shown[-1], emoji)

    @work(group="message_actions", exit_on_error=False)
    async def _edit(self, composing: Composing, body: str) -> None:
        if await self._request(self.session.edit(composing.message.msg_id, body)):
            return
        field = self.query_one(ChatInput)  # refused: the new text back, to be put right
        if self.composing is None and not field.value.strip():
            self.compose_with(composing)
            field.value = body
        else:
            field.give_back(body)

    async def _request(self, request: Awaitable[None]) -> bool:
        """Run a change request; a refusal or a lost connection is a toast (False)."""
        try:
            await request
        except ProtocolError as error:
            self.notify(describe_error(error, self.tz), severity="warning", markup=False)
        except OFFLINE:
            self.notify("Not connected: try again once reconnected.", severity="warning")
        else:
            return True
        return False

    # -- quotes of replies -------------------------------------------------------------

    @work(group="parents", exit_on_error=False)
    async def fetch_parents(self) -> None:
        """Fetch the messages that replies on screen quote but that are not held."""
        target = self.state.current
        if target is None:
            return
        pane = self.query_one(MessagePane)
        wanted = {msg_id for msg_id in pane.reply_parents() if (target, msg_id) not in self._asked}
        found: set[int] = set()
        for msg_id in sorted(wanted):
            self._asked.add((target, msg_id))
            try:
                if await self.session.fetch_parent(target, msg_id) is not None:
                    found.add(msg_id)
            except (ProtocolError, *OFFLINE):
                continue  # the quote says `message #N`
        if found and self.state.current == target:
            pane.redraw(found)
