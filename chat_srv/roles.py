"""Who may run which console command: the permission check at each door.

The console's commands reach the server through three doors: the terminal it runs
in, the admin socket, and the `moderate` request of a logged-in moderator or admin.
The first two are the server's operator (the terminal, or the file mode of the
socket, is the authentication) and may run everything; through `moderate`, what a
user may run follows their role. One table, here, says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from chat_core.messages import Role

MODERATOR_COMMANDS: Final = frozenset(
    {
        "help",
        "users",
        "rooms",
        "pending rooms",
        "accept pending",
        "reject pending",
        "kick",
        "unkick",
        "ban",  # users; `ban ip` is not a moderator's
        "unban",
        "kill",
        "notice",
        "messages",
        "redact",
        "topic",
    }
)
"""Commands a moderator may run, by their words."""

OPERATOR_ONLY: Final = frozenset({"shutdown", "backup"})
"""Commands an admin may not run: only the server's operator. `backup` writes a file
where the server's user may write, with contents that chat users chose (message
bodies): a chat role must not reach the server's file system."""


def may_run(role: Role | None, command: str) -> bool:
    """Whether `role` may run the command named by its words (`None`: the operator)."""
    if role is None:
        return True
    if role is Role.ADMIN:
        return command not in OPERATOR_ONLY
    if role is Role.MODERATOR:
        return command in MODERATOR_COMMANDS
    return False


@dataclass(frozen=True, slots=True)
class Actor:
    """Who runs a console command: the operator (`role` None) or a user with a role."""

    name: str  # `created_by` of the sanctions they make
    role: Role | None = None
    door: str = "console"  # how they came in, for the log

    @property
    def label(self) -> str:
        """How the log names them: `console`, `admin socket`, `alice (moderator)`."""
        return self.door if self.role is None else f"{self.name} ({self.role})"

    def may_run(self, command: str) -> bool:
        """Whether they may run the command named by its words."""
        return may_run(self.role, command)


CONSOLE: Final = Actor("console")
"""The server's own terminal."""

ADMIN_SOCKET: Final = Actor("console", door="admin socket")
"""The admin socket: the operator too, from another terminal."""
