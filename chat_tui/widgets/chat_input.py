"""The input line: a message or a `/command`, with history and tab completion.

Up on an empty line asks to select a message (`SelectMessages`); Ctrl+Up and
Ctrl+Down walk through the lines already submitted (so does Up on a line with text
in it, and then Down). Tab completes the word before the cursor (commands, room
names, user names) and cycles when there are several candidates. With nothing to
complete, Tab moves the focus as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

ALT_DIGITS = "¡™£¢∞§¶•ª"
"""What arrives for Alt+1…9: a terminal's ESC+digit and macOS's Option+digit both
read as these; the line leaves them to the screen's bindings (going to a room)."""

Completer = Callable[[str, int], tuple[int, list[str]]]
"""(line, cursor) -> where the word starts, and its candidates."""


class ChatInput(Input):
    """A single-line input with a history of submitted lines and completion."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "up", "Select", show=False, id="input.up"),
        Binding("down", "history(1)", "Next line", show=False, id="input.history_forward"),
        Binding("ctrl+up", "history(-1)", "Previous line", show=False, id="input.history_back"),
        Binding("ctrl+down", "history(1)", "Next line", show=False, id="input.history_next"),
        Binding("tab", "complete", "Complete", show=False, id="input.complete"),
    ]

    class SelectMessages(Message):
        """Up on an empty line: the user wants to pick a message (to edit, reply…)."""

    def __init__(self, *, placeholder: str = "", id: str | None = None, limit: int = 200) -> None:
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self.completer: Completer | None = None
        """Set by the screen: what the word before the cursor may become."""
        self.history: list[str] = []
        self.passed_on: frozenset[str] = frozenset(ALT_DIGITS)
        """Characters not typed but left to the screen's bindings (Alt+digit)."""
        self._limit = limit
        self._index: int | None = None  # position in history while walking it
        self._draft = ""
        self._cycle: tuple[int, list[str], int, str] | None = None  # start, words, i, value

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Printable keys are typed, but those left to the screen (`passed_on`)."""
        if character is not None and character in self.passed_on:
            return False
        return super().check_consume_key(key, character)

    async def action_submit(self) -> None:
        """Remember the line, then submit it."""
        line = self.value
        if line.strip() and (not self.history or self.history[-1] != line):
            self.history = [*self.history, line][-self._limit :]
        self._index = None
        await super().action_submit()

    def _on_paste(self, event: events.Paste) -> None:
        """A pasted block of lines goes out at once as one multi-line message.

        The line itself holds one line only, so inserting the block would drop the
        rest; sending it whole also keeps a long paste to one request. A single line
        is left to `Input._on_paste`, which Textual runs after this handler as it
        walks the classes (calling it here too would insert the line twice).
        """
        text = event.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if "\n" not in text:
            return
        event.stop()
        cursor = self.cursor_position
        block = self.value[:cursor] + text + self.value[cursor:]
        self.value = ""
        self.post_message(self.Submitted(self, block))

    def action_up(self) -> None:
        """On an empty line, ask to select a message; otherwise the previous line."""
        if self._index is None and not self.value:
            self.post_message(self.SelectMessages())
        else:
            self.action_history(-1)

    def action_history(self, step: int) -> None:
        """Show the previous (`-1`) or next (`1`) line of the history."""
        if not self.history:
            return
        if self._index is None:
            if step > 0:
                return
            self._draft, self._index = self.value, len(self.history)
        index = max(0, min(len(self.history), self._index + step))
        self._index = None if index == len(self.history) else index
        self.value = self._draft if self._index is None else self.history[index]
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        """Complete the word before the cursor, or go to the next candidate."""
        if self._cycle is not None and self._cycle[3] == self.value:
            start, words, index, _ = self._cycle
            self._put(start, words, (index + 1) % len(words))
            return
        self._cycle = None
        if self.completer is None or not self.value.strip():
            self.screen.focus_next()
            return
        start, words = self.completer(self.value, self.cursor_position)
        if words:
            self._put(start, words, 0)
        else:
            self.app.bell()

    def _put(self, start: int, words: list[str], index: int) -> None:
        word = words[index] + " "
        end = self.cursor_position
        self.value = self.value[:start] + word + self.value[end:]
        self.cursor_position = start + len(word)
        self._cycle = (start, words, index, self.value) if len(words) > 1 else None
