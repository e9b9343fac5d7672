"""Ctrl+X, then a key: going to a room in terminals where Alt+digit does not arrive.

The screen waits for the second key of the chord, says which keys it expects on the
bottom line, and closes with what the key asks for.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Static

HINT = "Ctrl+X: 1…9 go to the n-th room or conversation, a to the next with activity"


class ChordScreen(ModalScreen[int | str | None]):
    """The second key after Ctrl+X: a digit (1…9), `a`, or anything else (nothing)."""

    CSS_PATH = "chord.tcss"

    def compose(self) -> ComposeResult:
        """The hint, on the bottom line."""
        yield Static(HINT, id="chord-hint", markup=False)

    def on_key(self, event: events.Key) -> None:
        """Close with the digit, with `activity` for `a`, or with None for any other key."""
        event.stop()
        event.prevent_default()
        key = event.character or ""
        if key in tuple("123456789"):
            self.dismiss(int(key))
        elif key.lower() == "a":
            self.dismiss("activity")
        else:
            self.dismiss(None)
