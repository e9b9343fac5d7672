"""The server's logging: one event per line, user text escaped, other libraries kept quiet.

`configure_logging` is what `chat-server --log-level` sets up. Two rules hold at
every level:

- **No secrets.** Our own loggers never log a message body, a password or its
  hash. Other libraries may: aiosqlite logs every statement with its parameters
  at DEBUG (the bodies and hashes being stored), so every logger outside
  `chat_srv` is held at INFO or above whatever the level asked for; `--log-level
  debug` is for the server's own loggers only.
- **One event, one line.** `OneLineFormatter` escapes the line of every record
  with `chat_srv.escapes.visible`, so a user name or reason holding a newline,
  a CR, U+2028 or a bidi override cannot forge or reorder a log line. A
  traceback stays on the lines below its record, each line escaped and marked
  with `  | `, so nothing after the first line can pass for a record of its own.
"""

from __future__ import annotations

import logging
from typing import TextIO

from chat_srv.escapes import visible

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN = "chat_srv"
"""The loggers `--log-level` applies to: this one and those below it."""
OTHERS_FLOOR = logging.INFO
"""The lowest level any other library's records are written at."""
CONTINUATION = "  | "
"""The start of each traceback line below its record."""
_HANDLER_NAME = "chat_srv"  # how `configure_logging` finds the handler it installed


class OneLineFormatter(logging.Formatter):
    """Formats a record as one line with every hidden character escaped.

    An exception's traceback (and a stack) follows on lines of its own, each
    escaped and prefixed with `CONTINUATION`: the frames are ours, but the
    exception's message may quote user text. Unlike `logging.Formatter`, the
    traceback is not cached on the record, so other handlers format their own.
    """

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = visible(self.formatMessage(record))
        below: list[str] = []
        if record.exc_info:
            below.append(self.formatException(record.exc_info))
        elif record.exc_text:
            below.append(record.exc_text)
        if record.stack_info:
            below.append(self.formatStack(record.stack_info))
        # Split on \n alone: a U+2028 in an exception message is escaped, not a break.
        lines = (line for block in below for line in block.split("\n"))
        return "".join([text, *(f"\n{CONTINUATION}{visible(line)}" for line in lines)])


class _OthersFloor(logging.Filter):
    """Passes records from our loggers, and others' only from `OTHERS_FLOOR` up.

    The levels set by `configure_logging` already keep others' debug records from
    being made; this filter holds even if a library sets its own logger's level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= OTHERS_FLOOR:
            return True
        name = record.name
        return name == OWN or name.startswith(OWN + ".")


def configure_logging(level: int, stream: TextIO | None = None) -> None:
    """Log to `stream` (stderr by default) at `level` for the server, INFO+ for the rest.

    Replaces the handler an earlier call installed; other handlers on the root
    logger are left alone.

    Args:
        level: the level of the `chat_srv` loggers (`logging.DEBUG`...).
        stream: where lines are written; `sys.stderr` if None.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)
    handler.setFormatter(OneLineFormatter(FORMAT))
    handler.addFilter(_OthersFloor())
    root.addHandler(handler)
    root.setLevel(max(level, OTHERS_FLOOR))
    logging.getLogger(OWN).setLevel(level)
