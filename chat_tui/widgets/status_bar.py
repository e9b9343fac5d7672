"""The status bar: what is on screen, who you are, and the state of the connection."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    """One line at the top: the current view on the left, the connection on the right."""

    title: reactive[str] = reactive("")
    """The current room or conversation (`#Général`, `@bob`)."""
    connection: reactive[str] = reactive("")
    """The connection, in words (`alice @ 127.0.0.1:7878`, `reconnecting…`)."""
    online: reactive[bool] = reactive(True)
    """Whether the connection is up; the bar turns to a warning colour when not."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(markup=False, id=id)

    def render(self) -> Table:
        """The title, then the connection state flush right."""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True, overflow="ellipsis")
        mark = "●" if self.online else "⚠"
        grid.add_row(Text(self.title, style="bold"), Text(f"{mark} {self.connection}"))
        return grid

    def watch_online(self, online: bool) -> None:
        """Show a lost connection in the bar's colour too."""
        self.set_class(not online, "-offline")
