"""The interactive admin console: a prompt in the server's own event loop.

A thin shell around `CommandLine`: prompt_toolkit reads a line (history, tab
completion), the executor answers with a Rich renderable, Rich prints it. While
the prompt is up, stdout is patched so log lines and results print above it.
Ctrl-C clears the line; Ctrl-D leaves the console and the server runs on
headless; `shutdown` or a signal stops the server, and the console with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import platformdirs
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout
from rich.console import Console
from rich.text import Text

from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.console.completion import complete
from chat_srv.logs import OneLineFormatter

if TYPE_CHECKING:
    from chat_srv.server import ChatServer

PROMPT = "chat> "
WELCOME = "admin console: type help for the commands; Ctrl-D leaves the console, not the server"
HEADLESS = "console closed; the server keeps running until Ctrl-C or SIGTERM"


async def run_console(server: ChatServer) -> None:
    """Run the console until `shutdown`, a signal, or Ctrl-D; return once the server stopped."""
    admin = Admin(server)
    commands = CommandLine(admin)
    # raw=True: the proxy passes Rich's colour sequences through instead of escaping them.
    with patch_stdout(raw=True):
        console = Console(file=sys.stdout, highlight=False, markup=False, emoji=False)
        with _logs_above_prompt(sys.stdout):
            session: PromptSession[str] = PromptSession(
                history=history(),
                completer=_Completer(admin),
                complete_while_typing=False,
            )
            console.print(Text(WELCOME, style="dim"))
            # Raw between prompts too: a Ctrl-C or Ctrl-D typed while a command runs
            # then waits for the next prompt instead of signalling the server (SIGINT)
            # or vanishing into the line discipline (EOF).
            with session.input.raw_mode():
                await _read_eval_print(server, session, commands, console)
    if not server.stopped.is_set():
        print(HEADLESS, flush=True)
        await server.stopped.wait()


async def _read_eval_print(
    server: ChatServer, session: PromptSession[str], commands: CommandLine, console: Console
) -> None:
    stopped = asyncio.ensure_future(server.stopped.wait())
    try:
        while not server.stopped.is_set():
            prompt = asyncio.ensure_future(read_line(session))
            await asyncio.wait({prompt, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not prompt.done():  # the server stopped (a signal) under the prompt
                prompt.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prompt
                return
            line = prompt.result()
            if line is None:  # Ctrl-D on an empty line
                return
            result = await commands.execute(line)
            if not (isinstance(result, Text) and not result.plain):
                console.print(result)
    finally:
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped


async def read_line(session: PromptSession[str]) -> str | None:
    """The next line, "" after Ctrl-C, None after Ctrl-D.

    The keys' exceptions stop here: a KeyboardInterrupt escaping a task would be
    re-raised by the event loop itself and take the server down.
    """
    try:
        # handle_sigint=False: prompt_toolkit would otherwise take SIGINT from the
        # server's own handler and drop it when the prompt returns.
        return await session.prompt_async(PROMPT, handle_sigint=False)
    except KeyboardInterrupt:  # Ctrl-C: the line is dropped, the console stays
        return ""
    except EOFError:
        return None


class _Completer(Completer):
    """Completes command words, user names and room names (see `completion.complete`)."""

    def __init__(self, admin: Admin) -> None:
        self._admin = admin

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        for candidate in complete(
            document.text_before_cursor, self._admin.user_names(), self._admin.room_names()
        ):
            yield Completion(candidate.text, start_position=-candidate.replaces)


def history() -> History:
    """Lines typed in earlier sessions, kept in the user's state directory if it can be."""
    try:
        directory = Path(platformdirs.user_state_dir("chat-server"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "console_history"
        path.touch(exist_ok=True)
        return FileHistory(str(path))
    except OSError:
        return InMemoryHistory()


# The console's own format for a handler it adds or one it cannot reuse the format of.
_CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _one_line(formatter: logging.Formatter | None) -> logging.Formatter:
    """`formatter` if it is a `OneLineFormatter`, else one that is.

    Only a formatter that escapes user text may write above the prompt: a raw
    ESC or newline there would be the terminal's, not the log's.
    """
    if isinstance(formatter, OneLineFormatter):
        return formatter
    return OneLineFormatter(_CONSOLE_FORMAT)


@contextlib.contextmanager
def _logs_above_prompt(stream: TextIO) -> Iterator[None]:
    """Send the terminal's log handlers to `stream` (the patched stdout) for a while.

    Handlers writing to a file are left alone; with no terminal handler at all,
    one is added at WARNING, like logging's own last resort.
    """
    root = logging.getLogger()
    saved = list(root.handlers)
    replaced: list[logging.Handler] = []
    for handler in saved:
        if type(handler) is logging.StreamHandler and _is_terminal(handler.stream):
            replaced.append(handler)
    substitutes: list[logging.Handler] = []
    for old in replaced:
        new = logging.StreamHandler(stream)
        new.setLevel(old.level)
        new.setFormatter(_one_line(old.formatter))
        for log_filter in old.filters:  # e.g. the cap on other libraries' levels
            new.addFilter(log_filter)
        substitutes.append(new)
    if not substitutes:
        fallback = logging.StreamHandler(stream)
        fallback.setLevel(logging.WARNING)
        fallback.setFormatter(_one_line(None))
        substitutes.append(fallback)
    for handler in replaced:
        root.removeHandler(handler)
    for handler in substitutes:
        root.addHandler(handler)
    try:
        yield
    finally:
        for handler in substitutes:
            root.removeHandler(handler)
        for handler in saved:
            if handler not in root.handlers:
                root.addHandler(handler)


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False
