"""Command line of the benchmark harness.

    python -m benchmarks.run fanout --server chat|ngircd|both --members 100 --senders 10 \\
        --seconds 10 [--rate R] [--runs 5]
    python -m benchmarks.run sweep --rates 2000,8100,16300 --server both --runs 3
    python -m benchmarks.run sizes --sizes 2,10,100,500 --server both --runs 3
    python -m benchmarks.run idle --server both --connections 5000
    python -m benchmarks.run history --db sqlite|mysql|both
    python -m benchmarks.run search --db sqlite|mysql|both [--messages N]
    python -m benchmarks.run login [--params cheap|default|both]
    python -m benchmarks.run storm --users 5000 --protocol 1|2|both [--auth token|password]
    python -m benchmarks.run connections --connections 1000,2000,5000,10000,20000
    python -m benchmarks.run cluster --nodes plain,1,2,3 --rates max,1000,3000 --runs 3
    python -m benchmarks.run counter --writers 1,3 --batches 1,10,100 --runs 3
    python -m benchmarks.run all [--quick]

Each run appends one JSON line to benchmarks/out/<scenario>.jsonl; a summary table
goes to stdout. With `--server both`, every round runs both servers, alternating
which goes first, and ratios are taken within each round.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from benchmarks import cluster, counter, crowd, scenarios, servers
from benchmarks.common import log, machine_info, median, table, write_result

FANOUT_COLUMNS = [
    "round",
    "server",
    "mode",
    "offered_rate",
    "msgs_per_s",
    "deliveries_per_s",
    "lost",
    "lat_p50_ms",
    "lat_p95_ms",
    "lat_p99_ms",
    "server_cpu_pct",
    "gen_cpu_pct",
    "other_cpu_pct",
]


def _servers(choice: str) -> list[str]:
    servers = ["chat", "ngircd"] if choice == "both" else [choice]
    if "ngircd" in servers and shutil.which("ngircd") is None:
        log("ngircd is not installed (apt-get install ngircd): skipping it")
        servers.remove("ngircd")
    return servers


def _record(record: dict[str, Any], run_id: str, round_no: int, machine: dict[str, Any]) -> None:
    record["run_id"] = run_id
    record["round"] = round_no
    record["machine"] = machine
    # Other work on the machine shows here (the 1-minute load average covers the run).
    with open("/proc/loadavg", encoding="ascii") as f:
        record["loadavg_1m"] = float(f.read().split()[0])
    path = write_result(record)
    log(f"{record['scenario']} {record.get('server')}: recorded in {path}")


def _spread(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"

    def fmt(v: float) -> str:
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"

    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} [{fmt(min(values))}–{fmt(max(values))}]"


def summarize(records: list[dict[str, Any]], metrics: list[str], ratio: str | None = None) -> str:
    """Median [min–max] per server of each metric; the within-round ratio chat/ngircd."""
    rows: list[dict[str, Any]] = []
    by_server: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_server.setdefault(str(record.get("server")), []).append(record)
    for server, recs in by_server.items():
        row: dict[str, Any] = {"server": server, "runs": len(recs)}
        for metric in metrics:
            row[metric] = _spread([float(r[metric]) for r in recs if r.get(metric) is not None])
        rows.append(row)
    text = table(rows, ["server", "runs", *metrics])
    if ratio and {"chat", "ngircd"} <= by_server.keys():
        ratios = []
        rounds = {r["round"] for r in records}
        for round_no in sorted(rounds):
            pair = {r["server"]: r for r in records if r["round"] == round_no}
            if {"chat", "ngircd"} <= pair.keys() and pair["ngircd"].get(ratio):
                ratios.append(float(pair["chat"][ratio]) / float(pair["ngircd"][ratio]))
        text += f"\nchat/ngircd {ratio}, per round: {_spread(ratios)}"
    return text


def rounds(
    servers: list[str],
    runs: int,
    one: Callable[[str], dict[str, Any]],
    run_id: str,
    machine: dict[str, Any],
) -> list[dict[str, Any]]:
    """`runs` rounds over `servers`, alternating their order from round to round."""
    records = []
    for round_no in range(runs):
        order = servers if round_no % 2 == 0 else list(reversed(servers))
        for server in order:
            log(f"round {round_no + 1}/{runs}: {server}")
            record = one(server)
            _record(record, run_id, round_no, machine)
            records.append(record)
            lost = record.get("lost")
            if lost:
                log(f"  LOST {lost} deliveries; closed: {record.get('closed')}")
    return records


def _fanout(args: argparse.Namespace, server: str, **options: Any) -> dict[str, Any]:
    """One fan-out run with the command line's options, `options` overriding them."""
    given = {
        "members": args.members,
        "senders": args.senders,
        "seconds": args.seconds,
        "workers": args.workers,
        "batch": args.batch,
        "rcvbuf": args.rcvbuf,
    }
    return scenarios.fanout(server, **(given | options))


