"""The server's settings, with the defaults the documentation gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

from chat_core.framing import CLIENT_FRAME_LIMIT

DEFAULT_PORT = 7878
DEFAULT_OUTBOUND_BUFFER = 1024 * 1024


def default_db_path() -> Path:
    """The SQLite file used when no `--db` is given: in the user's data directory."""
    return Path(platformdirs.user_data_dir("chat-server")) / "chat.db"


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Cost of the argon2id password hash (RFC 9106 low-memory profile by default)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server can be told; every limit has a sane default."""

    address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    db: str = ""  # a SQLite path or a mysql:// URL; "" = default_db_path()
    max_frame: int = CLIENT_FRAME_LIMIT  # largest payload accepted from a client
    outbound_buffer: int = DEFAULT_OUTBOUND_BUFFER  # bytes queued to a client before slow_consumer
    db_timeout: float = 5.0  # seconds a MySQL operation may take before `unavailable`
    max_batch: int = 512  # most messages stored in one group-commit transaction
    shutdown_grace: float = 5.0  # seconds to flush goodbyes before closing anyway
    argon2: Argon2Params = Argon2Params()

    @property
    def database(self) -> str:
        """The database to open: `db`, or the default SQLite file."""
        return self.db or str(default_db_path())
