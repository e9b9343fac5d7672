"""Connecting and logging in, and what can go wrong on the way, in plain words.

`connect()` opens the connection and `sign_in()` logs in on it (with the password or
the session's token) or registers; either raises `LoginFailed`, which says whether
trying again could help and when the server wants to be asked again. No Textual
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from chat_core import messages as m
from chat_core.errors import DisconnectReason, ErrorCode, ProtocolError
from chat_tui.client import ChatClient
from chat_tui.render import describe_disconnect, describe_error, disconnect_summary

# A server going away for a moment is not the end of the session: reconnect.
TRANSIENT = {
    DisconnectReason.SHUTDOWN,
    DisconnectReason.SLOW_CONSUMER,
    DisconnectReason.IDLE,
    DisconnectReason.PROTOCOL_ERROR,
}
FINAL_LOGIN_ERRORS = {ErrorCode.AUTH_FAILED, ErrorCode.KICKED, ErrorCode.BANNED}
TLS_NEEDED = "This server speaks TLS: start chat-tui with --tls (and --ca for a private CA)."
SESSION_ENDED = "Your session has ended (logged out elsewhere, or expired): log in again."


@dataclass(frozen=True)
class Credentials:
    """How to log in again after a lost connection: in memory only, never on disk."""

    user: str
    token: str | None = None
    """The session's token (version 2): logs in again without the password."""
    password: str | None = None
    """Kept only when the server gave no token."""


class LoginFailed(Exception):
    """Connecting or logging in failed; `final` if trying again cannot help.

    `retry_after` (seconds) is the server's word on when to try again, if it gave one.
    """

    def __init__(self, text: str, *, final: bool, retry_after: float = 0.0) -> None:
        super().__init__(text)
        self.final = final
        self.retry_after = retry_after


async def connect(client: ChatClient) -> None:
    """Open the client's connection.

    Raises:
        LoginFailed: the server cannot be reached (worth trying again).
    """
    try:
        await client.connect()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        text = f"Cannot reach the server at {client.address}: {reason}."
        raise LoginFailed(text, final=False) from None


async def sign_in(
    client: ChatClient, secret: Credentials, *, register: bool, tz: tzinfo | None
) -> m.LoginOk:
    """Log in on a connected client (whose events are being read), or register.

    Args:
        client: The client, connected.
        secret: The user, and the password or the token.
        register: Create the account (with the password).
        tz: The time zone an end of a kick is said in.

    Raises:
        LoginFailed: refused, or the connection closed; the client is closed then.
    """
    try:
        if register:
            return await client.register(secret.user, secret.password or "")
        return await client.login(secret.user, secret.password, token=secret.token)
    except ProtocolError as error:
        await client.close()
        final = error.code in FINAL_LOGIN_ERRORS
        wait = error.details.get("retry_after_ms")
        retry_after = wait / 1000 if isinstance(wait, int) else 0.0
        text = describe_error(error, tz)
        if secret.token is not None and error.code == ErrorCode.AUTH_FAILED:
            text = SESSION_ENDED
        raise LoginFailed(text, final=final, retry_after=retry_after) from None
    except (ConnectionError, TimeoutError):
        await client.close()
        goodbye = client.goodbye
        if goodbye is not None:
            title, text = describe_disconnect(goodbye, tz)
            final = goodbye.reason not in TRANSIENT
            raise LoginFailed(disconnect_summary(title, text), final=final) from None
        if await client.speaks_tls():  # it closed on bytes that were not TLS
            raise LoginFailed(TLS_NEEDED, final=True) from None
        raise LoginFailed("The server closed the connection.", final=False) from None