def cmd_fanout(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    def one(server: str) -> dict[str, Any]:
        return _fanout(args, server, rate=args.rate, window=args.window)

    records = rounds(_servers(args.server), args.runs, one, run_id, machine)
    print(table(records, FANOUT_COLUMNS))
    print()
    print(
        summarize(
            records,
            [
                "deliveries_per_s",
                "lost",
                "lat_p50_ms",
                "lat_p99_ms",
                "server_cpu_pct",
                "gen_cpu_pct",
                "other_cpu_pct",
            ],
            ratio="deliveries_per_s" if args.rate is None else "lat_p50_ms",
        )
    )
    return records


def cmd_sweep(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """Fixed offered loads, for the latency plot."""
    rates = [float(r) for r in args.rates.split(",")]
    records: list[dict[str, Any]] = []
    for rate in rates:
        log(f"sweep: offered {rate:,.0f} msgs/s")

        def one(server: str, rate: float = rate) -> dict[str, Any]:
            return _fanout(args, server, rate=rate)

        records.extend(rounds(_servers(args.server), args.runs, one, run_id, machine))
    print(table(records, FANOUT_COLUMNS))
    for rate in rates:
        print(f"\noffered {rate:,.0f} msgs/s")
        print(
            summarize(
                [r for r in records if r["offered_rate"] == rate],
                [
                    "msgs_per_s",
                    "lost",
                    "lat_p50_ms",
                    "lat_p99_ms",
                    "server_cpu_pct",
                    "other_cpu_pct",
                ],
                ratio="lat_p50_ms",
            )
        )
    return records


def cmd_sizes(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """Maximum rate at several room sizes, for the room-size plot."""
    sizes = [int(size) for size in args.sizes.split(",")]
    records: list[dict[str, Any]] = []
    for members in sizes:
        senders = min(args.senders, members)
        log(f"sizes: {members} members, {senders} senders")

        def one(server: str, members: int = members, senders: int = senders) -> dict[str, Any]:
            return _fanout(args, server, members=members, senders=senders, window=args.window)

        records.extend(rounds(_servers(args.server), args.runs, one, run_id, machine))
    print(table(records, ["members", *FANOUT_COLUMNS]))
    for members in sizes:
        print(f"\n{members} members")
        print(
            summarize(
                [r for r in records if r["members"] == members],
                ["msgs_per_s", "deliveries_per_s", "lost", "server_cpu_pct", "other_cpu_pct"],
                ratio="msgs_per_s",
            )
        )
    return records


def cmd_idle(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    def one(server: str) -> dict[str, Any]:
        return scenarios.idle(server, connections=args.connections, workers=args.workers)

    records = rounds(_servers(args.server), args.runs, one, run_id, machine)
    columns = ["round", "server", "connections", "ready", "rss_before_kib", "rss_after_kib"]
    print(table(records, [*columns, "kib_per_conn", "login_seconds"]))
    print()
    print(summarize(records, ["kib_per_conn"], ratio="kib_per_conn"))
    return records


def _mysql_reachable() -> bool:
    try:
        url = urlsplit(servers.MYSQL_URL)
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 3306), timeout=1):
            return True
    except OSError:
        return False


def cmd_history(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    dbs = ["sqlite", "mysql"] if args.db == "both" else [args.db]
    if "mysql" in dbs and not _mysql_reachable():
        log(f"no MySQL/MariaDB at {servers.MYSQL_URL}: skipping the mysql run")
        dbs.remove("mysql")
    records = []
    for round_no in range(args.runs):
        for db in dbs:
            record = scenarios.history(db, messages=args.messages, requests=args.requests)
            _record(record, run_id, round_no, machine)
            records.append(record)
    columns = ["round", "db", "messages", "requests", "bad_pages", "login_ms"]
    print(table(records, [*columns, "lat_p50_ms", "lat_p95_ms", "lat_p99_ms", "lat_max_ms"]))
    return records


def cmd_search(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    dbs = ["sqlite", "mysql"] if args.db == "both" else [args.db]
    if "mysql" in dbs and not _mysql_reachable():
        log(f"no MySQL/MariaDB at {servers.MYSQL_URL}: skipping the mysql run")
        dbs.remove("mysql")
    records = []
    for round_no in range(args.runs):
        for db in dbs:
            record = scenarios.search(
                db, messages=args.messages, requests=args.requests, seconds=args.seconds
            )
            _record(record, run_id, round_no, machine)
            records.append(record)
    rows = [{"round": r["round"], "db": r["db"], **kind} for r in records for kind in r["kinds"]]
    columns = ["round", "db", "kind", "answered", "errors", "mean_found"]
    print(table(rows, [*columns, "lat_p50_ms", "lat_p99_ms", "lat_max_ms"]))
    return records


def cmd_login(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    params = ["default", "cheap"] if args.params == "both" else [args.params]
    records = []
    for round_no in range(args.runs):
        for p in params:
            record = scenarios.login(params=p, seconds=args.seconds, concurrency=args.concurrency)
            _record(record, run_id, round_no, machine)
            records.append(record)
    columns = ["round", "argon2", "concurrency", "logins", "failures", "logins_per_s"]
    print(table(records, [*columns, "lat_p50_ms", "lat_p99_ms", "server_cpu_pct"]))
    return records


def cmd_all(args: argparse.Namespace, run_id: str, machine: dict[str, Any]) -> list[dict[str, Any]]:
    quick = args.quick
    common = {"server": "both", "workers": 2, "batch": 16, "window": 128, "rcvbuf": None}
    steps: list[tuple[str, Callable[..., list[dict[str, Any]]], dict[str, Any]]] = [
        (
            "fan-out, max rate",
            cmd_fanout,
            {
                **common,
                "members": 100,
                "senders": 10,
                "seconds": 3 if quick else 10,
                "rate": None,
                "runs": 1,
            },
        ),
        (
            "fan-out, fixed 8,100 msgs/s",
            cmd_fanout,
            {
                **common,
                "members": 100,
                "senders": 10,
                "seconds": 3 if quick else 10,
                "rate": 8100.0,
                "runs": 1,
            },
        ),
        (
            "idle connections",
            cmd_idle,
            {"server": "both", "connections": 500 if quick else 5000, "workers": 2, "runs": 1},
        ),
        (
            "history pages",
            cmd_history,
            {
                "db": "sqlite" if quick else "both",
                "messages": 100_000 if quick else 1_000_000,
                "requests": 200 if quick else 1000,
                "runs": 1,
            },
        ),
        (
            "logins",
            cmd_login,
            {"params": "both", "seconds": 3 if quick else 10, "concurrency": 8, "runs": 1},
        ),
    ]
    steps.extend(crowd_steps(quick))
    records: list[dict[str, Any]] = []
    for title, command, options in steps:
        print(f"\n== {title} ==")
        records.extend(command(argparse.Namespace(**options), run_id, machine))
    return records


# ------------------------------------------- crowds: reconnection storm, connections


def _by_variant(
    records: list[dict[str, Any]], key: str, metrics: list[str], label: str | None = None
) -> str:
    """Median [min–max] of each metric over the runs of each value of `key`."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(record.get(key), []).append(record)
    rows = []
    for value, recs in groups.items():
        row: dict[str, Any] = {label or key: value, "runs": len(recs)}
        for metric in metrics:
            row[metric] = _spread([float(r[metric]) for r in recs if r.get(metric) is not None])
        rows.append(row)
    return table(rows, [label or key, "runs", *metrics])


STORM_COLUMNS = [
    "round",
    "protocol",
    "users",
    "logged_in",
    "storm_s",
    "logins_per_s",
    "login_p50_ms",
    "login_p99_ms",
    "server_cpu_pct",
    "gen_cpu_pct",
    "presence_frames",
    "presence_bytes",
    "presence_frames_per_client",
    "presence_kib_per_client",
]
PASSWORD_STORM_COLUMNS = [
    "round",
    "users",
    "first_ok",
    "first_rate_limited",
    "first_other",
    "retry_after_ms_median",
    "logged_in",
    "attempts",
    "all_in_s",
    "rss_before_kib",
    "rss_peak_kib",
    "peak_extra_mib",
    "server_cpu_pct",
]


def cmd_storm(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """Everyone back at once after a restart (tokens), or a crowd of password logins."""
    records: list[dict[str, Any]] = []
    if args.auth == "password":
        for round_no in range(args.runs):
            log(f"round {round_no + 1}/{args.runs}: password storm")
            record = crowd.password_storm(
                users=args.users or 200, workers=args.workers, retry=not args.no_retry
            )
            _record(record, run_id, round_no, machine)
            records.append(record)
        print(table(records, PASSWORD_STORM_COLUMNS))
        print()
        print(_by_variant(records, "users", PASSWORD_STORM_COLUMNS[2:]))
        return records
    protocols = [1, 2] if args.protocol == "both" else [int(args.protocol)]
    for round_no in range(args.runs):
        order = protocols if round_no % 2 == 0 else list(reversed(protocols))
        for protocol in order:
            log(f"round {round_no + 1}/{args.runs}: storm, protocol {protocol}")
            record = crowd.storm(
                users=args.users or 5000,
                protocol=protocol,
                workers=args.workers,
                concurrency=args.concurrency,
                seconds=args.seconds,
            )
            _record(record, run_id, round_no, machine)
            records.append(record)
            if record["logged_in"] < record["users"]:
                log(f"  only {record['logged_in']} of {record['users']} logged in")
    print(table(records, STORM_COLUMNS))
    print()
    print(_by_variant(records, "protocol", STORM_COLUMNS[3:]))
    return records


CONNECTIONS_COLUMNS = [
    "round",
    "protocol",
    "connections",
    "ready",
    "login_s",
    "logins_per_s",
    "rss_before_kib",
    "rss_after_kib",
    "kib_per_conn",
    "kib_per_conn_later",
    "lost",
    "delivery_ms",
    "delivery_max_ms",
    "ack_ms",
]


def cmd_connections(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """K idle logged-in connections in one room: memory, login time, one message to all."""
    counts = [int(c) for c in str(args.connections).split(",")]
    records: list[dict[str, Any]] = []
    for round_no in range(args.runs):
        for count in counts:
            log(f"round {round_no + 1}/{args.runs}: {count:,} connections")
            record = crowd.connections(
                count=count,
                protocol=args.protocol,
                workers=args.workers,
                concurrency=args.concurrency,
                messages=args.messages,
                later=args.later,
            )
            _record(record, run_id, round_no, machine)
            records.append(record)
    print(table(records, CONNECTIONS_COLUMNS))
    print()
    print(_by_variant(records, "connections", CONNECTIONS_COLUMNS[3:]))
    return records


def crowd_parsers(sub: Any) -> None:
    """The `storm` and `connections` subcommands."""
    p = sub.add_parser("storm", help="everyone logs in again at once after a restart")
    p.add_argument("--users", type=int, default=None, help="5000 (token), 200 (password)")
    p.add_argument("--protocol", choices=["1", "2", "both"], default="both")
    p.add_argument(
        "--auth",
        choices=["token", "password"],
        default="token",
        help="token: the restart storm; password: a crowd of password logins at once",
    )
    p.add_argument("--no-retry", action="store_true", help="password: one attempt each")
    p.add_argument("--workers", type=int, default=2, help="client processes")
    p.add_argument(
        "--concurrency", type=int, default=0, help="logins in flight per worker (0: all at once)"
    )
    p.add_argument("--seconds", type=float, default=300.0, help="the storm's time limit")
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("connections", help="K idle logged-in connections in one room")
    p.add_argument("--connections", default="1000,2000,5000,10000,20000")
    p.add_argument("--protocol", type=int, choices=[1, 2], default=2)
    p.add_argument("--workers", type=int, default=2, help="client processes")
    p.add_argument("--concurrency", type=int, default=32, help="logins in flight per worker")
    p.add_argument("--messages", type=int, default=5, help="room messages sent to all")
    p.add_argument(
        "--later",
        type=float,
        default=35.0,
        help="also read RSS this long after the logins, past the login timeout (0: no)",
    )
    p.add_argument("--runs", type=int, default=1)


def crowd_steps(
    quick: bool,
) -> list[tuple[str, Callable[..., list[dict[str, Any]]], dict[str, Any]]]:
    """The crowd scenarios in `all` (short ones with `--quick`)."""
    storm = {"workers": 2, "concurrency": 0, "seconds": 120.0 if quick else 300.0, "runs": 1}
    return [
        (
            "reconnection storm (tokens)",
            cmd_storm,
            {
                **storm,
                "auth": "token",
                "users": 300 if quick else 5000,
                "protocol": "both",
                "no_retry": False,
            },
        ),
        (
            "password storm",
            cmd_storm,
            {
                **storm,
                "auth": "password",
                "users": 40 if quick else 200,
                "protocol": "2",
                "no_retry": False,
            },
        ),
        (
            "connections",
            cmd_connections,
            {
                "connections": "300,600" if quick else "1000,5000,20000",
                "protocol": 2,
                "workers": 2,
                "concurrency": 32,
                "messages": 3 if quick else 5,
                "later": 0.0 if quick else 35.0,
                "runs": 1,
            },
        ),
    ]


# --------------------------------------- cluster: nodes on MySQL, the counter row

CLUSTER_COLUMNS = [
    "round",
    "setup",
    "mode",
    "offered_rate",
    "msgs_per_s",
    "deliveries_per_s",
    "lost",
    "lat_p50_ms",
    "lat_p99_ms",
    "server_cpu_pct",
    "mysql_cpu_pct",
    "redis_cpu_pct",
    "gen_cpu_pct",
    "other_cpu_pct",
    "mysql_commits_per_s",
]


def cmd_cluster(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """One room over 1, 2, 3 nodes of a cluster (and one node without `--cluster`)."""
    if not _mysql_reachable():
        log(f"no MySQL/MariaDB at {servers.MYSQL_URL}: the cluster scenario needs one")
        return []
    setups = [s.strip() for s in args.nodes.split(",")]
    for setup in setups:
        if setup != "plain" and not setup.isdigit():
            raise SystemExit(f"--nodes: {setup!r} is neither 'plain' nor a number of nodes")
    rates = [None if r.strip() == "max" else float(r) for r in args.rates.split(",")]
    records: list[dict[str, Any]] = []
    for rate in rates:
        log(f"cluster: {'max rate' if rate is None else f'offered {rate:,.0f} msgs/s'}")

        def one(setup: str, rate: float | None = rate) -> dict[str, Any]:
            return cluster.cluster_fanout(
                setup,
                members=args.members,
                senders=args.senders,
                seconds=args.seconds,
                rate=rate,
                window=args.window,
                workers=args.workers,
                rcvbuf=args.rcvbuf,
            )

        records.extend(rounds(setups, args.runs, one, run_id, machine))
    print(table(records, CLUSTER_COLUMNS))
    metrics = CLUSTER_COLUMNS[4:]
    for rate in rates:
        print(f"\n{'max rate' if rate is None else f'offered {rate:,.0f} msgs/s'}")
        print(_by_variant([r for r in records if r["offered_rate"] == rate], "setup", metrics))
    return records


COUNTER_COLUMNS = [
    "round",
    "case",
    "batches",
    "msgs_per_s",
    "tx_p50_ms",
    "tx_p99_ms",
    "mysql_cpu_pct",
    "batches_per_s",
    "mysql_commits_per_s",
    "other_cpu_pct",
    "rows",
    "dense",
]


def cmd_counter(
    args: argparse.Namespace, run_id: str, machine: dict[str, Any]
) -> list[dict[str, Any]]:
    """Batches stored with the counter row, by hand with it, and with AUTO_INCREMENT."""
    if not _mysql_reachable():
        log(f"no MySQL/MariaDB at {servers.MYSQL_URL}: the counter scenario needs one")
        return []
    variants = [v.strip() for v in args.variants.split(",")]
    writers = [int(w) for w in args.writers.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    records: list[dict[str, Any]] = []
    for round_no in range(args.runs):
        # Each round another variant goes first, so that drift falls on all of them.
        shift = round_no % len(variants)
        order = variants[shift:] + variants[:shift]
        for count in writers:
            for size in batches:
                for variant in order:
                    log(
                        f"round {round_no + 1}/{args.runs}: {variant},"
                        f" {count} writer(s), batch {size}"
                    )
                    record = counter.counter_cost(
                        variant, writers=count, batch=size, seconds=args.seconds
                    )
                    record["case"] = f"{variant} w{count} b{size}"
                    _record(record, run_id, round_no, machine)
                    records.append(record)
    print(table(records, COUNTER_COLUMNS))
    print()
    print(_by_variant(records, "case", COUNTER_COLUMNS[2:10]))
    return records


def cluster_parsers(sub: Any) -> None:
    """The `cluster` and `counter` subcommands."""
    p = sub.add_parser("cluster", help="one room over the nodes of a cluster, on MariaDB and Redis")
    p.add_argument(
        "--nodes",
        default="plain,1,2,3",
        help="setups: 'plain' (one node without --cluster) or a number of nodes",
    )
    p.add_argument("--rates", default="max,1000,3000", help="'max' or offered msgs/s (total)")
    p.add_argument("--members", type=int, default=100)
    p.add_argument("--senders", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--window", type=int, default=128, help="max rate: sends in flight per sender")
    p.add_argument("--workers", type=int, default=2, help="client processes")
    p.add_argument("--rcvbuf", type=int, default=None, help="as for fanout")
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("counter", help="what the message counter row costs on MySQL")
    p.add_argument("--variants", default=",".join(counter.VARIANTS))
    p.add_argument("--writers", default="1,3", help="concurrent writers (nodes)")
    p.add_argument("--batches", default="1,10,100", help="messages per transaction")
    p.add_argument("--seconds", type=float, default=5.0, help="per case")
    p.add_argument("--runs", type=int, default=1)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True)

    def fanout_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--server", choices=["chat", "ngircd", "both"], default="chat")
        p.add_argument("--members", type=int, default=100)
        p.add_argument("--senders", type=int, default=10)
        p.add_argument("--seconds", type=float, default=10.0)
        p.add_argument("--runs", type=int, default=1)
        p.add_argument("--workers", type=int, default=2, help="receiver processes")
        p.add_argument("--batch", type=int, default=16, help="IRC: PRIVMSGs per PING marker")
        p.add_argument(
            "--rcvbuf",
            type=int,
            default=None,
            help="client SO_RCVBUF bytes, 0 = kernel autotuning "
            "(default: 4 MiB at max rate, autotuning at a fixed rate)",
        )

    p = sub.add_parser("fanout", help="one room, N members, S senders")
    fanout_options(p)
    p.add_argument("--rate", type=float, default=None, help="fixed offered msgs/s (total)")
    p.add_argument("--window", type=int, default=128, help="max rate: sends in flight per sender")
    p = sub.add_parser("sweep", help="fan-out at several fixed offered loads")
    fanout_options(p)
    p.add_argument("--rates", default="2000,4000,8100,12000,16300,24000")
    p = sub.add_parser("sizes", help="maximum rate at several room sizes (sizes.png)")
    fanout_options(p)
    p.add_argument("--sizes", default="2,10,100,500", help="members, comma-separated")
    p.add_argument("--window", type=int, default=128, help="sends in flight per sender")
    p = sub.add_parser("idle", help="server memory per idle logged-in connection")
    p.add_argument("--server", choices=["chat", "ngircd", "both"], default="chat")
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("history", help="50-message pages in a 1,000,000-message room")
    p.add_argument("--db", choices=["sqlite", "mysql", "both"], default="sqlite")
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("search", help="search requests in a 1,000,000-message store")
    p.add_argument("--db", choices=["sqlite", "mysql", "both"], default="sqlite")
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=200, help="per kind of query")
    p.add_argument("--seconds", type=float, default=60.0, help="at most, per kind of query")
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("login", help="logins per second")
    p.add_argument("--params", choices=["cheap", "default", "both"], default="both")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--runs", type=int, default=1)
    crowd_parsers(sub)
    cluster_parsers(sub)
    p = sub.add_parser("all", help="every scenario once")
    p.add_argument("--quick", action="store_true", help="a short version (nox -s bench)")
    return top


COMMANDS: dict[str, Callable[[argparse.Namespace, str, dict[str, Any]], list[dict[str, Any]]]] = {
    "fanout": cmd_fanout,
    "sweep": cmd_sweep,
    "sizes": cmd_sizes,
    "idle": cmd_idle,
    "history": cmd_history,
    "search": cmd_search,
    "login": cmd_login,
    "all": cmd_all,
}
COMMANDS.update({"storm": cmd_storm, "connections": cmd_connections})
COMMANDS.update({"cluster": cmd_cluster, "counter": cmd_counter})


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    machine = machine_info()
    machine.update(servers.chat_source())
    log(f"chat-server code: {machine['chat_source']} at {machine['chat_commit']}")
    started = time.monotonic()
    records = COMMANDS[args.command](args, run_id, machine)
    lost = sum(int(r.get("lost") or 0) for r in records)
    log(f"done: {len(records)} runs in {time.monotonic() - started:.0f} s (run id {run_id})")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
