"""The admin socket's frames: a console line and its output, and tab completion.

The admin socket (`chat-server --admin-socket`, a Unix socket whose file mode is the
authentication) speaks the same framing as the chat port, with requests of its
own: `command` runs one line of the console's language and answers with its output
as lines of text (with ANSI colours when asked, for a terminal of `width`
columns); `complete` answers the candidates the console would offer for Tab. A
command that fails is an `error` reply (`bad_request`) whose message holds the
console's explanation and usage; one the caller may not run is `forbidden`.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from chat_core.errors import ErrorCode, ProtocolError
from chat_core.messages import COMMAND_MAX, Ok, Request, check_command_line, checked

Width = Annotated[int, msgspec.Meta(ge=20, le=1000)]
Line = Annotated[str, msgspec.Meta(max_length=COMMAND_MAX)]


class Command(Request, tag="command", kw_only=True):
    """Run one console line."""

    line: Line
    width: Width = 100
    ansi: bool = False  # colours and styles as ANSI sequences, for a terminal

    def check(self) -> None:
        check_command_line(self.line)


class Complete(Request, tag="complete", kw_only=True):
    """What Tab would offer at the end of `line`."""

    line: Line

    def check(self) -> None:
        check_command_line(self.line)


class CommandOk(Ok, kw_only=True):
    """Result of `command`: its output, line by line."""

    lines: list[str]


class Candidate(msgspec.Struct, kw_only=True):
    """A completion: `text` replaces the last `replaces` characters of the line."""

    text: str
    replaces: int


class CompleteOk(Ok, kw_only=True):
    """Result of `complete`."""

    candidates: list[Candidate]


_decoder: Final = msgspec.msgpack.Decoder(Command | Complete)


def decode_control_request(payload: bytes) -> Command | Complete:
    """Decode one request read from the admin socket.

    Raises:
        ProtocolError: `bad_request` for anything else, with the id when it was read.
    """
    try:
        request: Command | Complete = _decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as error:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"not an admin request: {error}") from None
    return checked(request)
