"""Tests of the admin console: parser, executor, admin API, and the interactive shell."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from chat_srv.console.commands import CommandLine


def as_text(renderable: RenderableType, width: int = 120) -> str:
    """What the console would show, without colours, on a terminal `width` columns wide."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


async def run(commands: CommandLine, line: str, width: int = 120) -> str:
    """Execute a console line and render its result as text."""
    return as_text(await commands.execute(line), width)
