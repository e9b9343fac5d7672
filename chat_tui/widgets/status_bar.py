"""The status bar: what is on screen and its topic, who you are, and the connection."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from chat_tui.render import first_line, safe

AWAY_CELLS = 24  # at most, of the user's own away message in the bar


class StatusBar(Static):
    """One line at the top: the current view and its topic on the left, the connection
    (and the user's own away status) on the right."""

    title: reactive[str] = reactive("")
    """The current room or conversation (`#Général`, `@bob`)."""
    topic: reactive[str] = reactive("")
    """The current room's topic, as set by a moderator (any text: shown as plain text)."""
    connection: reactive[str] = reactive("")
    """The connection, in words (`alice @ 127.0.0.1:7878`, `reconnecting…`)."""
    online: reactive[bool] = reactive(True)
    """Whether the connection is up; the bar turns to a warning colour when not."""
    away: reactive[str | None] = reactive(None)
    """The user's own away message ("" for none) while away; None when not."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)

    def render(self) -> Table:
        """The title and the topic, then the connection state flush right."""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        # In a narrow terminal the connection gives way to the title at half the width.
        half = max(self.content_size.width // 2, 12)
        grid.add_column(justify="right", no_wrap=True, overflow="ellipsis", max_width=half)
        left = safe(self.title, "bold")
        if self.topic:
            left.append("  ", style="not bold italic")
            left.append_text(safe(self.topic, "not bold italic"))
        right = Text("  ")
        if self.away is not None:
            away = first_line(self.away, AWAY_CELLS) if self.away else ""
            right.append(f"away{': ' + away if away else ''}  ", style="italic")
        mark = "●" if self.online else "⚠"
        right.append(f"{mark} {self.connection}")
        grid.add_row(left, right)
        return grid

    def watch_online(self, online: bool) -> None:
        """Show a lost connection in the bar's colour too."""
        self.set_class(not online, "-offline")
