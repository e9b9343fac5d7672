"""The reaction picker: a number key (or the arrows) for a common emoji, or any typed in."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from chat_core.errors import ProtocolError
from chat_core.names import check_emoji
from chat_tui.changes import REACTIONS
from chat_tui.render import REACTED_STYLE, plain


class Choices(Static, can_focus=True):
    """The common reactions in a row: 1…8 picks one, or Left/Right then Enter.

    Args:
        mine: The reactions the user has on the message (highlighted).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Previous", show=False, id="reactions.previous"),
        Binding("right", "move(1)", "Next", show=False, id="reactions.next"),
        Binding("enter", "pick", "Pick", show=False, id="reactions.pick"),
        *[
            Binding(str(n), f"pick({n - 1})", show=False, id=f"reactions.pick_{n}")
            for n in range(1, len(REACTIONS) + 1)
        ],
    ]

    cursor: reactive[int] = reactive(0)
    """The reaction Enter picks."""

    class Picked(Message):
        """The user picked `emoji`."""

        def __init__(self, emoji: str) -> None:
            super().__init__()
            self.emoji = emoji

    def __init__(self, mine: set[str], *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self._mine = mine

    def render(self) -> Text:
        """`1 👍  2 👎 …`, the cursor underlined, the user's own highlighted."""
        text = Text()
        for index, emoji in enumerate(REACTIONS):
            if index:
                text.append("  ")
            cursor = " bold underline" if index == self.cursor and self.has_focus else ""
            mine = REACTED_STYLE if emoji in self._mine else ""
            text.append(f"{index + 1} ", style="dim" + cursor)
            text.append(emoji, style=(mine + cursor).strip())
        return text

    def action_move(self, step: int) -> None:
        """Move the cursor."""
        self.cursor = (self.cursor + step) % len(REACTIONS)

    def action_pick(self, index: int | None = None) -> None:
        """Pick the reaction under the cursor, or the n-th."""
        self.post_message(self.Picked(REACTIONS[self.cursor if index is None else index]))

    def on_focus(self) -> None:
        """Show the cursor."""
        self.refresh()

    def on_blur(self) -> None:
        """Hide the cursor."""
        self.refresh()


class ReactionPicker(ModalScreen[str | None]):
    """Pick a reaction: 1…8 for the common ones, or Tab, type one and press Enter.

    The ones the user has put on already are highlighted: picking one takes it back.

    Args:
        mine: The reactions the user has on the message.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="reactions.close", tooltip="No reaction"),
    ]

    def __init__(self, mine: set[str]) -> None:
        super().__init__()
        self._mine = mine

    def compose(self) -> ComposeResult:
        """The numbered choices, the field for any other, a line for a mistake."""
        with Vertical(id="reactions-box", classes="dialog") as box:
            box.border_title = "React"
            box.border_subtitle = "1-8 or ←→ Enter · Tab: type one · Esc closes"
            yield Choices(self._mine, id="reactions-choices")
            yield Input(placeholder="any emoji, then Enter", id="reactions-other")
            yield Static("", id="reactions-error", markup=False)

    def on_mount(self) -> None:
        """The choices have the focus."""
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one(Choices).focus()

    @on(Choices.Picked)
    def _picked(self, event: Choices.Picked) -> None:
        event.stop()
        self.dismiss(event.emoji)

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        emoji = event.value.strip()
        if not emoji:
            return
        try:
            check_emoji(emoji)
        except ProtocolError as error:
            self.query_one("#reactions-error", Static).update(Text(plain(error.message)))
            return
        self.dismiss(emoji)

    def action_close(self) -> None:
        """No reaction."""
        self.dismiss(None)
