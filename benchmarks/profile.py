"""Profile chat-server under the fan-out load with py-spy, and summarize the profile.

    python -m benchmarks.profile [--rate R] [--seconds 12] [--out /tmp/chat-profile]
    python -m benchmarks.profile --scenario storm --users 5000 --protocol 2 --seconds 15
    python -m benchmarks.profile --scenario connections --users 10000 --seconds 30
    python -m benchmarks.profile --summarize FILE.txt     # an existing raw profile

Runs one fan-out (chat-server, 100 members, 10 senders) and attaches
`py-spy record --nonblocking` to the server process for the measuring window. Writes
FILE.txt (collapsed stacks, "raw" format) and FILE.svg (flame graph), then prints
the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive). py-spy comes with the `bench` dependency group; attaching to a
process needs ptrace permission (root here).

`--scenario storm` profiles the restarted server from the moment it listens (the
reconnection storm with tokens); `--scenario connections` the server while
`--users` connections log in (after the warm-up).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import crowd, scenarios, servers
from benchmarks.common import log


def summarize(path: Path, top: int = 25) -> str:
    """Top functions by self and inclusive samples in a py-spy raw (collapsed) file."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        own[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            inclusive[name] += count
    lines = [f"{total} samples"]
    for title, counter in (("self", own), ("inclusive", inclusive)):
        lines.append(f"\ntop {top} by {title} samples:")
        for name, count in counter.most_common(top):
            lines.append(f"  {100 * count / max(total, 1):5.1f}%  {name}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`function (path/to/file.py:123)` -> `function (file.py)` (lines merged)."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if parts else file
    return f"{name} ({short})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=None, help="fixed msgs/s; default max")
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("/tmp/chat-profile"))
    parser.add_argument("--summarize", type=Path, default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--scenario", choices=["fanout", "storm", "connections"], default="fanout")
    parser.add_argument("--users", type=int, default=5000, help="storm, connections: how many")
    parser.add_argument("--protocol", type=int, choices=[1, 2], default=2)
    args = parser.parse_args(argv)
    if args.summarize is not None:
        print(summarize(args.summarize, args.top))
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        log("py-spy is missing: pip install py-spy (the bench dependency group)")
        return 2
    if args.scenario != "fanout":
        return crowd_profile(args, py_spy)
    result: dict[str, Any] = {}

    def load() -> None:
        result.update(
            scenarios.fanout(
                "chat", members=args.members, senders=10, seconds=args.seconds, rate=args.rate
            )
        )

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    pids: list[int] = []
    while not pids and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = [h.pid for h in servers.running("chat")]
    if not pids:
        log("the server did not start")
        return 1
    time.sleep(4.0)  # setup and settle; the load starts about 1.5 s after setup
    duration = max(1, int(args.seconds) - 3)
    raw = args.out.with_suffix(".txt")
    svg = args.out.with_suffix(".svg")
    log(f"profiling pid {pids[0]} for {duration} s")
    for fmt, path in (("raw", raw),):
        subprocess.run(
            [
                py_spy,
                "record",
                "--pid",
                str(pids[0]),
                "--duration",
                str(duration),
                "--rate",
                "250",
                "--nonblocking",
                "--format",
                fmt,
                "--output",
                str(path),
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            timeout=duration + 60,
        )
    thread.join(args.seconds + 180)
    if raw.exists():
        _flamegraph(raw, svg)
        print(summarize(raw, args.top))
    keys = ("msgs_per_s", "deliveries_per_s", "lost", "lat_p50_ms", "lat_p99_ms", "server_cpu_pct")
    print({k: result.get(k) for k in keys})
    return 0


# ------------------------------------------------------------------ crowd scenarios


def crowd_profile(args: argparse.Namespace, py_spy: str) -> int:
    """py-spy on the server of `storm` (the restarted one) or `connections`."""
    result: dict[str, Any] = {}

    def load() -> None:
        if args.scenario == "storm":
            result.update(crowd.storm(users=args.users, protocol=args.protocol))
        else:
            result.update(crowd.connections(count=args.users, protocol=args.protocol))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    # storm: the second server (the first one is stopped for the restart).
    wanted = 2 if args.scenario == "storm" else 1
    seen: list[int] = []
    deadline = time.monotonic() + 900
    while len(seen) < wanted and time.monotonic() < deadline and thread.is_alive():
        for handle in servers.running("chat"):
            if handle.pid not in seen:
                seen.append(handle.pid)
        time.sleep(0.005)
    if len(seen) < wanted:
        log("the server to profile did not start")
        return 1
    if args.scenario == "connections":
        time.sleep(4.0)  # the warm-up logins and the settling before the crowd
    raw = args.out.with_suffix(".txt")
    log(f"profiling pid {seen[-1]} for {int(args.seconds)} s")
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(seen[-1]),
            "--duration",
            str(int(args.seconds)),
            "--rate",
            "250",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        check=False,
        stdout=subprocess.DEVNULL,
        timeout=args.seconds + 60,
    )
    thread.join(1800)
    if raw.exists():
        _flamegraph(raw, raw.with_suffix(".svg"))
        print(summarize(raw, args.top))
    keys = ("storm_s", "logins_per_s", "login_s", "server_cpu_pct", "presence_bytes")
    print({k: result.get(k) for k in keys if k in result})
    return 0


def _flamegraph(raw: Path, svg: Path) -> None:
    """An SVG flame graph from the collapsed stacks, if flamegraph.pl is around."""
    tool = shutil.which("flamegraph.pl") or shutil.which("inferno-flamegraph")
    if tool is None:
        return
    with raw.open("rb") as source, svg.open("wb") as out:
        subprocess.run([tool], stdin=source, stdout=out, check=False, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
