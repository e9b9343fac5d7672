"""Plot latency against offered load for both servers from benchmarks/out/fanout.jsonl.

    python -m benchmarks.plot [--run-id ID[,ID...]] [--out benchmarks/latency.png]

Uses the fixed-rate fan-out records of one run id (by default the newest run id that
has fixed-rate records, as written by `python -m benchmarks.run sweep`): the median
over the runs at each offered load of the p50 (min–max as error bars) and the p99.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_DIR, OUT_DIR, median

STYLE = {"chat": ("chat-server (SQLite)", "tab:blue"), "ngircd": ("ngIRCd 26.1", "tab:orange")}


def load(path: Path, run_id: str | None) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("mode") == "fixed":
                records.append(record)
    if not records:
        raise SystemExit(f"no fixed-rate fan-out records in {path}: run `benchmarks.run sweep`")
    if run_id is None:
        run_id = max(str(r.get("run_id")) for r in records)
    wanted = set(run_id.split(","))
    chosen = [r for r in records if str(r.get("run_id")) in wanted]
    if not chosen:
        raise SystemExit(f"no fixed-rate records with run id {run_id}")
    return chosen


def _buffer_label(record: dict[str, Any]) -> str:
    # Records written before the option existed used 4 MiB buffers.
    rcvbuf = record.get("rcvbuf", 4 * 1024 * 1024)
    if not rcvbuf:
        return "client sockets: kernel buffer autotuning (default)"
    return f"client sockets: fixed SO_RCVBUF {rcvbuf // (1024 * 1024)} MiB"


def plot(records: list[dict[str, Any]], out: Path) -> None:
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    # The default (autotuning) first.
    panels = sorted({_buffer_label(r) for r in records}, key=lambda p: "fixed" in p)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(7 * len(panels), 5), dpi=110, sharey=True, squeeze=False
    )
    for ax, panel in zip(axes[0], panels, strict=True):
        chosen = [r for r in records if _buffer_label(r) == panel]
        _panel(ax, chosen)
        ax.set_title(panel, fontsize=10)
    first = records[0]
    fig.suptitle(
        f"Fan-out latency against offered load\n{first['members']} members, "
        f"{first['senders']} senders, 64-byte messages, loopback, "
        f"{first.get('machine', {}).get('nproc', '?')} cores"
    )
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def _count(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}–{high}"


def _panel(ax: Any, records: list[dict[str, Any]]) -> None:
    for server in sorted({r["server"] for r in records}):
        label, color = STYLE.get(server, (server, None))
        rates = sorted({float(r["offered_rate"]) for r in records if r["server"] == server})
        p50, low, high, p99 = [], [], [], []
        counts = []
        for rate in rates:
            runs = [r for r in records if r["server"] == server and r["offered_rate"] == rate]
            counts.append(len(runs))
            values = [float(r["lat_p50_ms"]) for r in runs]
            p50.append(median(values))
            low.append(p50[-1] - min(values))
            high.append(max(values) - p50[-1])
            p99.append(median([float(r["lat_p99_ms"]) for r in runs]))
        ax.errorbar(
            rates,
            p50,
            yerr=[low, high],
            marker="o",
            color=color,
            capsize=3,
            label=f"{label}: median (bars: min–max of {_count(counts)} runs)",
        )
        ax.plot(rates, p99, marker="^", linestyle="--", color=color, label=f"{label}: p99")
    ax.set_xlabel("offered load (messages/s into the room, over 10 senders)")
    ax.set_ylabel("delivery latency (ms), log scale")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", default=None, help="one or more, comma-separated")
    parser.add_argument("--input", type=Path, default=OUT_DIR / "fanout.jsonl")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "latency.png")
    args = parser.parse_args(argv)
    plot(load(args.input, args.run_id), args.out)


if __name__ == "__main__":
    main()
