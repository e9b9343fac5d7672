"""The input line: a message or a `/command`, with history and tab completion.

It holds several lines when asked: Ctrl+J (in every terminal) or Alt+Enter (in
those that tell it from Enter) starts a new line, and a pasted block goes in whole,
for the user to read before Enter sends it. The box grows with its lines up to five,
then scrolls.

Up on an empty line asks to select a message (`SelectMessages`); Ctrl+Up and
Ctrl+Down walk through the lines already submitted (so does Up on the first row of
a line with text in it, and then Down); elsewhere Up and Down move between the
rows. Tab completes the word before the cursor (commands, room names, user names)
and cycles when there are several candidates. With nothing to complete, Tab moves
the focus as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

ALT_DIGITS = "¡™£¢∞§¶•ª"
"""What arrives for Alt+1…9: a terminal's ESC+digit and macOS's Option+digit both
read as these; the line leaves them to the screen's bindings (going to a room)."""

Completer = Callable[[str, int], tuple[int, list[str]]]
"""(line, cursor) -> where the word starts, and its candidates."""


class ChatInput(TextArea):
    """The text to send, on one line or several, with a history and completion."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", show=False, id="input.submit"),
        Binding(
            "ctrl+j,alt+enter,shift+enter",
            "newline",
            "New line",
            show=False,
            id="input.newline",
            tooltip="Start a new line in the message",
        ),
        Binding("up", "up", "Select", show=False, id="input.up"),
        Binding("down", "down", "Next line", show=False, id="input.history_forward"),
        Binding("ctrl+up", "history(-1)", "Previous line", show=False, id="input.history_back"),
        Binding("ctrl+down", "history(1)", "Next line", show=False, id="input.history_next"),
        Binding("tab", "complete", "Complete", show=False, id="input.complete"),
    ]

    @dataclass
    class Submitted(Message):
        """Enter: the user wants `value` sent (or run, for a `/command`)."""

        input: ChatInput
        value: str

        @property
        def control(self) -> ChatInput:
            """The input line."""
            return self.input

    @dataclass
    class Changed(TextArea.Changed):
        """The text changed (typed, pasted, completed, cleared)."""

        @property
        def value(self) -> str:
            """The text now."""
            return self.text_area.text

    class SelectMessages(Message):
        """Up on an empty line: the user wants to pick a message (to edit, reply…)."""

    def __init__(self, *, placeholder: str = "", id: str | None = None, limit: int = 200) -> None:
        super().__init__(placeholder=placeholder, id=id, highlight_cursor_line=False)
        self.completer: Completer | None = None
        """Set by the screen: what the word before the cursor may become."""
        self.sent: list[str] = []
        """The lines submitted, oldest first (TextArea's `history` is its undo)."""
        self.passed_on: frozenset[str] = frozenset(ALT_DIGITS)
        """Characters not typed but left to the screen's bindings (Alt+digit)."""
        self._limit = limit
        self._index: int | None = None  # position in history while walking it
        self._draft = ""
        self._cycle: tuple[int, list[str], int, str] | None = None  # start, words, i, value

    # -- the text, as a string and an offset into it ---------------------------------

    @property
    def value(self) -> str:
        """The text (lines joined by `\\n`)."""
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)

    @property
    def cursor_position(self) -> int:
        """The cursor, as an offset into `value`."""
        row, column = self.cursor_location
        return sum(len(line) + 1 for line in self.document.lines[:row]) + column

    @cursor_position.setter
    def cursor_position(self, index: int) -> None:
        lines, row = self.document.lines, 0
        while row < len(lines) - 1 and index > len(lines[row]):
            index -= len(lines[row]) + 1
            row += 1
        self.move_cursor((row, max(0, min(index, len(lines[row])))))

    def give_back(self, text: str) -> None:
        """Put back `text` that could not be sent, before what was typed since."""
        self.value = f"{text}\n{self.value}" if self.value.strip() else text

    # -- keys ------------------------------------------------------------------------

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        """Printable keys are typed, but those left to the screen (`passed_on`)."""
        if character is not None and character in self.passed_on:
            return False
        return super().check_consume_key(key, character)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """F6 and F7 (TextArea's: select the row, select all) are left to the screen."""
        if action in ("select_line", "select_all"):
            return False
        return super().check_action(action, parameters)

    async def _on_key(self, event: events.Key) -> None:
        """Enter is the `submit` binding's, not a new line (TextArea's own handler,
        which would insert one, runs after this one unless the default is prevented)."""
        if event.key == "enter":
            event.prevent_default()

    def action_submit(self) -> None:
        """Remember the text, then submit it."""
        line = self.value
        if line.strip() and (not self.sent or self.sent[-1] != line):
            self.sent = [*self.sent, line][-self._limit :]
        self._index = None
        self.post_message(self.Submitted(self, line))

    def action_newline(self) -> None:
        """Start a new line at the cursor."""
        self.replace("\n", *self.selection, maintain_selection_offset=False)

    async def _on_paste(self, event: events.Paste) -> None:
        """A pasted block goes in whole, at the cursor, to be read before it is sent.

        Only this handler inserts it: TextArea's own would insert it again, as
        Textual walks the classes, unless the default is prevented.
        """
        event.prevent_default()
        event.stop()
        text = event.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if text:
            result = self.replace(text, *self.selection, maintain_selection_offset=False)
            self.move_cursor(result.end_location)
        self.focus()

    def _first_row(self) -> bool:
        return self.wrapped_document.location_to_offset(self.cursor_location).y == 0

    def _last_row(self) -> bool:
        row = self.wrapped_document.location_to_offset(self.cursor_location).y
        return row >= self.wrapped_document.height - 1

    def action_up(self) -> None:
        """On an empty line, ask to select a message; on the first row, the previous
        line of the history; elsewhere, the row above."""
        if self._index is None and not self.value:
            self.post_message(self.SelectMessages())
        elif self._index is not None or self._first_row():
            self.action_history(-1)
        else:
            self.action_cursor_up()

    def action_down(self) -> None:
        """While walking the history, its next line; otherwise the row below."""
        if self._index is not None:
            self.action_history(1)
        elif not self._last_row():
            self.action_cursor_down()

    def action_history(self, step: int) -> None:
        """Show the previous (`-1`) or next (`1`) line of the history."""
        if not self.sent:
            return
        if self._index is None:
            if step > 0:
                return
            self._draft, self._index = self.value, len(self.sent)
        index = max(0, min(len(self.sent), self._index + step))
        self._index = None if index == len(self.sent) else index
        self.value = self._draft if self._index is None else self.sent[index]

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
