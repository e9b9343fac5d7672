"""The chat screen's part in noticing one another: typing, away statuses, the bell.

A base of `ChatScreen`, kept apart so each module stays small. While the user types
a message (not a `/command`, not an edit) in a conversation, `typing` goes to the
server at most every 3 s; who is typing in the conversation on screen shows in the
input's bottom edge, until a few seconds after their last `typing` (the app's
`tick` lets it go) or their message. A direct message or a mention rings the bell
and pops up a notification when the user is not looking at that conversation (or
the terminal has lost the focus), each unless the user's preferences turn it off.
"""

from __future__ import annotations

from textual import on, work

from chat_core.errors import ProtocolError
from chat_tui.config import Preferences
from chat_tui.conversation import Target
from chat_tui.noticing import typing_line
from chat_tui.render import plain
from chat_tui.screens.chat_commands import ChatCommands
from chat_tui.screens.message_actions import OFFLINE
from chat_tui.widgets.chat_input import ChatInput


class Noticing(ChatCommands):
    """Saying one types, showing who types, and drawing attention to what matters."""

    preferences: Preferences

    # -- typing -------------------------------------------------------------------------

    @on(ChatInput.Changed, "#input")
    def _typed(self, event: ChatInput.Changed) -> None:
        target = self.state.current
        editing = self.composing is not None and self.composing.kind == "edit"
        if not event.value or event.value.startswith("/") or target is None or editing:
            return
        if not self.session.client.closed and self.session.typing_due(target):
            self._say_typing(target)

    @work(group="typing", exit_on_error=False)
    async def _say_typing(self, target: Target) -> None:
        try:
            await self.session.send_typing(target)
        except (ProtocolError, *OFFLINE):
            pass  # only a hint: the next keys try again

    def redraw_typing(self) -> None:
        """Show who is typing in the conversation on screen (nobody: nothing)."""
        current = self.state.current
        names = self.state.typists.names(current) if current is not None else []
        field = self.query_one(ChatInput)
        field.border_subtitle = plain(typing_line(names)) or None

    def tick(self) -> None:
        """Let go of the typing that is over (the app calls this every second)."""
        if self.state.current in self.state.typists.expire(self.state.clock()):
            self.redraw_typing()

    # -- the bell and notifications ------------------------------------------------------

    def attention(self, target: Target | None, title: str, text: str) -> None:
        """A direct message or a mention arrived in `target`: ring and pop up, unless
        the user is looking at it (or has turned that off)."""
        if target == self.state.current and self.app.app_focus:
            return
        if self.preferences.bell:
            self.app.bell()
        if self.preferences.notifications:
            self.notify(plain(text), title=plain(title), markup=False)
