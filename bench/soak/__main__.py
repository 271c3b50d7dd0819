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
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.proc import rss_mib
from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from sandbox.server import SandboxControl
from tests.chaos.conftest import DEMO_ALPACA, DEMO_TRADIER, DEMO_TT, add_trader
from tests.support.clients import SseClient, StreamClient, WsClient
from tests.support.cluster import FAST_CLUSTER, Cluster, running_cluster
from tests.support.live import DEMO_USER, LiveApp
from tests.support.orders import market_buy

SYMBOLS = ("XLF", "F", "T", "INTC", "PFE", "KO", "XLE", "CSCO")
FAULTS = {  # kind: weight
    "kill": 2,
    "redis": 1,
    "drop-dxlink": 2,
    "drop-streamer": 2,
    "rest-429": 1,
    "rest-500": 1,
    "expire-tokens": 1,
    "silence-streamer": 1,
    "blackout": 1,
    "pause": 1,
}
#: How long a fault may take to heal (every tab live again) before the next one anyway.
RECOVERY = 90.0
#: A live tab is healthy only if frames reach it (quotes tick 10 times a second): one
#: that got nothing for this long is frozen, however live it looks (seconds).
FLOWING = 5.0
#: The run fails if any connected tab went this long without a frame (the longest
#: planned outage, every broker dead, lasts 35 s).
SILENCE_LIMIT = 60.0
#: ...counted once every tab has been live this long in a row.
SETTLE = 10.0


def say(message: str) -> None:
    print(message, flush=True)


@dataclass
class Trader:
    username: str
    password: str
    user_id: int
    link: int  # the tastytrade link's id (orders in frames are keyed by link)
    credential: str  # the sandbox credential id of the tastytrade refresh token
    account: str  # where the orders go (the customer's margin account)
    own: set[str]  # every account of the trader (any other one seen is a leak)
    placed: list[tuple[Any, int]] = field(default_factory=list)  # (order id, quantity)
    rejected: int = 0


@dataclass
class Tab:
    trader: Trader
    client: StreamClient
    apps: list[str]  # the processes it was served by, in order


