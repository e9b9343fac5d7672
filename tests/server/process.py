"""Running `chat-server` as a real process, for tests that kill or signal it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator

FAST_ARGS = ["--argon2-time-cost", "1", "--argon2-memory-kib", "64", "--argon2-parallelism", "1"]
_LISTENING = re.compile(rb"listening on \S+ port (\d+)")


class ServerProcess:
    """A `chat-server --no-console` child process, the port it listens on, and its log."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        port: int,
        log: bytearray,
        drain: asyncio.Task[None],
    ) -> None:
        self.process = process
        self.port = port
        self.log = log
        """Everything read from stderr so far (all of it once `ended` returned)."""
        self._drain = drain

    async def ended(self) -> int:
        """Wait for the process to exit and its stderr to be read to the end; its status."""
        status = await self.process.wait()
        await self._drain
        return status


@contextlib.asynccontextmanager
async def server_process(db: str, *extra: str) -> AsyncIterator[ServerProcess]:
    """Start the server on `db` and a free port; kill it on exit if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from chat_srv.cli import main; main()",
        "--no-console",
        "--port",
        "0",
        "--db",
        db,
        *FAST_ARGS,
        "--admin-socket",
        "none",  # a test that wants one gives its own (the last one given counts)
        *extra,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    log = bytearray()
    try:
        async with asyncio.timeout(20):
            while True:
                line = await process.stderr.readline()
                log += line
                if not line:
                    raise RuntimeError("chat-server exited before listening")
                found = _LISTENING.search(line)
                if found:
                    break
        # Keep draining the log so the child never blocks on a full pipe.
        drain = asyncio.create_task(_drain(process.stderr, log))
        try:
            yield ServerProcess(process, int(found.group(1)), log, drain)
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
            await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _drain(stream: asyncio.StreamReader, log: bytearray) -> None:
    while chunk := await stream.read(65536):
        log += chunk
