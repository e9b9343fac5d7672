"""Plot latency against offered load for both servers from benchmarks/out/fanout.jsonl.

    python -m benchmarks.plot [--run-id ID[,ID...]] [--out benchmarks/latency.png]
    python -m benchmarks.plot --connections [--run-id ID] [--out benchmarks/connections.png]
    python -m benchmarks.plot --sizes [--run-id ID] [--out benchmarks/sizes.png]

The latency plot uses the fixed-rate fan-out records of one run id (by default the
newest run id that has fixed-rate records, as written by `python -m benchmarks.run
sweep`): the median
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


# -------------------------------------------------------------------- connections


def load_connections(path: Path, run_id: str | None) -> list[dict[str, Any]]:
    """The `connections` records of one or more run ids (default: the newest)."""
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    if not records:
        raise SystemExit(f"no records in {path}: run `benchmarks.run connections`")
    if run_id is None:
        run_id = max(str(r.get("run_id")) for r in records)
    wanted = set(run_id.split(","))
    chosen = [r for r in records if str(r.get("run_id")) in wanted]
    if not chosen:
        raise SystemExit(f"no connections records with run id {run_id}")
    return chosen


def _series(
    records: list[dict[str, Any]], key: str, scale: float = 1.0, group: str = "connections"
) -> tuple[list[int], list[float], list[list[float]]]:
    """Median and min–max distances of `key` at each value of `group`."""
    counts = sorted({int(r[group]) for r in records})
    mid, spread_low, spread_high = [], [], []
    for count in counts:
        values = [float(r[key]) * scale for r in records if int(r[group]) == count]
        mid.append(median(values))
        spread_low.append(mid[-1] - min(values))
        spread_high.append(max(values) - mid[-1])
    return counts, mid, [spread_low, spread_high]


def _source(record: dict[str, Any]) -> str:
    machine = record.get("machine", {})
    source = machine.get("chat_source")
    commit = machine.get("chat_commit")
    if source in (None, "installed"):
        return f"chat-server {commit or ''}".strip()
    return f"chat-server from {Path(str(source)).name} (CHAT_BENCH_SOURCE)"


def plot_connections(records: list[dict[str, Any]], out: Path) -> None:
    """Server memory, login time and one message's delivery time against connections,
    one series per server code measured (`CHAT_BENCH_SOURCE` runs apart)."""
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    fig, (memory, times) = plt.subplots(1, 2, figsize=(13, 5.5), dpi=110)
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(_source(record), []).append(record)
    all_counts = sorted({int(r["connections"]) for r in records})
    for number, (label, chosen) in enumerate(groups.items()):
        style = "-" if number == 0 else "--"
        counts, kib, bars = _series(chosen, "kib_per_conn")
        memory.errorbar(
            counts,
            kib,
            yerr=bars,
            marker="s",
            capsize=3,
            linestyle=style,
            label=f"{label}: KiB per connection (RSS)",
        )
        if all(r.get("kib_per_conn_later") is not None for r in chosen):
            counts, kib, bars = _series(chosen, "kib_per_conn_later")
            memory.errorbar(
                counts,
                kib,
                yerr=bars,
                marker="D",
                capsize=3,
                linestyle=":",
                label=f"{label}: the same, after the 30 s login timeout",
            )
        counts, login, bars = _series(chosen, "login_s")
        times.errorbar(
            counts,
            login,
            yerr=bars,
            marker="o",
            capsize=3,
            linestyle=style,
            label=f"{label}: log them all in (s)",
        )
        counts, delivery, bars = _series(chosen, "delivery_ms", 1 / 1000)
        times.errorbar(
            counts,
            delivery,
            yerr=bars,
            marker="^",
            capsize=3,
            linestyle=style,
            label=f"{label}: one room message to all (s)",
        )
    memory.axhline(2.5, color="tab:red", linestyle=":", label="target 2.5 KiB")
    memory.set_ylim(0, None)
    memory.set_ylabel("KiB of server RSS per idle logged-in connection")
    memory.set_title("memory", fontsize=10)
    times.set_yscale("log")
    times.set_ylabel("seconds, log scale")
    times.set_title("time", fontsize=10)
    for ax in (memory, times):
        ax.set_xscale("log")
        ax.set_xticks(all_counts, [f"{c:,}" for c in all_counts])
        ax.minorticks_off()
        ax.set_xlabel("idle logged-in connections, all members of one room")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    runs = len({(r.get("run_id"), r.get("round")) for r in records})
    first = records[0]
    fig.suptitle(
        f"chat-server with many connections: protocol {first.get('protocol')}, session-token"
        f" logins, median of the runs (bars min–max; {runs} rounds in all)\nloopback,"
        f" {first.get('machine', {}).get('nproc', '?')} cores shared with the clients"
    )
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


# -------------------------------------------------------------------- room sizes


def load_sizes(path: Path, run_id: str | None) -> list[dict[str, Any]]:
    """The maximum-rate fan-out records of one or more run ids of `benchmarks.run
    sizes` (default: the newest run id with more than one room size)."""
    with path.open(encoding="utf-8") as f:
        records = [r for r in map(json.loads, f) if r.get("mode") == "max"]
    if run_id is None:
        sizes_by_run: dict[str, set[int]] = {}
        for r in records:
            sizes_by_run.setdefault(str(r.get("run_id")), set()).add(int(r["members"]))
        runs = [run for run, sizes in sizes_by_run.items() if len(sizes) > 1]
        if not runs:
            raise SystemExit(f"no run of several room sizes in {path}: run `benchmarks.run sizes`")
        run_id = max(runs)
    wanted = set(run_id.split(","))
    chosen = [r for r in records if str(r.get("run_id")) in wanted]
    if not chosen:
        raise SystemExit(f"no maximum-rate records with run id {run_id}")
    return chosen


def plot_sizes(records: list[dict[str, Any]], out: Path) -> None:
    """Messages/s (and deliveries/s) at maximum rate against room size, both servers."""
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    fig, (messages, deliveries) = plt.subplots(1, 2, figsize=(13, 5.5), dpi=110)
    sizes = sorted({int(r["members"]) for r in records})
    for server in sorted({str(r["server"]) for r in records}):
        label, color = STYLE.get(server, (server, None))
        mine = [r for r in records if r["server"] == server]
        for ax, key in ((messages, "msgs_per_s"), (deliveries, "deliveries_per_s")):
            counts, mid, bars = _series(mine, key, group="members")
            ax.errorbar(counts, mid, yerr=bars, marker="o", capsize=3, color=color, label=label)
    messages.set_ylabel("messages/s sent and delivered to every member, log scale")
    deliveries.set_ylabel("deliveries/s (messages/s × members), log scale")
    for ax in (messages, deliveries):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("members of the room (senders: min(10, members))")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    runs = len({(r.get("run_id"), r.get("round")) for r in records})
    fig.suptitle(
        "One room at maximum rate: median of the rounds (bars min–max;"
        f" {runs} round{'' if runs == 1 else 's'} in all), loopback,"
        f" {records[0].get('machine', {}).get('nproc', '?')} cores shared with the clients"
    )
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-id", default=None, help="one or more, comma-separated")
    parser.add_argument("--input", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--connections", action="store_true", help="connections.png from the connections scenario"
    )
    parser.add_argument("--sizes", action="store_true", help="sizes.png from the sizes scenario")
    args = parser.parse_args(argv)
    if args.sizes:
        source = args.input or OUT_DIR / "fanout.jsonl"
        plot_sizes(load_sizes(source, args.run_id), args.out or BENCH_DIR / "sizes.png")
        return
    if args.connections:
        source = args.input or OUT_DIR / "connections.jsonl"
        plot_connections(
            load_connections(source, args.run_id), args.out or BENCH_DIR / "connections.png"
        )
        return
    source = args.input or OUT_DIR / "fanout.jsonl"
    plot(load(source, args.run_id), args.out or BENCH_DIR / "latency.png")


if __name__ == "__main__":
    main()
