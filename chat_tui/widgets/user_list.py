"""The user list: the members of the current room, online first; those away dimmed,
with their away message, under a title that counts them (`Users 3/5`: three of five
online). While the connection is down it is dimmed and says `(offline)`: who is
online is not known then.

Picking a name posts `UserList.Chosen`, which the screen turns into a direct
conversation with that user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.color import Color
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from chat_core import messages as m
from chat_core.names import name_key
from chat_tui.render import name_colour, plain, safe


def user_entry(user: m.UserInfo) -> Text:
    """`● name` in the user's colour when online, `◐ name text` dimmed when away,
    `○ name` dimmed when offline."""
    if not user.online:
        return Text.assemble(("○ ", "dim"), safe(user.name, "dim"))
    if not user.away:
        return Text.assemble(("● ", "green"), safe(user.name, name_colour(user.name)))
    line = Text.assemble(("◐ ", "dim yellow"), safe(user.name, f"dim {name_colour(user.name)}"))
    if user.text:
        line.append(" " + plain(user.text), style="dim italic")
    return line


class UserList(OptionList):
    """Who is in the current room."""

    DEFAULT_CSS = """
    UserList.-stale {
        text-style: dim;
        color: $text-muted;
    }
    """

    @dataclass
    class Chosen(Message):
        """The user picked this name."""

        name: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "Users"
        self._names: dict[str, str] = {}
        self._users: list[m.UserInfo] = []
        self._stale = False

    def on_mount(self) -> None:
        """Draw the top edge, where the title is, in the colours of the theme."""
        self._top_edge()
        self.app.theme_changed_signal.subscribe(self, lambda _: self._top_edge())

    def on_focus(self) -> None:
        """The top edge lights up with the left one."""
        self._top_edge()

    def on_blur(self) -> None:
        """The top edge dims with the left one."""
        self._top_edge()

    def _top_edge(self) -> None:
        # The screen's styles give the list a left edge only, and a title shows in a
        # top edge: one the same as the left, focused or not.
        colours = self.app.get_css_variables()
        colour = colours["border" if self.has_focus else "border-blurred"]
        self.styles.border_top = ("vkey", Color.parse(colour))

    @property
    def stale(self) -> bool:
        """Whether the list may be out of date (the connection is down): dimmed, under
        an `(offline)` line."""
        return self._stale

    @stale.setter
    def stale(self, stale: bool) -> None:
        if stale != self._stale:
            self._stale = stale
            self.set_class(stale, "-stale")
            self.show(self._users)

    def show(self, users: Iterable[m.UserInfo]) -> None:
        """Redraw with `users`: online first, then by name."""
        ordered = sorted(users, key=lambda user: (not user.online, name_key(user.name)))
        self._users = ordered
        options = [Option(user_entry(user), id=name_key(user.name)) for user in ordered]
        if self._stale:
            options.insert(0, Option(Text("(offline)", style="italic"), disabled=True))
        self.set_options(options)
        self._names = {name_key(user.name): user.name for user in ordered}
        online = sum(user.online for user in ordered)
        known = ordered and not self._stale  # offline: who is online is not known
        self.border_title = f"Users {online}/{len(ordered)}" if known else "Users"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Tell the screen which user was picked."""
        event.stop()
        name = self._names.get(event.option_id or "")
        if name is not None:
            self.post_message(self.Chosen(name))
