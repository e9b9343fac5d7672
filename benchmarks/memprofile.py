"""What an idle logged-in connection costs chat-server in memory, and what it is made of.

    python -m benchmarks.memprofile [--connections 5000] [--protocol 2] [--top 20]

Runs chat-server (the same command line as every scenario) under `tracemalloc`,
through `python -m benchmarks.memprofile serve CHAT-SERVER-OPTIONS...`: that wrapper
starts tracing, and on SIGUSR1 writes a snapshot of the traced allocations and a
census of the objects the garbage collector knows (count and `sys.getsizeof` by
type) to the directory named by CHAT_BENCH_MEMPROFILE_DIR. The driver logs in
`--connections` members of Général with session tokens (as the `connections`
scenario does), takes a snapshot before, one `--settle` seconds after, and one
after the server's login timeout has passed (a per-connection timer lives until
then), and prints, per connection: RSS, traced bytes, the allocation sites that
grew most, and the object types that grew most.

Tracing slows the server and adds its own bookkeeping to RSS: read the RSS
figures of the `connections` scenario, and this for the shares.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

SNAP_ENV = "CHAT_BENCH_MEMPROFILE_DIR"  # CHAT_BENCH_*: never taken for a setting
DEPTH_ENV = "CHAT_BENCH_MEMPROFILE_DEPTH"


# ------------------------------------------------------------ inside the server


def _census() -> dict[str, list[int]]:
    """Count and shallow bytes of the objects the collector tracks, by type."""
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for obj in gc.get_objects():
        kind = type(obj)
        name = f"{kind.__module__}.{kind.__qualname__}"
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    return {name: [counts[name], sizes[name]] for name in counts}


def serve(argv: list[str]) -> None:
    """Run chat-server's command line (`argv`) with tracemalloc and a SIGUSR1 dump."""
    directory = Path(os.environ[SNAP_ENV])
    tracemalloc.start(int(os.environ.get(DEPTH_ENV, "1")))
    taken = 0

    def dump(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        gc.collect()
        tracemalloc.take_snapshot().dump(str(directory / f"{taken}.snap"))
        (directory / f"{taken}.census.json").write_text(json.dumps(_census()))
        (directory / f"{taken}.done").touch()

    signal.signal(signal.SIGUSR1, dump)
    from chat_srv.cli import main as chat_server

    sys.argv = ["chat-server", *argv]
    chat_server()


# ------------------------------------------------------------------- the driver


def _snapshot(pid: int, directory: Path, number: int) -> tuple[Any, dict[str, list[int]]]:
    os.kill(pid, signal.SIGUSR1)
    done = directory / f"{number}.done"
    deadline = time.monotonic() + 120
    while not done.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the server wrote no snapshot in 120 s")
        time.sleep(0.1)
    snapshot = tracemalloc.Snapshot.load(str(directory / f"{number}.snap"))
    census = json.loads((directory / f"{number}.census.json").read_text())
    return snapshot, census


def _sites(before: Any, after: Any, per: int, top: int) -> list[dict[str, Any]]:
    """The allocation sites that grew most, in bytes and blocks per connection."""
    rows = []
    for stat in after.compare_to(before, "lineno")[:top]:
        frame = stat.traceback[0]
        parts = Path(frame.filename).parts
        rows.append(
            {
                "site": f"{'/'.join(parts[-2:])}:{frame.lineno}",
                "bytes_per_conn": stat.size_diff / per,
                "blocks_per_conn": stat.count_diff / per,
            }
        )
    return rows


def _types(
    before: dict[str, list[int]], after: dict[str, list[int]], per: int, top: int
) -> list[dict[str, Any]]:
    """The object types that grew most (shallow `sys.getsizeof`), per connection."""
    rows: list[dict[str, Any]] = []
    for name, (count, size) in after.items():
        count0, size0 = before.get(name, [0, 0])
        rows.append(
            {
                "type": name,
                "objects_per_conn": (count - count0) / per,
                "bytes_per_conn": (size - size0) / per,
            }
        )
    rows.sort(key=lambda r: -abs(float(r["bytes_per_conn"])))
    return rows[:top]


def profile(
    *, connections: int, protocol: int, workers: int, settle: float, top: int, depth: int
) -> dict[str, Any]:
    """Log in `connections` idle members of Général under tracemalloc; what grew."""
    from benchmarks import crowd
    from benchmarks.common import BENCH_DIR, log, proc_rss_kib
    from benchmarks.scenarios import run_async
    from benchmarks.servers import CHEAP_ARGON2, SOURCE_ENV, start_chat, workdir

    nofile = crowd._fd_limit()
    result: dict[str, Any] = {"connections": connections, "protocol": protocol}
    with workdir("memprofile") as directory:
        snaps = directory / "snapshots"
        snaps.mkdir()
        credentials = crowd.prepare(
            directory / "chat.db", connections + crowd.WARM_UP_USERS, CHEAP_ARGON2, tokens=True
        )
        warm, users = credentials[: crowd.WARM_UP_USERS], credentials[crowd.WARM_UP_USERS :]
        # The server's code from CHAT_BENCH_SOURCE when given (as every scenario
        # runs it), the wrapper from this checkout.
        paths = [os.environ[SOURCE_ENV]] if os.environ.get(SOURCE_ENV) else []
        env = {
            "PYTHONPATH": os.pathsep.join([*paths, str(BENCH_DIR.parent)]),
            SNAP_ENV: str(snaps),
            DEPTH_ENV: str(depth),
        }
        handle = start_chat(
            directory,
            command_base=[sys.executable, "-m", "benchmarks.memprofile", "serve"],
            env_extra=env,
        )
        pool = crowd.CrowdPool(workers, nofile)
        try:
            run_async(crowd._warm_up(handle.port, warm, protocol))
            time.sleep(settle)
            rss0 = proc_rss_kib(handle.pid)
            snap0, census0 = _snapshot(handle.pid, snaps, 1)
            replies = pool.ask_all(
                [
                    {
                        "cmd": "login",
                        "port": handle.port,
                        "users": share,
                        "protocol": protocol,
                        "concurrency": 32,
                        "seconds": 900.0,
                    }
                    for share in crowd._shares(users, workers)
                ],
                timeout=1000,
            )
            ready = sum(int(r["logged_in"]) for r in replies)
            log(f"memprofile: {ready} connections logged in")
            time.sleep(settle)
            rss1 = proc_rss_kib(handle.pid)
            snap1, census1 = _snapshot(handle.pid, snaps, 2)
            # The login timer of each connection (30 s after it connected) is gone now.
            time.sleep(35.0)
            rss2 = proc_rss_kib(handle.pid)
            snap2, census2 = _snapshot(handle.pid, snaps, 3)
        finally:
            pool.close()
            handle.stop()
    traced = [sum(s.size for s in snap.statistics("filename")) for snap in (snap0, snap1, snap2)]
    result.update(
        {
            "ready": ready,
            "rss_kib": [rss0, rss1, rss2],
            "rss_per_conn": [(rss1 - rss0) * 1024 / ready, (rss2 - rss0) * 1024 / ready],
            "traced_bytes": traced,
            "traced_per_conn": [(traced[1] - traced[0]) / ready, (traced[2] - traced[0]) / ready],
            "sites_settled": _sites(snap0, snap1, ready, top),
            "sites_later": _sites(snap0, snap2, ready, top),
            "types_settled": _types(census0, census1, ready, top),
            "types_later": _types(census0, census2, ready, top),
        }
    )
    return result


def _print(result: dict[str, Any]) -> None:
    n = result["ready"]
    rss, traced = result["rss_kib"], result["traced_bytes"]
    print(f"{n:,} connections, protocol {result['protocol']}")
    print(f"RSS (under tracemalloc) KiB: before {rss[0]:,}, settled {rss[1]:,}, later {rss[2]:,}")
    for label, i in (("settled", 0), ("after the login timeout", 1)):
        print(
            f"per connection, {label}: RSS {result['rss_per_conn'][i]:,.0f} B,"
            f" traced {result['traced_per_conn'][i]:,.0f} B"
        )
    del traced
    for key, title in (
        ("sites_later", "allocation sites, after the login timeout"),
        ("sites_settled", "allocation sites, settled"),
    ):
        print(f"\n{title} (bytes / blocks per connection):")
        for row in result[key]:
            print(f"  {row['bytes_per_conn']:8.1f} {row['blocks_per_conn']:6.2f}  {row['site']}")
    for key, title in (
        ("types_later", "object types, after the login timeout"),
        ("types_settled", "object types, settled"),
    ):
        print(f"\n{title} (shallow bytes / objects per connection):")
        for row in result[key]:
            print(f"  {row['bytes_per_conn']:8.1f} {row['objects_per_conn']:6.2f}  {row['type']}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        serve(args[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--protocol", type=int, choices=[1, 2], default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--depth", type=int, default=1, help="traceback frames kept")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    options = parser.parse_args(args)
    result = profile(
        connections=options.connections,
        protocol=options.protocol,
        workers=options.workers,
        settle=options.settle,
        top=options.top,
        depth=options.depth,
    )
    _print(result)
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
