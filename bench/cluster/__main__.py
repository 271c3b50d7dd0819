"""Scale-out benchmark: sandbox broker -> N daphne processes -> many authenticated tabs.

    python -m bench.cluster                       # 250 users x 4 tabs, designed then naive
    python -m bench.cluster --users 10 --tabs 2 --duration 10
    python -m bench.cluster --daphne 2 --layer pubsub
    python -m bench.cluster --layout workers --workers 1   # managers in stream workers
    python -m bench.cluster --sweep               # designed mode at 250..1500 sockets
    python -m bench.cluster --burst --users 100   # quiet, 10x the quote rate, recovery

Starts, each on a free loopback port: a redis-server, the sandbox (`manage.py sandbox`),
and `--daphne` daphne processes sharing one SQLite file and the channels-redis layer
(with `--layout workers` also `--workers` `manage.py stream_workers` processes, which run
the stream managers while daphne only relays: STREAM_MANAGERS=workers).
Creates `--users` users (sandbox link, a watchlist of 20 of `B000`..`B099`, a session),
opens `--tabs` real WebSocket clients per user from `--load-procs` load-generator
processes (bench/cluster/loadgen.py; clients pick a daphne process round-robin), sets
the sandbox's tick rate so that about `--quote-rate` quote events/s reach the stream
managers, places Market orders at `--order-rate`, and measures for `--duration` s.

Each phase prints one markdown row: the designed mode (conflated 150 ms batches), then
the naive baseline (bench/baselines.py via bench/naive.py, `--naive`: by default a
`group_send` per tick to the user's group, the reference's Channels pattern) under the same
load, and a ratio line. `--burst` (the phase `burst`, bench/cluster/burst.py) runs the
designed mode in three windows instead: quiet, `--burst-factor` x the quote rate for
`--burst-seconds`, and recovery, with a row per window and the burst's verdicts. Latency is
client receive time minus the broker's event time (`t` of a quote; `updated_at` of a Filled
order), on the same host clock. Everything runs on 127.0.0.1, every wait is bounded, and
everything started is stopped by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.baselines import NAIVE_KINDS
from bench.cluster.burst import BurstPlan
from bench.cluster.burst_report import print_burst
from bench.cluster.header import print_header
from bench.cluster.judge import check_targets
from bench.cluster.phase import Phase, run_phase
from bench.cluster.processes import Processes, log
from bench.cluster.report import print_phase_tables, print_ratio
from bench.cluster.servers import LAYERS, Cluster
from bench.cluster.sweep import run_sweep


async def main_async(args: argparse.Namespace, procs: Processes, workdir: Path) -> None:
    from cryptography.fernet import Fernet

    cluster = Cluster(args=args, procs=procs, workdir=workdir)
    cluster.encryption_key = Fernet.generate_key().decode()
    cluster.start_redis()
    cluster.layer_backend = cluster.probe_layer("config.settings")
    if cluster.layer_backend != LAYERS[args.layer]:
        raise RuntimeError(
            f"cannot select {LAYERS[args.layer]} (settings give {cluster.layer_backend})"
        )
    print_header(cluster, args)
    await cluster.start_sandbox()
    cluster.setup_database()
    if args.sweep:
        await run_sweep(cluster, args)
        return

    rows: list[dict[str, Any]] = []
    args.quote_target = args.quote_rate
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    tick_rate = None
    for name in phases:
        phase = Phase(name, name == "naive", args.users, args.quote_rate, tick_rate)
        if name == "burst":
            phase.burst = BurstPlan(args.burst_factor, args.burst_seconds, args.duration)
        row = await run_phase(cluster, phase)
        log(f"phase {name} done")
        if phase.burst is not None:
            print_phase_tables(row["windows"], args)
            print_burst(row["windows"], args.burst_factor)
            continue
        tick_rate = row["tick_rate"]  # the baseline gets exactly the designed mode's load
        rows.append(row)
    if not rows:
        return
    print_phase_tables(rows, args)
    print_ratio(rows)
    for r in rows:
        if r["phase"] != "designed":
            continue
        print("**Targets (designed mode):**\n")
        for label, ok, value in check_targets(r, args):
            print(f"- {'PASS' if ok else 'FAIL'} {label}: {value}")
        print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--tabs", type=int, default=4, help="sockets per user")
    parser.add_argument("--daphne", type=int, default=1, choices=(1, 2, 3, 4))
    parser.add_argument("--layer", choices=sorted(LAYERS), default="core")
    parser.add_argument(
        "--route",
        choices=("tabs", "sessions"),
        default="tabs",
        help="with --daphne > 1: tabs round robin, or each user's tabs on one daphne (sticky)",
    )
    parser.add_argument(
        "--layout",
        choices=("web", "workers"),
        default="web",
        help="where stream managers run (STREAM_MANAGERS): in daphne, or in stream workers",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=(1, 2, 3, 4),
        help="`manage.py stream_workers` processes with --layout workers",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument(
        "--quote-rate", type=float, default=5000, help="quote events/s into the managers"
    )
    parser.add_argument("--order-rate", type=float, default=5.0, help="Market orders/s in all")
    parser.add_argument(
        "--balance-push",
        type=float,
        default=5.0,
        help="the sandbox pushes every watched account's balance at once every this many "
        "seconds (a burst of one account event per user)",
    )
    parser.add_argument(
        "--phases", default="designed,naive", help="designed,naive or one of them, or burst"
    )
    parser.add_argument(
        "--burst",
        action="store_true",
        help="the phase burst alone: the designed mode quiet for --duration s, at "
        "--burst-factor x the quote rate for --burst-seconds s, then recovering for "
        "--duration s (the way a market open comes)",
    )
    parser.add_argument("--burst-factor", type=float, default=10.0)
    parser.add_argument("--burst-seconds", type=float, default=30.0)
    parser.add_argument(
        "--naive",
        default="group-send",
        choices=NAIVE_KINDS,
        help="the naive phase's baseline (bench/baselines.py): a group_send per tick to the "
        "user's group, or a frame per tick through the designed fan-out",
    )
    parser.add_argument("--load-procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connect-concurrency", type=int, default=25, help="per load process")
    parser.add_argument("--connect-timeout", type=float, default=100.0)
    parser.add_argument(
        "--live-timeout", type=float, default=30.0, help="wait for broker sessions after connect"
    )
    parser.add_argument("--warmup-timeout", type=float, default=20.0)
    parser.add_argument(
        "--redis-max-connections",
        type=int,
        default=0,
        help="append ?max_connections=N to REDIS_URL (0: the app's and redis-py's default)",
    )
    parser.add_argument("--drain", type=float, default=3.0, help="seconds after the window")
    parser.add_argument(
        "--calibrate",
        type=float,
        default=4.0,
        help="seconds the sandbox's event rate is measured to set its tick rate (after half "
        "as long to settle)",
    )
    parser.add_argument("--flush-interval", type=float, default=0.15)
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="the streams record nothing (the recorder's cost, against a run that records)",
    )
    parser.add_argument(
        "--watchdog",
        type=float,
        default=60.0,
        help="STREAM_WATCHDOG_TIMEOUT (the app's default; LiveApp's 5 s would reconnect every "
        "broker session while the sandbox does not tick during connect)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sweep", action="store_true", help="designed mode at several sizes")
    parser.add_argument(
        "--sweep-sockets",
        default="250,500,1000,1500",
        help="socket counts (users = sockets / tabs; quote rate scales per user)",
    )
    parser.add_argument(
        "--sweep-naive",
        action="store_true",
        help="also run the naive baseline at each sweep point (same load) and print the ratio",
    )
    parser.add_argument(
        "--sweep-rates", default="", help="quote rates at --users (e.g. 2500,5000,10000)"
    )
    parser.add_argument(
        "--no-reconnect",
        action="store_true",
        help="a dropped tab stays closed (default: back off"
        " and reconnect with ?since=, like the browser)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy samples each daphne and worker over the measured window: CPU by stage "
        "of the quote path (bench/stages.py), per quote event and per delivered frame",
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and the DB")
    args = parser.parse_args(argv)
    if args.burst:
        args.phases = "burst"
    if args.sweep and "burst" in args.phases.split(","):
        parser.error("the burst runs at one size: --burst (or the phase burst) without --sweep")
    if args.burst_factor <= 1 or args.burst_seconds <= 0:
        parser.error("--burst-factor must be above 1 and --burst-seconds above 0")
    args.sweep_sockets = [int(x) for x in args.sweep_sockets.split(",") if x.strip()]
    args.sweep_rates = [float(x) for x in args.sweep_rates.split(",") if x.strip()]
    if args.sweep and not args.sweep_rates and not args.sweep_sockets:
        parser.error("--sweep needs --sweep-sockets or --sweep-rates")
    sizes = [args.users]
    if args.sweep:
        sizes += [max(1, s // args.tabs) for s in args.sweep_sockets]
    args.max_users = max(sizes)
    args.worker_procs = args.workers if args.layout == "workers" else 0
    return args


def main() -> None:
    args = parse_args()
    procs = Processes()
    workdir = Path(tempfile.mkdtemp(prefix="streamdesk-cluster-"))

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    exit_code = 0
    try:
        asyncio.run(main_async(args, procs, workdir))
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        exit_code = 130
    except RuntimeError as exc:
        log(f"FAILED: {exc}")
        exit_code = 1
    finally:
        procs.stop_all()
        if procs.redis is not None:
            procs.redis.stop()
        deadline = time.monotonic() + 10
        while procs.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        leftovers = procs.leftovers()
        if leftovers:
            log(f"orphans left: {leftovers}; killing")
            for _name, pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            log(f"all {len(procs.all_pids)} processes this run started are gone")
        ours = {pid for _, pid in procs.all_pids}
        pattern = "daphne|config.serve"
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        daphnes = {int(p) for p in found.stdout.split()}
        log(
            f"pgrep -f '{pattern}': {len(daphnes & ours)} of ours left"
            + (f" ({len(daphnes - ours)} other daphne processes on the box)" if daphnes else "")
        )
        if args.keep_workdir:
            log(f"logs and database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
