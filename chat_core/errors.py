"""Error codes, disconnect reasons and the one exception the protocol layer raises."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """The `code` of an `error` reply."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_TYPE = "unknown_type"
    NOT_LOGGED_IN = "not_logged_in"
    ALREADY_LOGGED_IN = "already_logged_in"
    INVALID_NAME = "invalid_name"
    INVALID_PASSWORD = "invalid_password"
    AUTH_FAILED = "auth_failed"
    USER_EXISTS = "user_exists"
    NO_SUCH_USER = "no_such_user"
    NO_SUCH_ROOM = "no_such_room"
    NOT_MEMBER = "not_member"
    ALREADY_MEMBER = "already_member"
    RATE_LIMITED = "rate_limited"
    KICKED = "kicked"
    BANNED = "banned"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    FORBIDDEN = "forbidden"  # version 2: not yours to do (e.g. `register` when closed)
    NO_SUCH_MESSAGE = "no_such_message"  # version 2: unknown, or not one you can read


class DisconnectReason(enum.StrEnum):
    """The `reason` of a `disconnect` event."""

    KICKED = "kicked"
    BANNED = "banned"
    KILLED = "killed"
    SHUTDOWN = "shutdown"
    SLOW_CONSUMER = "slow_consumer"
    PROTOCOL_ERROR = "protocol_error"
    IDLE = "idle"


class ProtocolError(Exception):
    """A request or frame broke the protocol, or a request cannot be served.

    Carries what the `error` reply needs: the code, a human-readable message, the
    request's `id` when it could be read, and details (`until`, `reason`,
    `retry_after_ms`) for the codes that have them.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        request_id: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details


class FrameError(ProtocolError):
    """The byte stream cannot be split into frames: the connection must close."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
