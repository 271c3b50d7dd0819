"""An accelerated trading day: many users, tabs on both processes, fills all along, and
a random fault every 20-60 s; at the end, did every fill reach every tab exactly once?

Stands on the fault suite's infrastructure (tests/support/cluster.py: Redis, the broker
sandbox and two daphne processes on one SQLite file; tests/support/clients.py: stream
clients that behave like the page). For `--minutes`:

- 20 traders (demo + 19 more, each with their own tastytrade refresh token, so their own
  sandbox customer), two tabs each: one WebSocket and one SSE tab, on different processes;
- access tokens last 60 s (`SandboxConfig.token_lifetime`): the adapters refresh all day;
  accounts without a push are polled every 3 s (`STREAM_ACCOUNT_POLL_INTERVAL`);
- every trader gets a market order (1-3 shares) at their tastytrade margin account every
  10-20 s (the sandbox's control API: as if placed elsewhere);
- every 20-60 s one fault: kill -9 the process owning a random trader's stream (a fresh
  process replaces it on a new port and the dead one's tabs reconnect there, with their
  position, as behind a load balancer), a Redis restart (down 1 s, empty), or a broker
  fault through the sandbox's control API (drop DXLink or the account streamer, 429 or
  500 on REST, access tokens expired, a silent account streamer for 30 s, every broker
  dead for 35 s), or SIGSTOP for 10 s of the process owning a random trader's stream
  (its lease expires and the other process takes over; on SIGCONT it must stop its
  broker sessions before any I/O). The next fault's pause starts once every tab has
  been live, with frames arriving (one in the last 5 s: a frozen socket is not live),
  for 10 s in a row (or after 90 s, reported as NOT RECOVERED).

At the end (after a drain of up to `--drain` s with faults cleared) it prints per tab the
fills placed for its user vs delivered (the order's filled quantity reached exactly once:
`filled_quantity` equals the ordered quantity, no fill listed twice, no duplicate
sequence let through), the longest silence, the reconnects (`reconn`: connections that
got frames; `failed`: attempts that did not); daphne RSS every 10 s (and, while running,
how many streams each process owns);
the Tracebacks in each daphne log; and one summary line. Exit code 1 if any fill was lost
or duplicated, a tab saw another user's account, a fault did not heal, or a connected
tab went more than 60 s without a frame.

    PYTHONPATH=. .venv/bin/python -m bench.soak --minutes 30
    PYTHONPATH=. .venv/bin/python -m bench.soak --minutes 3 --seed 2 --faults kill,redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from bench.soak.day import Soak, say
from bench.soak.faults import FAULTS, Faults
from bench.soak.verdict import drain, report
from sandbox.core.config import SandboxConfig
from tests.support.cluster import Cluster, running_cluster


async def soak(cluster: Cluster, workdir: Path, args: argparse.Namespace) -> int:
    run = Soak(cluster, workdir, args)
    await asyncio.to_thread(run.create_traders)
    say(f"# {len(run.traders)} traders; opening {2 * len(run.traders)} tabs")
    await run.open_tabs()
    run.started = time.monotonic()
    until = run.started + args.minutes * 60
    run.note(f"all tabs live; running {args.minutes} min")
    tasks = [asyncio.create_task(run.orders(tr, until)) for tr in run.traders]
    tasks.append(asyncio.create_task(Faults(run).run(until)))
    sampler = asyncio.create_task(run.sample_rss(until + args.drain + 30))
    try:
        await asyncio.gather(*tasks)
        await asyncio.to_thread(run.control.clear_faults)
        run.note("load and faults over; faults cleared; draining")
        drained = await drain(run)
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        return report(run, drained)
    finally:
        for task in [*tasks, sampler]:
            task.cancel()
        await asyncio.gather(*(tab.client.stop() for tab in run.tabs), return_exceptions=True)
        for app in run.extra:
            app.stop()
        run.control.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=20, help="traders, demo included")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token-lifetime", type=float, default=60.0, help="access tokens (s)")
    parser.add_argument("--tick-rate", type=float, default=10.0, help="sandbox ticks/s")
    parser.add_argument("--order-min", type=float, default=10.0)
    parser.add_argument("--order-max", type=float, default=20.0)
    parser.add_argument("--fault-min", type=float, default=20.0)
    parser.add_argument("--fault-max", type=float, default=60.0)
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"comma-separated subset of {list(FAULTS)}"
    )
    parser.add_argument("--drain", type=float, default=90.0, help="max wait for stragglers (s)")
    parser.add_argument("--poll-interval", default="3", help="STREAM_ACCOUNT_POLL_INTERVAL")
    parser.add_argument("--workdir", help="keep the database and daphne logs here")
    args = parser.parse_args()
    args.faults = {f.strip() for f in args.faults.split(",") if f.strip()}
    unknown = args.faults - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults {sorted(unknown)}")
    args.env = {"STREAM_ACCOUNT_POLL_INTERVAL": args.poll_interval}
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = SandboxConfig(
        tick_rate=args.tick_rate,
        order_step_interval=0.3,
        token_lifetime=args.token_lifetime,
        alpaca_heartbeat_interval=2,  # within the daphnes' 5 s watchdog (tests/support/live.py)
    )
    say(f"# soak: {vars(args)}")
    say(f"# work dir (database, daphne logs): {workdir}")
    say(
        f"# every trader's day is recorded in {workdir}/recordings (a failure found here replays:"
        f" STREAM_RECORD_DIR={workdir}/recordings manage.py replay --user-id N --date D ...)"
    )
    with running_cluster(workdir, config, **args.env) as cluster:
        say(
            f"# sandbox {cluster.sandbox.url}, redis {cluster.redis.url}, "
            f"A {cluster.a.url} (pid {cluster.a.pid}), B {cluster.b.url} (pid {cluster.b.pid})"
        )
        code = asyncio.run(soak(cluster, workdir, args))
    sys.exit(code)


if __name__ == "__main__":
    main()
