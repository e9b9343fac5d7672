"""The reaction picker: a number key for a common emoji, or any emoji typed in."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from chat_core.errors import ProtocolError
from chat_core.names import check_emoji
from chat_tui.changes import REACTIONS
from chat_tui.render import REACTED_STYLE, plain


class ReactionPicker(ModalScreen[str | None]):
    """Pick a reaction: 1…8 for the common ones, or type one and press Enter.

    The ones the user has put on already are highlighted: picking one takes it back.

    Args:
        mine: The reactions the user has on the message.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="reactions.close", tooltip="No reaction"),
        *[
            Binding(str(n), f"pick({n})", show=False, id=f"reactions.pick_{n}", priority=True)
            for n in range(1, len(REACTIONS) + 1)
        ],
    ]

    def __init__(self, mine: set[str]) -> None:
        super().__init__()
        self._mine = mine

    def compose(self) -> ComposeResult:
        """The numbered choices, the field for any other, a line for a mistake."""
        with Vertical(id="reactions-box", classes="dialog") as box:
            box.border_title = "React"
            box.border_subtitle = "Esc closes"
            yield Static(self._choices(), id="reactions-choices", markup=False)
            yield Input(placeholder="or type an emoji, then Enter", id="reactions-other")
            yield Static("", id="reactions-error", markup=False)

    def _choices(self) -> Text:
        text = Text()
        for number, emoji in enumerate(REACTIONS, 1):
            if number > 1:
                text.append("  ")
            text.append(f"{number} ", style="dim")
            text.append(emoji, style=REACTED_STYLE if emoji in self._mine else "")
        return text

    def on_mount(self) -> None:
        """The field has the focus; the number keys work all the same."""
        field = self.query_one(Input)
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()

    def action_pick(self, number: int) -> None:
        """The n-th common reaction."""
        self.dismiss(REACTIONS[number - 1])

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
