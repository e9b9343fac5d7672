"""The Textual application: logging in, the reader worker, reconnecting, quitting.

`ChatApp` owns the connection. One long-lived reader worker turns frames into
`ServerEvent` messages; when it ends, `ConnectionLost` starts the reconnection
worker (backoff from 0.5 s doubling to 10 s), which logs in again with the
session's token (held in memory only; the password too, but only for a server
that gives no token) and lets the session catch up. A token the server refuses
(revoked, expired) brings the login screen back. A `disconnect` from an
administrator (kick, ban, kill) ends the session: a modal says why, then the login
screen comes back. Quitting and `/logout` log out, which revokes the token. How a
login goes, and goes wrong, is in `signing_in`.

Every key the user presses goes by the app first: after `away_after` of none the
user is set away, and the next key sets them back. A tick every second (on the
clock given, so tests move time themselves) does that and lets go of "… is typing".
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from datetime import tzinfo
from typing import ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from chat_core import messages as m
from chat_core.errors import ProtocolError
from chat_tui import DEFAULT_PORT
from chat_tui.client import ChatClient
from chat_tui.config import DEFAULT_HOST, LastUsed, Preferences, Settings, format_address
from chat_tui.messages import ConnectionLost, LoginRequested, ServerEvent
from chat_tui.noticing import MONOTONIC, AutoAway, Clock
from chat_tui.render import describe_disconnect, disconnect_summary
from chat_tui.screens.chat import ChatScreen
from chat_tui.screens.disconnect import DisconnectScreen
from chat_tui.screens.help import HelpScreen
from chat_tui.screens.login import LoginScreen
from chat_tui.session import ChatSession
from chat_tui.signing_in import TRANSIENT, Credentials, LoginFailed, connect, sign_in
from chat_tui.state import ChatState

ClientFactory = Callable[[str, int], ChatClient]
"""Makes a (not yet connected) client for a host and a port."""

LOGOUT_TIMEOUT = 2.0  # seconds quitting waits for the server to confirm a logout


class ChatApp(App[None]):
    """The chat client.

    Args:
        host: The server to prefill.
        port: Its port.
        user: The user name to prefill.
        ssl_context: Use TLS with this context.
        settings: Where the last server and user name are remembered.
        client_factory: Makes clients (tests give a fake one).
        tz: Time zone for times and dates (None: the local one).
        backoff: First and longest delay between reconnection attempts, in seconds.
        heartbeat: Seconds between pings that find a connection dead without a FIN.
        cursor_blink: Whether the input cursors blink (off for snapshots).
        preferences: The user's (auto-away, the bell, notifications, the theme, times).
        clock: Monotonic seconds, for typing and idleness (tests give their own).
    """

    CSS_PATH = "app.tcss"
    TITLE = "chat-tui"
    ENABLE_COMMAND_PALETTE = False  # Ctrl+P is "previous room"; Ctrl+K switches rooms
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", tooltip="Leave chat-tui", priority=True),
        Binding("f1", "help", "Help", id="app.help", tooltip="Keys and commands"),
    ]

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        user: str = "",
        ssl_context: ssl.SSLContext | None = None,
        settings: Settings | None = None,
        client_factory: ClientFactory | None = None,
        tz: tzinfo | None = None,
        backoff: tuple[float, float] = (0.5, 10.0),
        heartbeat: float = 30.0,
        cursor_blink: bool = True,
        preferences: Preferences | None = None,
        clock: Clock = MONOTONIC,
    ) -> None:
        super().__init__()
        self.host, self.port, self.user = host, port, user
        self.settings = settings if settings is not None else Settings()
        self.client_factory: ClientFactory = client_factory or (
            lambda h, p: ChatClient(h, p, ssl_context=ssl_context)
        )
        self.tz = tz
        self.backoff = backoff
        self.heartbeat = heartbeat
        self.cursor_blink = cursor_blink
        self.preferences = preferences if preferences is not None else Preferences()
        self.clock = clock
        self.auto_away = AutoAway(self.preferences.away_after, clock())
        self.client: ChatClient | None = None
        self.session: ChatSession | None = None
        self._credentials: Credentials | None = None
        self._early: list[m.Event] = []  # events that came before the session existed
        self._reconnecting = False

    def on_mount(self) -> None:
        """Start at the login screen, in the user's theme, with the user's keys."""
        self.theme = self.preferences.theme
        self.set_keymap(self.preferences.keys)
        address = format_address(self.host, self.port)
        self.push_screen(LoginScreen(address=address, user=self.user))
        self.set_interval(self.heartbeat, self.check_connection)
        self.set_interval(1.0, self.tick)

    @property
    def chat_screen(self) -> ChatScreen | None:
        """The chat screen, once it is logged in and drawn (it draws from the state),
        until the app shuts down (an event may come while the widgets go away)."""
        if not self.is_running:
            return None
        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen) and screen.ready:
                return screen
        return None

    # -- connection -----------------------------------------------------------------

    @work(exclusive=True, group="reader", exit_on_error=False)
    async def read_events(self, client: ChatClient) -> None:
        """The one reader of the connection: every event becomes a message."""
        async with contextlib.aclosing(client.events()) as events:
            async for event in events:
                self.post_message(ServerEvent(client, event))
        self.post_message(ConnectionLost(client))

    async def _open_session(
        self,
        host: str,
        port: int,
        user: str,
        *,
        password: str | None = None,
        token: str | None = None,
        register: bool = False,
    ) -> tuple[ChatClient, m.LoginOk]:
        """Connect, start the reader, log in (with the password or the token) or
        register; the new client and the reply.

        Raises:
            LoginFailed: it did not work, and why.
        """
        client = self.client_factory(host, port)
        await connect(client)
        self.client = client
        self.read_events(client)
        secret = Credentials(user, token=token, password=password)
        reply = await sign_in(client, secret, register=register, tz=self.tz)
        return client, reply

    @work(exclusive=True, group="heartbeat", exit_on_error=False)
    async def check_connection(self) -> None:
        """Ping; a connection that does not answer in time is closed (then reconnected)."""
        client = self.client
        if self.session is None or client is None or client.closed or self._reconnecting:
            return
        try:
            async with asyncio.timeout(self.heartbeat / 2):
                await client.ping()
        except TimeoutError:
            await client.close()  # the reader ends, and ConnectionLost follows
        except (ConnectionError, ProtocolError):
            pass  # the reader has noticed already

    @on(LoginRequested)
    def _login_requested(self, request: LoginRequested) -> None:
        self.log_in(request)

    @work(exclusive=True, group="login", exit_on_error=False)
    async def log_in(self, request: LoginRequested) -> None:
        """Log in (or register) from the login screen; the chat screen on success."""
        screen = self.screen
        if isinstance(screen, LoginScreen):
            screen.busy = True
        try:
            client, reply = await self._open_session(
                request.host,
                request.port,
                request.user,
                password=request.password,
                register=request.register,
            )
        except LoginFailed as failure:
            if isinstance(screen, LoginScreen):
                screen.busy = False
                screen.error = str(failure)
            return
        self.host, self.port, self.user = request.host, request.port, reply.user
        if reply.token is not None:
            self._credentials = Credentials(reply.user, token=reply.token)
        else:  # a version-1 server: only the password logs in again
            self._credentials = Credentials(request.user, password=request.password)
        self.settings.save(LastUsed(host=request.host, port=request.port, user=reply.user))
        self.session = ChatSession(client, ChatState.from_login(reply, self.clock))
        self.auto_away = AutoAway(self.preferences.away_after, self.clock())
        for event in self._early:
            self.session.state.apply(event)
        self._early.clear()
        address = format_address(self.host, self.port)
        await self.switch_screen(
            ChatScreen(self.session, tz=self.tz, address=address, preferences=self.preferences)
        )

    @on(ServerEvent)
    async def _server_event(self, message: ServerEvent) -> None:
        if message.client is not self.client:
            return
        event = message.event
        if isinstance(event, m.Disconnect):
            self._disconnected(event)
        elif self.session is None:
            self._early.append(event)
        else:
            change = self.session.state.apply(event)
            chat = self.chat_screen
            if chat is not None:
                await chat.apply_change(change)

    def _disconnected(self, event: m.Disconnect) -> None:
        if self.session is None:
            return  # the login screen says it (the login fails)
        title, text = describe_disconnect(event, self.tz, self.session.state.server_now())
        if event.reason in TRANSIENT:
            self.notify(disconnect_summary(title, text), severity="warning", markup=False)
            return
        self.session = None
        self._credentials = None

        async def back(_: None) -> None:
            await self.back_to_login(disconnect_summary(title, text))

        self.push_screen(DisconnectScreen(title, text), back)

    @on(ConnectionLost)
    def _connection_lost(self, message: ConnectionLost) -> None:
        if message.client is not self.client or self.session is None or self._reconnecting:
            return
        self.session.connection_lost()
        chat = self.chat_screen
        if chat is not None:
            chat.set_connection("connection lost", online=False)
        self.reconnect()

    @work(exclusive=True, group="reconnect", exit_on_error=False)
    async def reconnect(self) -> None:
        """Log in again with backoff, then catch up on what was missed."""
        session, credentials = self.session, self._credentials
        if session is None or credentials is None:
            return
        delay, longest = self.backoff
        attempt = 0
        self._reconnecting = True
        try:
            while self.session is session:
                attempt += 1
                self._status(f"reconnecting (attempt {attempt})…")  # the ⚠ says it is lost
                wait = delay
                try:
                    client, reply = await self._open_session(
                        self.host,
                        self.port,
                        credentials.user,
                        password=credentials.password,
                        token=credentials.token,
                    )
                    caught = await session.resume(client, reply)
                except LoginFailed as failure:
                    if failure.final:
                        await self.back_to_login(str(failure))
                        return
                    # A server busy with everyone coming back says when to return.
                    wait = max(delay, min(failure.retry_after, longest))
                except (ConnectionError, TimeoutError, ProtocolError):
                    pass  # dropped again while catching up: try again
                else:
                    if reply.token is not None and reply.token != credentials.token:
                        self._credentials = Credentials(reply.user, token=reply.token)
                    chat = self.chat_screen
                    if chat is not None:
                        await chat.resumed(caught)
                        chat.set_connection(f"{session.state.me} @ {self.address}", online=True)
                    break
                self._status(f"offline; next attempt in {wait:g} s")
                await asyncio.sleep(wait)
                delay = min(delay * 2, longest)
        finally:
            self._reconnecting = False
        if self.client is not None and self.client.closed and self.session is session:
            self.reconnect()

    @property
    def address(self) -> str:
        """The server, as `host:port`."""
        return format_address(self.host, self.port)

    def _status(self, text: str) -> None:
        chat = self.chat_screen
        if chat is not None:
            chat.set_connection(text, online=False)

    async def back_to_login(self, error: str = "") -> None:
        """End the session and show the login screen (with `error`)."""
        self.session = None
        self._credentials = None
        client, self.client = self.client, None
        if client is not None:
            await client.close()
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(LoginScreen(address=self.address, user=self.user, error=error))

    # -- idleness --------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """A key (or a click) from the user, before it goes anywhere: they are here."""
        user = isinstance(event, events.Key | events.MouseDown) and not event.is_forwarded
        if user and self.auto_away.key(self.clock()) and self.session is not None:
            self.set_status(away=False)
        await super().on_event(event)

    def tick(self) -> None:
        """Every second: typing that is over, and idleness that sets the user away."""
        session = self.session
        if session is None:
            return
        chat = self.chat_screen
        if chat is not None:
            chat.tick()
        away = session.state.away_text(session.state.me) is not None
        if not session.client.closed and self.auto_away.due(self.clock(), away=away):
            self.set_status(away=True)

    @work(group="status", exit_on_error=False)
    async def set_status(self, *, away: bool) -> None:
        """Set the user away or back for auto-away (a refusal or no link: no matter)."""
        session = self.session
        if session is None:
            return
        try:
            await session.set_status(away)
        except (ProtocolError, ConnectionError, TimeoutError):
            return
        chat = self.chat_screen
        if chat is not None:
            chat.redraw_status()

    # -- actions ----------------------------------------------------------------------

    def action_help(self) -> None:
        """Keys and commands."""
        if not isinstance(self.screen, HelpScreen):
            moderator = self.session is not None and self.session.state.moderator
            self.push_screen(HelpScreen(moderator))

    async def action_quit(self) -> None:
        """Log out (the session's token is revoked) and leave."""
        await self._log_out()
        self.exit()

    def action_logout(self, everywhere: bool = False) -> None:
        """Log out (`everywhere`: revoke every token of the user), back to the login."""
        self.log_out(everywhere)

    @work(exclusive=True, group="logout", exit_on_error=False)
    async def log_out(self, everywhere: bool) -> None:
        """`action_logout`, in a worker of the app's: the chat screen is going away."""
        await self._log_out(everywhere=everywhere)
        what = "every session of yours has ended" if everywhere else "log in again at will"
        await self.back_to_login(f"You logged out: {what}.")

    async def _log_out(self, *, everywhere: bool = False) -> None:
        """End the session, telling the server if the connection is up (briefly)."""
        logged_in = self.session is not None
        self.session = None
        self._credentials = None
        client, self.client = self.client, None
        if client is None:
            return
        if logged_in and not client.closed:
            with contextlib.suppress(ProtocolError, ConnectionError, TimeoutError):
                async with asyncio.timeout(LOGOUT_TIMEOUT):
                    await client.logout(everywhere=everywhere)
        await client.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker failed in a way nobody expected: say so rather than hide it."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(f"Internal error: {error!r}", severity="error", markup=False)

    async def on_unmount(self) -> None:
        """Never leave a socket open."""
        if self.client is not None:
            await self.client.close()