class Soak:
    def __init__(self, cluster: Cluster, workdir: Path, args: argparse.Namespace) -> None:
        self.cluster = cluster
        self.workdir = workdir
        self.args = args
        self.rng = random.Random(args.seed)
        self.apps: dict[str, LiveApp] = {"A": cluster.a, "B": cluster.b}
        self.dead: dict[str, LiveApp] = {}
        self.extra: list[LiveApp] = []  # replacements this run started (and stops)
        self.traders: list[Trader] = []
        self.tabs: list[Tab] = []
        self.control = cluster.sandbox.control()
        self.redis = redis.Redis.from_url(cluster.redis.url)
        self.rss: list[tuple[float, dict[str, float]]] = []
        self.events: list[str] = []
        self.not_recovered = 0
        self.started = time.monotonic()
        self.env = {**FAST_CLUSTER, "REDIS_URL": cluster.redis.url, **args.env}

    def t(self) -> float:
        return time.monotonic() - self.started

    def note(self, message: str) -> None:
        line = f"[{self.t():7.1f}s] {message}"
        self.events.append(line)
        say(line)

    # -- set-up ---------------------------------------------------------------------------
    def create_traders(self) -> None:
        a = self.cluster.a
        for i in range(1, self.args.users):
            add_trader(a, f"trader{i:02d}", f"soak-refresh-{i:02d}")
        out = a.python(
            "from accounts.models import BrokerLink\n"
            "from streaming.links.verify import broker_link_verify\n"
            # the demo trader's links log in here, so this sandbox knows its customers (their
            # accounts are read from its state below): the database may have been seeded
            # against another sandbox
            f"for l in BrokerLink.objects.filter(user__username={DEMO_USER[0]!r}):\n"
            "    broker_link_verify(link=l)\n"
            "for l in BrokerLink.objects.filter(broker='tastytrade').select_related('user'):\n"
            "    print('LINK', l.user.username, l.user_id, l.id)\n",
        )
        links = {
            name: (int(uid), int(lid))
            for _, name, uid, lid in (
                line.split() for line in out.splitlines() if line[:5] == "LINK "
            )
        }
        state = self.control.state()["credentials"]

        def accounts(cred: str) -> list[str]:
            return list(state.get(cred, {}).get("accounts", []))

        demo_own = {n for c in (DEMO_TT, DEMO_ALPACA, DEMO_TRADIER) for n in accounts(c)}
        uid, lid = links[DEMO_USER[0]]
        self.traders.append(Trader(*DEMO_USER, uid, lid, DEMO_TT, accounts(DEMO_TT)[0], demo_own))
        for i in range(1, self.args.users):
            name = f"trader{i:02d}"
            cred = credential_id(f"soak-refresh-{i:02d}")
            uid, lid = links[name]
            own = set(accounts(cred))
            assert own, f"{name}'s tastytrade link was verified"
            self.traders.append(Trader(name, f"pw-{name}", uid, lid, cred, accounts(cred)[0], own))

    async def open_tabs(self) -> None:
        names = list(self.apps)
        for i, trader in enumerate(self.traders):
            cookie = self.cluster.cookie(trader.username, trader.password)
            for j, kind in enumerate((WsClient, SseClient)):
                app_name = names[(i + j) % 2]
                client = kind(
                    self.apps[app_name].url,
                    cookie,
                    name=f"{trader.username}-{kind.transport}",
                    own_accounts=trader.own,
                ).start()
                self.tabs.append(Tab(trader, client, [app_name]))
        await asyncio.gather(*(tab.client.wait_live(60) for tab in self.tabs))

    # -- load -----------------------------------------------------------------------------
    async def orders(self, trader: Trader, until: float) -> None:
        rng = random.Random(f"{self.args.seed}|{trader.username}")
        control = SandboxControl(self.cluster.sandbox.url)
        try:
            await asyncio.sleep(rng.uniform(0, self.args.order_max))
            while time.monotonic() < until:
                quantity = rng.randint(1, 3)
                order = market_buy(rng.choice(SYMBOLS), quantity)
                try:
                    result = await asyncio.to_thread(control.place_order, trader.account, order)
                    trader.placed.append((result["order"]["id"], quantity))
                except Exception as exc:  # a rejection (buying power): counted, not placed
                    trader.rejected += 1
                    self.note(f"order for {trader.username} not placed: {exc}")
                await asyncio.sleep(rng.uniform(self.args.order_min, self.args.order_max))
        finally:
            control.close()

    async def sample_rss(self, until: float) -> None:
        while time.monotonic() < until:
            row = {name: rss_mib(app.pid) for name, app in self.apps.items()}
            row = {name: value for name, value in row.items() if value is not None}
            self.rss.append((self.t(), row))
            live = sum(1 for tab in self.tabs if self.healthy(tab.client))
            placed = sum(len(tr.placed) for tr in self.traders)
            rss = " ".join(f"{name}={value:.0f}" for name, value in row.items())
            owners = await asyncio.to_thread(self.owners)
            say(
                f"[{self.t():7.1f}s] rss MiB {rss} | streams owned {owners} | "
                f"tabs live {live}/{len(self.tabs)} | orders placed {placed}"
            )
            await asyncio.sleep(10)

    # -- faults ---------------------------------------------------------------------------
    async def faults(self, until: float) -> None:
        kinds = [k for k in FAULTS if k in self.args.faults]
        weights = [FAULTS[k] for k in kinds]
        while True:
            await asyncio.sleep(self.rng.uniform(self.args.fault_min, self.args.fault_max))
            if time.monotonic() >= until:
                return
            kind = self.rng.choices(kinds, weights)[0]
            began = time.monotonic()
            try:
                await getattr(self, "fault_" + kind.replace("-", "_"))()
            except Exception as exc:
                self.note(f"fault {kind} failed to inject: {exc!r}")
            await self.recovered(f"after {kind}", began)

    @staticmethod
    def healthy(client: StreamClient) -> bool:
        """Live, and frames still arrive (a frozen socket is not healed)."""
        last = client.segments[-1].last_frame if client.segments else None
        return client.live and last is not None and time.monotonic() - last < FLOWING

    async def recovered(self, what: str, began: float, within: float = RECOVERY) -> bool:
        """Wait until every tab has been live for SETTLE s in a row (a fault's effects
        can show seconds later: a Redis restart ends tabs with 4409 only once noticed)."""
        steady_since: float | None = None
        while time.monotonic() - began < within:
            if all(self.healthy(tab.client) for tab in self.tabs):
                steady_since = steady_since or time.monotonic()
                if time.monotonic() - steady_since >= SETTLE:
                    took = steady_since - began
                    self.note(f"  all {len(self.tabs)} tabs live {took:.1f} s {what}")
                    return True
            else:
                steady_since = None
            await asyncio.sleep(0.2)
        down = [tab.client.name for tab in self.tabs if not self.healthy(tab.client)]
        self.not_recovered += 1
        self.note(f"  NOT RECOVERED within {within:.0f} s {what}: {len(down)} tabs down {down}")
        return False

    def holder(self, user_id: int) -> int | None:
        value = self.redis.get(f"sd:lease:user:{user_id}")
        if not value or value == b"released":
            return None
        return int(value.decode().split(":")[1])

    def owners(self) -> str:
        """How many of the traders' streams each process owns now."""
        by_pid = {app.pid: name for name, app in self.apps.items()}
        counts: Counter[str] = Counter()
        for trader in self.traders:
            try:
                pid = self.holder(trader.user_id)
            except redis.RedisError:
                return "? (redis down)"
            counts[by_pid.get(pid, "none") if pid else "none"] += 1
        return " ".join(f"{name}={n}" for name, n in sorted(counts.items()))

    async def fault_kill(self) -> None:
        by_pid = {app.pid: name for name, app in self.apps.items()}
        candidates = self.traders[:]
        self.rng.shuffle(candidates)
        victim = trader = None
        for trader in candidates:
            pid = await asyncio.to_thread(self.holder, trader.user_id)
            if pid in by_pid:
                victim = by_pid[pid]
                break
        if victim is None:
            victim = self.rng.choice(sorted(self.apps))
            trader = None
        app = self.apps.pop(victim)
        owner = f"owner of {trader.username}" if trader else "no owner found: a random process"
        app.kill()
        self.dead[victim] = app
        self.note(f"FAULT kill -9 {victim} (pid {app.pid}, {owner})")
        name = chr(ord(max(list(self.apps) + list(self.dead))) + 1)
        for attempt in range(1, 4):  # a busy machine can miss the start deadline: again
            fresh = LiveApp(
                self.cluster.sandbox.url,
                self.workdir,
                seed=False,
                DATABASE_URL=self.cluster.database_url,
                **self.env,
            )
            self.extra.append(fresh)
            try:
                await asyncio.to_thread(fresh.start)
                break
            except RuntimeError as exc:
                self.note(f"  replacement {name} did not start (attempt {attempt}): {exc}")
                if attempt == 3:
                    raise
        self.apps[name] = fresh
        moved = 0
        for tab in self.tabs:
            if tab.apps[-1] == victim:
                tab.client.base_url = fresh.url  # the tab reconnects there, with its position
                tab.apps.append(name)
                moved += 1
        self.note(f"  started {name} (pid {fresh.pid}) and pointed {moved} tabs of {victim} at it")

    async def fault_redis(self) -> None:
        self.note("FAULT redis restart (down 1 s, comes back empty)")
        await asyncio.to_thread(self.cluster.redis.restart, 1.0)

    def _some_trader(self) -> Trader:
        return self.rng.choice(self.traders)

    async def _control(self, kind: str, **params: Any) -> Any:
        return await asyncio.to_thread(self.control.fault, kind, **params)

    async def fault_drop_dxlink(self) -> None:
        trader = self._some_trader()
        result = await self._control("drop", target="dxlink", credential=trader.credential)
        self.note(f"FAULT drop DXLink of {trader.username}: {result}")

    async def fault_drop_streamer(self) -> None:
        trader = self._some_trader()
        result = await self._control("drop", target="streamer", credential=trader.credential)
        self.note(f"FAULT drop account streamer of {trader.username}: {result}")

    async def fault_rest_429(self) -> None:
        await self._control("http_error", status=429, path_prefix="/", count=20, retry_after=1)
        self.note("FAULT the next 20 REST requests (any broker) get 429, Retry-After: 1")

    async def fault_rest_500(self) -> None:
        await self._control("http_error", status=500, path_prefix="/", count=20)
        self.note("FAULT the next 20 REST requests (any broker) get 500")

    async def fault_silence_streamer(self) -> None:
        trader = self._some_trader()
        result = await self._control(
            "silence", target="streamer", credential=trader.credential, seconds=30
        )
        self.note(f"FAULT account streamer of {trader.username} silent for 30 s: {result}")

    async def fault_blackout(self) -> None:
        result = await self._control("blackout", seconds=35)
        self.note(f"FAULT every broker dead for 35 s (connections hang, no answers): {result}")

    async def fault_pause(self) -> None:
        trader = self._some_trader()
        pid = await asyncio.to_thread(self.holder, trader.user_id)
        by_pid = {app.pid: name for name, app in self.apps.items()}
        if pid not in by_pid:
            self.note(f"FAULT pause skipped: nobody owns {trader.username}'s stream")
            return
        self.note(f"FAULT SIGSTOP {by_pid[pid]} (pid {pid}, owner of {trader.username}) for 10 s")
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(10)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.note(f"  SIGCONT {by_pid[pid]}")

    async def fault_expire_tokens(self) -> None:
        trader = self._some_trader()
        result = await self._control("expire_tokens", credential=trader.credential)
        self.note(f"FAULT access tokens of {trader.username} expire now: {result}")

    # -- the verdict ----------------------------------------------------------------------
    def silence_ended_at(self, client: StreamClient) -> float | None:
        """When (s into the run) the tab's longest silence while connected ended."""
        worst, at = 0.0, None
        times = [t for t, _ in client.frames]
        for seg in client.segments:
            end = seg.closed or time.monotonic()
            inside = [t for t in times if seg.opened <= t <= end]
            if not inside:
                continue
            for before, after in zip(inside, [*inside[1:], end], strict=True):
                if after - before > worst:
                    worst, at = after - before, after
        return None if at is None else at - self.started

    @staticmethod
    def filled(client: StreamClient, link: int, order_id: Any) -> float:
        """What the tab shows as filled (like `filled_quantity`, without recording)."""
        order = client.order(link, order_id)
        if order is None:
            return 0.0
        return sum(float(f["quantity"] or 0) for leg in order.get("legs", []) for f in leg["fills"])

    def all_delivered(self) -> bool:
        return all(
            tab.client.live
            and all(
                self.filled(tab.client, tab.trader.link, oid) >= qty
                for oid, qty in tab.trader.placed
            )
            for tab in self.tabs
        )

    async def drain(self) -> float:
        began = time.monotonic()
        while time.monotonic() - began < self.args.drain and not self.all_delivered():
            await asyncio.sleep(0.25)
        return time.monotonic() - began

    def report(self, drained: float) -> int:
        say("")
        say(f"drain: {drained:.1f} s (limit {self.args.drain:.0f} s)")
        say("")
        header = (
            f"{'tab':<18} {'via':<9} {'placed':>6} {'deliv':>6} {'lost':>5} {'dup':>4} "
            f"{'viol':>4} {'max_sil_s':>9} {'ended_at':>8} {'reconn':>6} {'failed':>6} "
            f"{'snaps':>5} {'live':>4}  closes"
        )
        say(header)
        totals = Counter()
        worst_silence = 0.0
        for tab in self.tabs:
            c, tr = tab.client, tab.trader
            delivered = lost = duplicated = 0
            for oid, qty in tr.placed:
                # a fill listed twice shows as more than ordered (and as a violation)
                got = c.filled_quantity(tr.link, oid)
                if got == qty:
                    delivered += 1
                elif got < qty:
                    lost += 1
                else:
                    duplicated += 1
            # a duplicate the server let through (the client drops it, but it was sent)
            duplicated += sum(v.startswith("duplicate seq") for v in c.violations)
            codes = Counter(str(code) for code in c.closes())
            connected = sum(1 for seg in c.segments if seg.first_frame is not None)
            silence = c.max_silence()
            worst_silence = max(worst_silence, silence)
            ended = self.silence_ended_at(c)
            totals.update(
                placed=len(tr.placed),
                delivered=delivered,
                lost=lost,
                duplicated=duplicated,
                violations=len(c.violations),
                foreign=len(c.foreign),
                reconnects=connected - 1,
                attempts=len(c.segments) - connected,
            )
            say(
                f"{c.name:<18} {'>'.join(tab.apps):<9} {len(tr.placed):6d} {delivered:6d} "
                f"{lost:5d} {duplicated:4d} {len(c.violations):4d} {silence:9.1f} "
                f"{'-' if ended is None else f'{ended:.0f}':>8} "
                f"{connected - 1:6d} {len(c.segments) - connected:6d} {c.snapshots:5d} "
                f"{'yes' if c.live else 'NO':>4}  "
                + " ".join(f"{k}x{v}" for k, v in sorted(codes.items()))
            )
        problems = [(tab.client.name, v) for tab in self.tabs for v in tab.client.violations] + [
            (tab.client.name, f"foreign accounts {sorted(tab.client.foreign)}")
            for tab in self.tabs
            if tab.client.foreign
        ]
        if problems:
            say("")
            say("violations (first 30):")
            for name, v in problems[:30]:
                say(f"  {name}: {v}")
        lost_orders = [
            (tab.client.name, oid, qty, self.filled(tab.client, tab.trader.link, oid))
            for tab in self.tabs
            for oid, qty in tab.trader.placed
            if self.filled(tab.client, tab.trader.link, oid) != qty
        ]
        if lost_orders:
            say("")
            say("orders not filled exactly once at a tab (first 30): tab, order, ordered, shown")
            for row in lost_orders[:30]:
                say(f"  {row}")

        say("")
        say("daphne RSS (MiB) every 10 s:")
        names = sorted({name for _, row in self.rss for name in row})
        say(f"{'t_s':>7} " + " ".join(f"{n:>7}" for n in names))
        for t, row in self.rss:
            say(
                f"{t:7.0f} "
                + " ".join(f"{row[n]:7.1f}" if n in row else f"{'-':>7}" for n in names)
            )
        values = [v for _, row in self.rss for v in row.values()]

        say("")
        say("daphne logs:")
        all_apps = {**self.dead, **self.apps}
        tracebacks = 0
        for name in sorted(all_apps):
            app = all_apps[name]
            count, kinds = traceback_summary(app.log_path)
            tracebacks += count
            state = "killed" if name in self.dead else "running"
            say(f"  {name} pid {app.pid} ({state}) {app.log_path}: Traceback x{count}")
            for line, n in kinds.most_common(8):
                say(f"      {n} x {line}")
        rejected = sum(tr.rejected for tr in self.traders)
        crowded = [tr.username for tr in self.traders if len(tr.placed) > 200]
        if crowded:
            say(f"note: {crowded} placed more than 200 orders: a snapshot holds the newest 200")
        say("")
        say("faults and recoveries:")
        for line in self.events:
            say("  " + line)
        say("")
        rss_part = f"RSS {min(values):.0f}-{max(values):.0f} MiB" if values else "RSS n/a"
        orders = sum(len(tr.placed) for tr in self.traders)
        say(
            f"SUMMARY orders placed {orders} ({rejected} rejected); at the tabs: placed "
            f"{totals['placed']} delivered {totals['delivered']} lost {totals['lost']} "
            f"duplicated {totals['duplicated']} violations {totals['violations']} "
            f"foreign {totals['foreign']}; max silence {worst_silence:.1f} s; "
            f"reconnects {totals['reconnects']} (+{totals['attempts']} failed attempts); "
            f"{rss_part}; tracebacks {tracebacks}"
        )
        failed = (
            totals["lost"]
            or totals["duplicated"]
            or totals["foreign"]
            or self.not_recovered
            or worst_silence > SILENCE_LIMIT
        )
        if failed:
            say(f"FAILED ({self.not_recovered} faults not healed; silence limit {SILENCE_LIMIT} s)")
        return 1 if failed else 0


