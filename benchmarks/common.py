"""Small shared pieces: ports, process statistics, percentiles, results on disk."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
LOOPBACK = "127.0.0.1"  # the only address any benchmark ever talks to

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def raise_nofile(wanted: int) -> int:
    """Raise this process's open-files limit towards `wanted` (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3, utime field 14, stime field 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (from /proc/stat).

    Over a window, this minus the server's and the generator's CPU is what other work
    on the machine used (other engineers' test suites, for instance).
    """
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def proc_rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def self_cpu_seconds() -> float:
    """CPU seconds this process has used so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of already sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def latency_summary(samples_ns: list[int]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds, and the number of samples."""
    values = sorted(samples_ns)
    ms = 1e6
    return {
        "samples": len(values),
        "p50_ms": percentile(values, 50) / ms,
        "p95_ms": percentile(values, 95) / ms,
        "p99_ms": percentile(values, 99) / ms,
        "max_ms": (values[-1] / ms) if values else float("nan"),
    }


def median(values: Sequence[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return float("nan")
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class Deadline:
    """A monotonic deadline, so that every wait in the harness is bounded."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.at


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        out = subprocess.run(
            ["ngircd", "--version"], capture_output=True, text=True, timeout=5, check=False
        )
        info["ngircd"] = out.stdout.splitlines()[0] if out.stdout else None
    except (OSError, subprocess.SubprocessError):
        info["ngircd"] = None
    for module in ("msgspec", "uvloop", "aiosqlite", "argon2"):
        try:
            mod = __import__(module)
            info[module] = getattr(mod, "__version__", None)
        except ImportError:
            info[module] = None
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    return info


def write_result(record: dict[str, Any]) -> Path:
    """Append one JSON line for a run to benchmarks/out/<scenario>.jsonl."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}
    path = OUT_DIR / f"{record.get('scenario', 'run')}.jsonl"
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
    return path


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain text table of `columns` for `rows`."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            if value != value:  # NaN
                return "-"
            return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return "-" if value is None else str(value)

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells)
    return "\n".join(lines)


def log(message: str) -> None:
    """Progress on stderr (stdout is for the result tables)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
