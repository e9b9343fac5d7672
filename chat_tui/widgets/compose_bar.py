"""The line above the input that says what Enter will do: reply to a message, or edit one."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class ComposeBar(Static):
    """Hidden until the user replies to or edits a message; then it says which."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)
        self.display = False

    def say(self, text: str | None) -> None:
        """Show `text` (plain), or hide the bar for None."""
        self.display = text is not None
        self.update(Text(text or ""))
