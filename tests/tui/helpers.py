"""Driving the app in tests: build it, wait for conditions, read what it shows."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from chat_tui.app import ChatApp, ClientFactory
from chat_tui.client import ChatClient
from chat_tui.config import Preferences, Settings
from chat_tui.noticing import Clock
from chat_tui.screens.chat import ChatScreen
from chat_tui.screens.login import LoginScreen
from chat_tui.widgets.chat_input import ChatInput
from chat_tui.widgets.message_line import MessageLine
from tests.helpers import PASSWORD, TIMEOUT, ManualClock


def make_app(
    port: int,
    config_dir: Path,
    *,
    user: str = "",
    client_factory: ClientFactory | None = None,
    preferences: Preferences | None = None,
    clock: Clock | None = None,
) -> ChatApp:
    """An app for tests: UTC times, quick reconnection, no blinking, a private config,
    and a clock that stands still unless the test gives one (and moves it)."""
    return ChatApp(
        host="127.0.0.1",
        port=port,
        user=user,
        settings=Settings(config_dir / "client.json"),
        client_factory=client_factory,
        tz=UTC,
        backoff=(0.05, 0.2),
        cursor_blink=False,
        preferences=preferences,
        clock=clock if clock is not None else ManualClock().monotonic,
    )


def screen_text(app: ChatApp) -> str:
    """The whole screen as plain text, as a terminal would show it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def rendered(widget: Widget) -> str:
    """The text a widget renders, without its side borders (whatever the scroll position)."""
    strips = widget.render_lines(widget.content_region.reset_offset)
    return "\n".join(strip.text.strip(" ▏▕") for strip in strips).strip()


class Driver:
    """A running app, its pilot, and every message posted while it ran."""

    def __init__(self, pilot: Pilot[None], seen: list[Message]) -> None:
        self.pilot = pilot
        self.app: ChatApp = pilot.app  # type: ignore[assignment]
        self.seen = seen

    async def wait(self, condition: Callable[[], Any], what: str) -> None:
        """Let the app run until `condition()` holds (at most TIMEOUT seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{screen_text(self.app)}")
            await self.pilot.pause()

    async def settle(self) -> None:
        """Wait for every worker to finish but the reader and a reconnection (long-lived)."""
        await self.pilot.pause()
        busy = [
            w
            for w in self.app.workers
            if w.group not in ("reader", "reconnect") and not w.is_finished
        ]
        if busy:  # an empty list would mean every worker, the reader included
            await self.app.workers.wait_for_complete(busy)
        await self.pilot.pause()

    @property
    def chat(self) -> ChatScreen:
        """The chat screen (fails if not logged in)."""
        screen = self.app.chat_screen
        assert screen is not None, f"not on the chat screen:\n{screen_text(self.app)}"
        return screen

    def lines(self) -> list[str]:
        """The message lines of the pane, as shown."""
        return [str(line.content) for line in self.chat.query(MessageLine)]

    def toasts(self) -> list[Notification]:
        """Every notification raised so far."""
        return [msg.notification for msg in self.seen if isinstance(msg, Notify)]

    async def login_form(self, user: str, password: str, *, register: bool) -> None:
        """Fill the login screen and submit it."""
        screen = self.app.screen
        assert isinstance(screen, LoginScreen), f"not on the login screen: {screen}"
        screen.query_one("#user", Input).value = user
        screen.query_one("#password", Input).value = password
        await self.pilot.click("#register" if register else "#login")

    async def log_in(self, user: str, password: str = PASSWORD, *, register: bool = True) -> None:
        """Log in (or register) and wait until the first room is open and loaded."""
        await self.login_form(user, password, register=register)
        await self.wait(lambda: self.app.chat_screen is not None, "the chat screen")
        await self.settle()
        await self.wait(self._current_loaded, "the first room to load")

    def _current_loaded(self) -> bool:
        session = self.app.session
        current = session.state.current if session is not None else None
        conv = session.state.conversation(current) if session and current else None
        return conv is not None and conv.loaded

    async def type(self, line: str) -> None:
        """Type a line in the input and press Enter."""
        field = self.chat.query_one(ChatInput)
        field.focus()
        field.value = line
        field.cursor_position = len(line)
        await self.pilot.press("enter")
        await self.settle()


class GatedClient(ChatClient):
    """A client that connects only while its gate is open (to hold a reconnection)."""

    def __init__(self, host: str, port: int, *, gate: asyncio.Event) -> None:
        super().__init__(host, port)
        self.gate = gate

    async def connect(self) -> None:
        await self.gate.wait()
        await super().connect()


@contextlib.asynccontextmanager
async def drive(app: ChatApp, size: tuple[int, int] = (80, 24)) -> AsyncIterator[Driver]:
    """Run the app headless; fail if it reported an internal error."""
    seen: list[Message] = []
    async with app.run_test(size=size, message_hook=seen.append) as pilot:
        yield Driver(pilot, seen)
    errors = [
        msg.notification.message
        for msg in seen
        if isinstance(msg, Notify) and msg.notification.severity == "error"
    ]
    assert not errors, errors
