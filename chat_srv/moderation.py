"""The `moderate` request: a moderator's or admin's console line, run as the console runs it.

The same parser and executor as the terminal and the admin socket (`CommandLine`),
with an `Admin` whose actor is the user and their role, so the permission check is
the one at the console's door (`chat_srv.roles`). Every line is logged with who ran
it; the output comes back as plain text lines.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chat_core import messages as m
from chat_core.errors import ErrorCode
from chat_srv.admin import Admin
from chat_srv.console.commands import CommandLine
from chat_srv.console.render import render_lines
from chat_srv.roles import Actor

if TYPE_CHECKING:
    from chat_srv.picture import Client
    from chat_srv.server import ChatServer

log = logging.getLogger(__name__)

DEFAULT_WIDTH = 80  # columns, when the client does not say how wide its pane is


class Moderation:
    """Answers `moderate` requests against a running server."""

    def __init__(self, server: ChatServer) -> None:
        self._server = server

    async def __call__(self, client: Client, request: m.Moderate) -> m.Reply:
        user = client.user
        assert user is not None  # the service lets only logged-in users through
        actor = Actor(user.name, user.role, door="moderate")
        outcome = await CommandLine(Admin(self._server, actor)).run(request.command)
        verdict = "forbidden" if outcome.forbidden else "failed" if outcome.failed else "done"
        log.info("moderate by %s: %r (%s)", actor.label, request.command, verdict)
        if outcome.forbidden:
            return m.ErrorReply(id=request.id, code=ErrorCode.FORBIDDEN, message=outcome.message)
        if outcome.failed:
            return m.ErrorReply(
                id=request.id, code=ErrorCode.BAD_REQUEST, message=outcome.explanation
            )
        lines = render_lines(outcome.shown, request.width or DEFAULT_WIDTH, ansi=False)
        return m.ModerateOk(id=request.id, lines=lines)
