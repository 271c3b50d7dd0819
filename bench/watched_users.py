"""What users watched with no page open cost the server (issue 41): memory, CPU and broker
sessions of one daphne holding `--users` streams that no tab holds, each user with one
armed alert (docs/streaming.md "Managers without tabs").

    python -m bench.watched_users --users 100
    python -m bench.watched_users --users 100 --measure 60
    python -m bench.watched_users --users 100 --reason limit

The sandbox (this process's thread, ticking) and one daphne (tests/support/live.py:
SQLite, the in-memory layer). `--users` users are made, each with a tastytrade sandbox
link of its own (its own credential: its own DXLink and account streamer) and an alert
above a level no price reaches, on a symbol of a pool of 20. No page is opened: the
watch (`STREAM_WATCH_INTERVAL`) starts every stream. Reported: the time from the alerts
to every user's DXLink session live at the sandbox, the broker sessions, and daphne's RSS
and CPU (a share of one core, from /proc) over `--measure` seconds, before the alerts
(idle) and with every user watched; per watched user where it divides. Bounded; stops
what it started. `--reason limit`: a daily loss limit no day reaches instead of the alert,
so the positions stream too (what "P&L all day" costs in the session as well).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.proc import cpu_seconds, rss_mib
from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import ALPACA_HEARTBEAT, LiveApp
from tests.support.wait import poll_until

#: The symbols the alerts are on (B000..B019: the sandbox's synthetic tickers).
POOL = [f"B{i:03d}" for i in range(20)]


def cpu_share(pid: int, seconds: float) -> float:
    """Share of one core used over `seconds` (a wait, measured)."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


MAKE_USERS = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from accounts.services import broker_link_create
made = []
with transaction.atomic():
    for i in range({users}):
        user = get_user_model()(username=f"watched{{i:04d}}")
        user.set_unusable_password()
        user.save()
        broker_link_create(user=user, broker="tastytrade", label=f"watched {{i}}",
                           provider_secret="bench-secret", refresh_token=f"watched-refresh-{{i}}")
        made.append(user.id)
print(json.dumps(made))
"""

MAKE_ALERTS = """
from streaming.models import Alert
pool = {pool!r}
for n, user_id in enumerate({user_ids!r}):
    Alert.objects.create(user_id=user_id, symbol=pool[n % len(pool)], condition="above",
                         level=1_000_000)
"""


MAKE_LIMITS = """
from streaming.models import PortfolioLimits
for user_id in {user_ids!r}:
    PortfolioLimits.objects.create(user_id=user_id, daily_loss=1_000_000_000)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--measure", type=float, default=30.0, help="seconds of CPU measured")
    parser.add_argument("--watch-every", type=float, default=2.0)
    parser.add_argument(
        "--reason", choices=("alert", "limit"), default="alert", help="what each user sets"
    )
    args = parser.parse_args()
    with SandboxServer(
        SandboxConfig(
            tick_rate=4, demo_order_interval=0, alpaca_heartbeat_interval=ALPACA_HEARTBEAT
        )
    ) as sandbox:
        scratch = tempfile.TemporaryDirectory(prefix="bench-watched-", ignore_cleanup_errors=True)
        app = LiveApp(
            sandbox.url,
            Path(scratch.name),
            STREAM_WATCH_INTERVAL=str(args.watch_every),
        )
        app.seed_database()
        user_ids = json.loads(app.python(MAKE_USERS.format(pool=POOL, users=args.users)))
        app.spawn().wait_started()
        try:
            control = sandbox.control()
            time.sleep(2 * args.watch_every)  # the watch has looked: nobody is watched yet
            idle_rss = (rss_mib(app.pid) or 0) * 1024
            idle_cpu = cpu_share(app.pid, args.measure)
            before = control.state()["totals"]
            if args.reason == "alert":
                app.python(MAKE_ALERTS.format(pool=POOL, user_ids=user_ids))
            else:
                app.python(MAKE_LIMITS.format(user_ids=user_ids))
            started = time.monotonic()
            # the demo trader's own link does not stream (nobody holds it): every DXLink is a
            # watched user's
            poll_until(
                lambda: control.state()["totals"]["dxlink_sessions"] >= args.users,
                within=args.watch_every + 60 + args.users * 0.5,
                what=f"{args.users} watched users' DXLink sessions",
            )
            to_live = time.monotonic() - started
            time.sleep(5)  # the snapshots and first quotes settle before measuring
            watched_rss = (rss_mib(app.pid) or 0) * 1024
            watched_cpu = cpu_share(app.pid, args.measure)
            totals = control.state()["totals"]
            control.close()
        finally:
            app.stop()
            if os.environ.get("BENCH_KEEP_LOG"):
                import shutil

                shutil.copy(app.log_path, os.environ["BENCH_KEEP_LOG"])
        n = args.users
        print(f"| watched users | {n} | — |")
        print(f"| {args.reason}s → every DXLink live | {to_live:.1f} s | — |")
        print(
            f"| broker sessions (DXLink / account streamer) | {totals['dxlink_sessions']} / "
            f"{totals['streamer_sessions']} | were {before['dxlink_sessions']} / "
            f"{before['streamer_sessions']} |"
        )
        print(
            f"| daphne RSS | {watched_rss / 1024:.0f} MiB (idle {idle_rss / 1024:.0f}) | "
            f"{(watched_rss - idle_rss) / n:.0f} KiB per watched user |"
        )
        print(
            f"| daphne CPU over {args.measure:.0f} s | {watched_cpu * 100:.1f} % of a core "
            f"(idle {idle_cpu * 100:.1f} %) | {(watched_cpu - idle_cpu) * 100 / n:.3f} % per "
            "watched user |"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
