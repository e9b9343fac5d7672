"""The chat screen: sidebar, messages, input line and user list.

Widgets post intents (open this, send that line, load older messages); the screen
runs them against the session in workers, so the interface never waits on the
network, and redraws what changed. The app hands it each server event's `Change`.
What can be done to a message already sent (edit, delete, reply, react) is in
`MessageActions`, the `/commands` in `ChatCommands`, typing and the bell in
`Noticing`, opening, paging and going places in `Navigation`: the bases of this
screen, each on top of the one before.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_core.names import name_key
from chat_tui.commands import Command, Invalid, completions, parse
from chat_tui.config import Preferences
from chat_tui.conversation import Target
from chat_tui.render import describe_error, plain
from chat_tui.screens.message_actions import OFFLINE
from chat_tui.screens.navigation import Navigation
from chat_tui.session import CaughtUp, ChatSession
from chat_tui.state import Change
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.compose_bar import ComposeBar
from chat_tui.widgets.message_pane import MessagePane
from chat_tui.widgets.sidebar import RoomBar, Sidebar
from chat_tui.widgets.status_bar import StatusBar
from chat_tui.widgets.user_list import UserList

USERS_WIDTH = 70  # narrower: the user list hides (F8 shows it)
SIDEBAR_WIDTH = 50  # narrower: the sidebar folds into the room bar (F7 unfolds it)
MIN_SIZE = (30, 10)  # smaller: only a notice that says so


class ChatScreen(Navigation):
    """Rooms and conversations, the current one's messages, its users, the input.

    Args:
        session: The logged-in session.
        tz: The time zone for times and dates (None: the local one).
        address: The server, shown in the status bar.
        preferences: The user's (the bell, notifications, the time format).
    """

    CSS_PATH = "chat.tcss"
    # Textual types this as an instance variable, so no ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "cycle(1)", "Next", id="chat.next", tooltip="Next room", priority=True),
        Binding(
            "ctrl+p",
            "cycle(-1)",
            "Prev",
            id="chat.prev",
            tooltip="Previous room",
            priority=True,
        ),
        Binding(
            "ctrl+k",
            "switch",
            "Go to",
            id="chat.switch",
            tooltip="Quick switcher",
            priority=True,
        ),
        Binding("ctrl+o", "rooms", "Rooms", id="chat.rooms", tooltip="Browse and join rooms"),
        Binding(
            "ctrl+f",
            "search",
            "Search",
            id="chat.search",
            tooltip="Search the messages you can read",
            priority=True,
        ),
        Binding("pageup", "page(-1)", "Older", show=False, id="chat.page_up", priority=True),
        Binding("pagedown", "page(1)", "Newer", show=False, id="chat.page_down", priority=True),
        Binding("ctrl+l,escape", "focus_input", show=False, id="chat.focus_input"),
        Binding(
            "f7",
            "toggle_sidebar",
            "Sidebar",
            show=False,
            id="chat.toggle_sidebar",
            tooltip="Show the sidebar, or fold it into one line",
        ),
        Binding(
            "f8",
            "toggle_users",
            "Users",
            show=False,
            id="chat.toggle_users",
            tooltip="Show or hide the user list",
        ),
    ]  # Alt+digit and the other weechat keys: Navigation's

    users_shown: reactive[bool | None] = reactive(None, init=False)
    """Whether the user list shows, as the user chose with F8 (None: by the width)."""
    sidebar_shown: reactive[bool | None] = reactive(None, init=False)
    """Whether the sidebar shows, as the user chose with F7 (None: by the width)."""

    def __init__(
        self,
        session: ChatSession,
        *,
        tz: tzinfo | None,
        address: str,
        preferences: Preferences | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.state = session.state
        self.tz = tz
        self.address = address
        self.preferences = preferences if preferences is not None else Preferences()
        self.ready = False
        """True once drawn: the app hands it changes only then."""
        self._showing: Target | None = None  # what the message pane holds

    def compose(self) -> ComposeResult:
        """Status bar (and the room bar, when folded), then sidebar | messages and
        input | users, then the footer; a notice instead when the terminal is too small."""
        yield StatusBar(id="status")
        yield RoomBar(id="roombar")
        yield Static(id="too-small", markup=False)
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="centre"):
                yield MessagePane(me=self.state.me, tz=self.tz, id="messages")
                yield ComposeBar(id="compose")
                yield ChatInput(placeholder="message, or /help", id="input")
            yield UserList(id="users")
        yield Footer()

    def on_mount(self) -> None:
        """Draw, then open the room the user was in (or Général, or the first)."""
        field = self.query_one(ChatInput)
        field.completer = self._complete
        field.cursor_blink = getattr(self.app, "cursor_blink", True)
        field.focus()
        pane = self.query_one(MessagePane)
        pane.lookup = self.lookup
        pane.time_format = self.preferences.time_format
        pane.extras = self.pane_extras
        self.set_connection(f"{self.state.me} @ {self.address}", online=True)
        self.lay_out()
        self.redraw_sidebar()
        targets = self.state.openable()
        general = Target.room("Général")
        start = self.state.current or (general if general in targets else None)
        if start is None and targets:
            start = targets[0]
        if start is not None:
            self.open_target(start)
        self.ready = True

    # -- drawing ------------------------------------------------------------------

    def set_connection(self, text: str, *, online: bool) -> None:
        """Show the state of the connection in the status bar."""
        status = self.query_one(StatusBar)
        status.connection, status.online = text, online
        self.query_one(UserList).stale = not online
        self.redraw_users()  # who is online is not known while offline

    def redraw_sidebar(self) -> None:
        """Redraw the sidebar from the state."""
        state = self.state
        away = [
            conv.target
            for conv in state.dms.values()
            if state.away_text(conv.target.name) is not None
        ]
        self.query_one(Sidebar).show(state.sidebar(), state.current, away)
        self.query_one(RoomBar).show(state.sidebar(), state.current, away)

    def lay_out(self) -> None:
        """Fit the columns to the terminal: under `USERS_WIDTH` no user list, under
        `SIDEBAR_WIDTH` the room bar for the sidebar (unless the user chose otherwise
        with F7 and F8); under `MIN_SIZE`, a notice."""
        width, height = self.app.size
        users = self.users_shown if self.users_shown is not None else width >= USERS_WIDTH
        sidebar = self.sidebar_shown if self.sidebar_shown is not None else width >= SIDEBAR_WIDTH
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(not users, "-no-users")
        self.set_class(not sidebar, "-room-bar")
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#too-small", Static).update(
                f"The terminal is too small ({width}×{height}): "
                f"chat-tui needs {MIN_SIZE[0]}×{MIN_SIZE[1]} at least."
            )
        focused = self.focused
        hidden = (not users and focused is self.query_one(UserList)) or (
            not sidebar and focused is self.query_one(Sidebar)
        )
        if hidden:
            self.query_one(ChatInput).focus()

    def on_resize(self, event: events.Resize) -> None:
        """The terminal changed size: fit the columns to it."""
        self.lay_out()

    def on_screen_resume(self) -> None:
        """Back from a modal (the terminal may have changed size meanwhile)."""
        self.lay_out()

    def watch_users_shown(self) -> None:
        """F8: show or hide the user list."""
        self.lay_out()

    def watch_sidebar_shown(self) -> None:
        """F7: show the sidebar or fold it."""
        self.lay_out()

    def action_toggle_users(self) -> None:
        """Show the user list if hidden, else hide it (whatever the width)."""
        self.users_shown = self.has_class("-no-users")

    def action_toggle_sidebar(self) -> None:
        """Show the sidebar if folded into the room bar, else fold it."""
        self.sidebar_shown = self.has_class("-room-bar")

    def redraw_status(self) -> None:
        """Someone's away status changed: the sidebar, the users, the status bar."""
        self.redraw_sidebar()
        self.redraw_users()

    def redraw_users(self) -> None:
        """Redraw the current view's users, and the status bar: its title and topic,
        and the user's own away status."""
        state, current = self.state, self.state.current
        users: list[m.UserInfo] = []
        if current is not None and current.kind == "room":
            users = list(state.members.get(current.key, {}).values())
        elif current is not None:
            users = [
                m.UserInfo(name=name, online=state.online.get(name_key(name), False))
                for name in (state.me, current.name)
            ]
            users[0].online = True
        users = [state.user_info(user) for user in users]
        self.query_one(UserList).show(users)
        title = current.label if current is not None else "no room open"
        conv = state.conversation(current) if current is not None else None
        known = self.query_one(StatusBar).online
        if current is not None and current.kind == "room" and users and known:
            title += f"  ({sum(user.online for user in users)} online)"
        elif current is not None and (away := state.away_text(current.name)) is not None:
            title += f"  (away{': ' + away if away else ''})"  # the bar escapes it
        bar = self.query_one(StatusBar)
        bar.title = title
        bar.topic = conv.topic or "" if conv is not None else ""
        bar.away = state.away_text(state.me)

    def pane_width(self) -> int | None:
        """The columns the message pane shows text in (for the console's tables)."""
        width = self.query_one(MessagePane).content_size.width
        return min(max(width - 1, 20), 1000) if width else None

    async def apply_change(self, change: Change) -> None:
        """Redraw what a server event changed; toast DMs and mentions from elsewhere."""
        current = self.state.current
        pane = self.query_one(MessagePane)
        if change.added and change.target is not None and change.target == current:
            conv = self.state.conversation(change.target)
            if conv is not None:
                await pane.append(change.added, conv.messages)
                if any(msg.sender != self.state.me for msg in change.added):
                    self._mark_read(change.target)
                if any(msg.reply_to is not None for msg in change.added):
                    self.fetch_parents()
        if change.updated and change.target is not None:
            self.changed_messages(change.target, change.updated)
        if change.sidebar:
            self.redraw_sidebar()
        if change.status:
            self.redraw_status()
        elif change.users:
            self.redraw_users()
        if change.typing is not None and change.typing == current:
            self.redraw_typing()
        if change.topic is not None and change.topic == current:
            self.redraw_users()
            await self.note(plain(change.topic_note))
        if change.note is not None:
            await self.noted(*change.note)
        if change.alert is not None:
            self.attention(change.target, change.alert_title, change.alert)
        if change.info is not None:
            self.notify(plain(change.info), title=plain(change.info_title), markup=False)
        if current is None and self._showing is not None:  # the room went away
            self._showing = None
            targets = self.state.openable()
            if targets:
                self.open_target(targets[0])
            else:
                await pane.show([])
                self.redraw_users()

    async def resumed(self, caught: CaughtUp) -> None:
        """After a reconnection: show what was missed in the current view, and changed."""
        current = self.state.current
        conv = self.state.conversation(current) if current is not None else None
        if conv is not None and current is not None:
            pane = self.query_one(MessagePane)
            await pane.append(caught.missed.get(current, []), conv.messages)
            self.fetch_parents()
        for target, updated in caught.changed.items():
            self.changed_messages(target, updated)
        self.redraw_sidebar()
        self.redraw_users()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker failed in a way nobody expected: say so rather than hide it."""
        if event.state == WorkerState.ERROR:
            self.notify(f"Internal error: {event.worker.error!r}", severity="error", markup=False)

    async def app_action(self, action: str) -> None:
        """Run an action of the app (`help`, `quit`)."""
        await self.app.run_action(action)

    def action_focus_input(self) -> None:
        """Put the cursor back on the input line; there, end an edit or a reply."""
        field = self.query_one(ChatInput)
        if field.has_focus:
            self.cancel_composing()
        self.query_one(MessagePane).select(None)
        field.focus()

    def open_target(self, target: Target, around: int | None = None) -> None:
        """Open a room or conversation as `Navigation` does, the keys going to the input
        line (from the sidebar or the user list too); a message jumped to takes them
        once found, to act on it."""
        super().open_target(target, around)
        self.query_one(ChatInput).focus()

    @on(Sidebar.Opened)
    def _sidebar_opened(self, event: Sidebar.Opened) -> None:
        self.open_target(event.target)

    @on(UserList.Chosen)
    def _user_chosen(self, event: UserList.Chosen) -> None:
        if name_key(event.name) != name_key(self.state.me):
            self.open_target(Target.dm(event.name))

    # -- the input line ------------------------------------------------------------

    def _complete(self, line: str, cursor: int) -> tuple[int, list[str]]:
        state = self.state
        return completions(
            line, cursor, state.user_names(), state.room_names(), moderator=state.moderator
        )

    @on(ChatInput.Submitted, "#input")
    async def _submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        editing = self.take_edit()
        if editing is not None:
            event.input.value = ""
            self.edit_submitted(editing, event.value)
            return
        command = parse(event.value)
        if isinstance(command, Invalid):  # the text stays, to be put right
            await self.note(command.problem)
        elif command is not None:
            event.input.value = ""
            self._run(command, event.value)

    @work(group="commands", exit_on_error=False)
    async def _run(self, command: Command, line: str) -> None:
        try:
            await self.dispatch(command)
        except ProtocolError as error:
            self.query_one(ChatInput).give_back(line)  # refused: back to be put right
            await self.note(describe_error(error, self.tz))
        except OFFLINE:
            self.query_one(ChatInput).give_back(line)
            await self.note("Not connected: try again once reconnected.")
