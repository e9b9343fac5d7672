"""The help box: every key (a selected message's too) and every `/command`."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from chat_tui.commands import help_lines

KEYS = (
    ("Enter", "send the line (or run the /command; while editing, save)"),
    ("Ctrl+J, Alt+Enter", "a new line (Alt+Enter: where the terminal tells it from Enter)"),
    ("Up", "on an empty line: select the newest message; in several lines: the row above"),
    ("Ctrl+Up / Ctrl+Down", "walk through the lines already sent"),
    ("Tab", "complete a command, room or user name (first in the line: `bob: `)"),
    ("Ctrl+N / Ctrl+P", "next / previous room or conversation"),
    ("Alt+Right / Alt+Left", "the same (so do F6 / F5)"),
    ("Alt+1 … Alt+9", "jump to the n-th room or conversation (or Ctrl+X, then 1 … 9)"),
    ("Alt+A", "the next one with unread messages, DMs and mentions first (or Ctrl+X, a)"),
    ("Ctrl+K", "go to a room, conversation or user: type part of the name"),
    ("Ctrl+O", "browse every room and join one"),
    ("Ctrl+F", "search the messages (Enter on a result goes to it)"),
    ("PageUp / PageDown", "scroll the messages (PageUp at the top loads older ones)"),
    ("Escape, Ctrl+L", "back to the input line; there, give up an edit or a reply"),
    ("Tab / Shift+Tab", "move between the sidebar, messages, input and users"),
    ("F1", "this help"),
    ("F7 / F8", "show or fold the sidebar / show or hide the user list"),
    ("Ctrl+Q", "quit"),
)
SELECTED_KEYS = (
    ("Up / Down", "the message before / after (Down past the newest: back to the input)"),
    ("e", "edit your message (Enter saves)"),
    ("d", "delete it (asks first)"),
    ("r", "reply to it (Escape on the input gives it up)"),
    ("+ or =", "react (the same one again takes it back)"),
    ("g", "a reply: go to the message it quotes (older ones load around it)"),
    ("Escape", "back to the input line"),
)


def help_table(moderator: bool = False) -> Table:
    """Keys, then commands (a moderator's too, for one), in two columns."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Keys", style="underline"), "")
    for key, text in KEYS:
        table.add_row(key, text)
    table.add_row("", "")
    table.add_row(Text("A selected message", style="underline"), "")
    for key, text in SELECTED_KEYS:
        table.add_row(key, text)
    table.add_row("", "")
    table.add_row(Text("Commands", style="underline"), "")
    for usage, text in help_lines(moderator):
        table.add_row(usage, text)
    table.add_row("//text", "send a message that starts with /")
    return table


class HelpScreen(ModalScreen[None]):
    """Keys and commands (with the moderation commands for a moderator); Esc closes it."""

    CSS_PATH = "modals.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="help.close", tooltip="Close the help"),
    ]

    def __init__(self, moderator: bool = False) -> None:
        super().__init__()
        self._moderator = moderator

    def compose(self) -> ComposeResult:
        """The table in a scrollable box."""
        with VerticalScroll(id="help-box", classes="dialog") as box:
            box.border_title = "Help"
            box.border_subtitle = "Esc closes"
            yield Static(help_table(self._moderator), markup=False)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
