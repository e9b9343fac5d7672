"""Run chat-server for a benchmark: the `chat-server` command's own start-up path, with
the per-connection request rate limit turned off.

`chat-server` (chat_srv/cli.py) has no option for the request rate limit yet, and its
default (10 requests a second per connection, burst 30) would answer a sender going
"as fast as the server takes it" with `rate_limited` and then drop it as a flooder.
Everything else is the server's default configuration, on uvloop like the command:

    python -m benchmarks.serve_chat --port P --db PATH [--argon2-time-cost 1 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chat_srv.config import Argon2Params, ServerConfig
from chat_srv.server import ChatServer

# Overrides applied when the running code has these settings (they are new and may
# still move): no request rate limit, room for many connections from one address.
BENCH_OVERRIDES: dict[str, Any] = {
    "request_rate": 0.0,
    "max_connections": 1_000_000,
    "max_connections_per_ip": 1_000_000,
}


def build_config(args: argparse.Namespace) -> ServerConfig:
    """The server configuration for these arguments, benchmark overrides applied."""
    config = ServerConfig(
        address=args.address,
        port=args.port,
        db=args.db,
        argon2=Argon2Params(args.argon2_time_cost, args.argon2_memory_kib, args.argon2_parallelism),
    )
    known = {f.name for f in dataclasses.fields(ServerConfig)}
    overrides = {k: v for k, v in BENCH_OVERRIDES.items() if k in known}
    return dataclasses.replace(config, **overrides)


async def _serve(config: ServerConfig) -> None:
    if not config.database.startswith("mysql://"):
        Path(config.database).parent.mkdir(parents=True, exist_ok=True)
    server = ChatServer(config)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
    print(f"listening {server.port}", flush=True)
    await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--argon2-time-cost", type=int, default=3)
    parser.add_argument("--argon2-memory-kib", type=int, default=65536)
    parser.add_argument("--argon2-parallelism", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(build_config(args)))


if __name__ == "__main__":
    main()
