"""The chat screen's ways of going places: opening a room or a conversation (around
a message of it, too), paging back and (in a window back in time) forward, the next
and previous ones, the quick switcher, the room browser and the search view.

A base of `ChatScreen`, kept apart so each module stays small: the screen supplies
the drawing (`redraw_sidebar`, `redraw_users`, `note`).

The keys are weechat's: Alt+1…9 the n-th room or conversation, Alt+A the next one
with activity, Alt+Left/Right (and F5/F6) the previous and next. A terminal sends
Alt+digit as ESC and the digit (xterm, tmux, screen), which Textual reads as the
character macOS types for Option+digit (`¡™£¢∞§¶•ª`), so both mean Alt+digit here;
Ctrl+X then a digit (or `a`) works in every terminal.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on, work
from textual.binding import Binding, BindingType
from textual.keys import key_to_character

from chat_core import messages as m
from chat_core.errors import ErrorCode, ProtocolError
from chat_core.names import name_key
from chat_tui.conversation import Target
from chat_tui.render import describe_error
from chat_tui.screens.chord import ChordScreen
from chat_tui.screens.message_actions import OFFLINE
from chat_tui.screens.noticing import Noticing
from chat_tui.screens.room_browser import RoomBrowser
from chat_tui.screens.search import SearchView
from chat_tui.screens.switcher import QuickSwitcher, destinations
from chat_tui.widgets.chat_input import ALT_DIGITS, ChatInput
from chat_tui.widgets.message_pane import MessagePane


class Navigation(Noticing):
    """Opening, paging, switching, browsing and searching."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(
                f"alt+{n},{ALT_DIGITS[n - 1]}",
                f"jump({n})",
                show=False,
                id=f"chat.jump_{n}",
                tooltip=f"Room or conversation number {n}",
                priority=True,
            )
            for n in range(1, 10)
        ],
        Binding(
            "alt+a",
            "activity",
            show=False,
            id="chat.activity",
            tooltip="The next room or conversation with unread messages",
            priority=True,
        ),
        Binding(
            "alt+right,f6",
            "cycle(1)",
            show=False,
            id="chat.next_alt",
            tooltip="Next room",
            priority=True,
        ),
        Binding(
            "alt+left,f5",
            "cycle(-1)",
            show=False,
            id="chat.prev_alt",
            tooltip="Previous room",
            priority=True,
        ),
        Binding(
            "ctrl+x",
            "chord",
            show=False,
            id="chat.chord",
            tooltip="Then 1…9: that room; a: the next with activity",
            priority=True,
        ),
    ]

    _showing: Target | None  # what the message pane holds (the screen's)

    def redraw_users(self) -> None:
        """Redraw the user list and the status bar (the screen's)."""
        raise NotImplementedError

    @on(events.Mount)
    def _alt_digits(self) -> None:
        """The input line leaves Alt+digit's characters to the jumps that still have
        them (a `[keys]` setting may give a jump other keys, and `£` back to typing)."""
        bound = set()
        for number, character in enumerate(ALT_DIGITS, 1):
            keys = self.preferences.keys.get(f"chat.jump_{number}")
            if keys is None or character in {key_to_character(k.strip()) for k in keys.split(",")}:
                bound.add(character)
        self.query_one(ChatInput).passed_on = frozenset(bound)

    # -- opening and paging --------------------------------------------------------

    def open_target(self, target: Target, around: int | None = None) -> None:
        """Show a room or conversation (loading its history the first time), or the
        messages around one of its messages (`around`), that one selected."""
        conv = self.state.conversation(target)
        if conv is not None and conv.state == m.PENDING:
            self.notify(f"{target.label} is waiting for an administrator's approval.")
            return
        self._open(target, around)

    @work(exclusive=True, group="open", exit_on_error=False)
    async def _open(self, target: Target, around: int | None = None) -> None:
        pane = self.query_one(MessagePane)
        previous = self._showing
        if target.kind == "dm":
            self.state.dm(target.name)
        conv = self.state.conversation(target)
        if conv is None:
            return
        if self.composing is not None and self.composing.target != conv.target:
            self.compose_with(None)
        self.session.look_at(conv.target)
        self._showing = conv.target
        self.redraw_sidebar()
        self.redraw_users()
        self.redraw_typing()
        await pane.show(conv.messages)
        pane.more_before, pane.more_after = conv.more_before, conv.more_after
        loaded = conv.loaded and around is None
        found = False
        try:
            if around is not None:
                found = await self.session.jump(conv.target, around)
            await self.session.open(conv.target)
        except ProtocolError as error:
            if error.code != ErrorCode.NO_SUCH_USER:
                await self.note(describe_error(error, self.tz))
                return
            # `/msg` to a name that does not exist: back to where the user was.
            self.state.dms.pop(target.key, None)
            self.state.current = self._showing = None
            self.redraw_sidebar()
            self.notify(describe_error(error, self.tz), severity="warning", markup=False)
            if previous is not None and self.state.conversation(previous) is not None:
                self.open_target(previous)
            return
        except OFFLINE:
            return
        if not loaded:
            await pane.show(conv.messages, around=around if found else None)
        pane.more_before, pane.more_after = conv.more_before, conv.more_after
        if found:
            pane.focus()
        elif around is not None:
            self.notify("That message is gone (or was never one you can see).", severity="warning")
        if conv.more_after:
            self.notify("Older messages: scroll down, or PageDown at the bottom, for newer ones.")
        self.fetch_parents()
        self.redraw_sidebar()
        self.redraw_users()

    @work(exclusive=True, group="mark_read", exit_on_error=False)
    async def _mark_read(self, target: Target) -> None:
        try:
            await self.session.mark_read(target)
        except (ProtocolError, *OFFLINE):
            return
        self.redraw_sidebar()

    @on(MessagePane.NeedOlder)
    def _need_older(self) -> None:
        self._load_older()

    @on(MessagePane.NeedNewer)
    def _need_newer(self) -> None:
        self._load_newer()

    @work(exclusive=True, group="newer", exit_on_error=False)
    async def _load_newer(self) -> None:
        target = self.state.current
        conv = self.state.conversation(target) if target is not None else None
        if target is None or conv is None:
            return
        try:
            newer = await self.session.load_newer(target)
        except (ProtocolError, *OFFLINE):
            return
        if self.state.current == target:
            pane = self.query_one(MessagePane)
            pane.more_after = conv.more_after
            await pane.append(newer, conv.messages)
            self.fetch_parents()
            self.redraw_sidebar()

    @work(exclusive=True, group="older", exit_on_error=False)
    async def _load_older(self) -> None:
        target = self.state.current
        conv = self.state.conversation(target) if target is not None else None
        if target is None or conv is None:
            return
        try:
            older = await self.session.load_older(target)
        except (ProtocolError, *OFFLINE):
            return
        if self.state.current == target:
            pane = self.query_one(MessagePane)
            pane.more_before = conv.more_before
            await pane.prepend(older)
            self.fetch_parents()

    # -- actions -------------------------------------------------------------------

    def action_page(self, step: int) -> None:
        """Scroll the messages a page; at the top, load the page before."""
        pane = self.query_one(MessagePane)
        if step < 0 and pane.at_top and pane.more_before:
            self._load_older()
        elif step > 0 and pane.at_bottom and pane.more_after:
            self._load_newer()
        elif step < 0:
            pane.scroll_page_up(animate=False)
        else:
            pane.scroll_page_down(animate=False)

    def action_cycle(self, step: int) -> None:
        """Open the next (1) or previous (-1) room or conversation."""
        targets = self.state.openable()
        if not targets:
            return
        current = self.state.current
        index = targets.index(current) if current in targets else -step if step > 0 else 0
        self.open_target(targets[(index + step) % len(targets)])

    def action_jump(self, number: int) -> None:
        """Open the n-th room or conversation of the sidebar."""
        targets = self.state.openable()
        if 0 < number <= len(targets):
            self.open_target(targets[number - 1])

    def action_activity(self) -> None:
        """Open the next room or conversation with unread messages: direct messages and
        mentions first, then the others, each in sidebar order after the current one."""
        targets = self.state.openable()
        current = self.state.current
        start = targets.index(current) + 1 if current in targets else 0
        busy = []
        for target in targets[start:] + targets[:start]:
            conv = self.state.conversation(target)
            if target != current and conv is not None and conv.unread:
                busy.append((not (target.kind == "dm" or conv.mentions), target))
        if not busy:
            self.notify("Nothing unread elsewhere.")
            return
        self.open_target(min(busy, key=lambda pair: pair[0])[1])

    def action_chord(self) -> None:
        """Ctrl+X: wait for the next key (a digit: that room; `a`: activity)."""

        def chosen(choice: int | str | None) -> None:
            if isinstance(choice, int):
                self.action_jump(choice)
            elif choice == "activity":
                self.action_activity()

        self.app.push_screen(ChordScreen(), chosen)

    @work(exclusive=True, group="switch", exit_on_error=False)
    async def action_switch(self) -> None:
        """The quick switcher: the sidebar's entries, the rooms not joined (as the
        server lists them, when it can), every user known; go to the one chosen."""
        try:
            rooms = await self.session.list_rooms()
        except (ProtocolError, *OFFLINE):
            rooms = list(self.state.directory.values())
        state = self.state
        choices = destinations(state.openable(), rooms, state.user_names(), state.me)
        chosen = await self.app.push_screen_wait(QuickSwitcher(choices))
        if chosen is None:
            return
        if not chosen.join:
            self.open_target(chosen.target)
            return
        try:
            await self.join(chosen.target.name)
        except ProtocolError as error:
            await self.note(describe_error(error, self.tz))
        except OFFLINE:
            await self.note("Not connected: try again once reconnected.")

    @work(exclusive=True, group="rooms", exit_on_error=False)
    async def action_rooms(self) -> None:
        """Browse every room; join (or open) the one chosen."""
        try:
            rooms = await self.session.list_rooms()
        except ProtocolError as error:
            await self.note(f"No room list: {describe_error(error, self.tz)}")
            return
        except OFFLINE:
            await self.note("Not connected: try again once reconnected.")
            return
        chosen = await self.app.push_screen_wait(RoomBrowser(rooms))
        if chosen is not None:
            await self.join(chosen)

    def browse_rooms(self) -> None:
        """Open the room browser."""
        self.action_rooms()

    def action_search(self) -> None:
        """The search view, with no words yet."""
        self.search()

    def search(self, query: str = "") -> None:
        """Open the search view (searching `query` at once, if given); go to the message
        chosen, in its room or conversation."""

        def chosen(message: m.Message | None) -> None:
            if message is None:
                return
            if message.room is not None:
                target = Target.room(message.room)
            else:
                mine = name_key(message.sender) == name_key(self.state.me)
                target = Target.dm(message.to if mine and message.to else message.sender)
            self.open_target(target, around=message.msg_id)

        view = SearchView(self.session.search, query, me=self.state.me, tz=self.tz)
        self.app.push_screen(view, chosen)