def traceback_summary(path: Path) -> tuple[int, Counter[str]]:
    """How many Tracebacks a log holds, and the exception lines that ended them."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0, Counter()
    count, kinds = 0, Counter()
    inside = False
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            count += 1
            inside = True
            continue
        if (
            inside
            and line
            and not line[0].isspace()
            and not line.startswith(
                ("During handling", "The above exception", "Traceback", "+", "|")
            )
        ):
            kinds[re.sub(r"0x[0-9a-f]+|\d{3,}", "N", line)[:160]] += 1
            inside = False
    return count, kinds


async def soak(cluster: Cluster, workdir: Path, args: argparse.Namespace) -> int:
    run = Soak(cluster, workdir, args)
    await asyncio.to_thread(run.create_traders)
    say(f"# {len(run.traders)} traders; opening {2 * len(run.traders)} tabs")
    await run.open_tabs()
    run.started = time.monotonic()
    until = run.started + args.minutes * 60
    run.note(f"all tabs live; running {args.minutes} min")
    tasks = [asyncio.create_task(run.orders(tr, until)) for tr in run.traders]
    tasks.append(asyncio.create_task(run.faults(until)))
    sampler = asyncio.create_task(run.sample_rss(until + args.drain + 30))
    try:
        await asyncio.gather(*tasks)
        await asyncio.to_thread(run.control.clear_faults)
        run.note("load and faults over; faults cleared; draining")
        drained = await run.drain()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        return run.report(drained)
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
    with running_cluster(workdir, config, **args.env) as cluster:
        say(
            f"# sandbox {cluster.sandbox.url}, redis {cluster.redis.url}, "
            f"A {cluster.a.url} (pid {cluster.a.pid}), B {cluster.b.url} (pid {cluster.b.pid})"
        )
        code = asyncio.run(soak(cluster, workdir, args))
    sys.exit(code)


if __name__ == "__main__":
    main()
