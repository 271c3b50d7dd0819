"""The trading day a soak runs: its traders (each with their own sandbox customer) and their
two tabs, one WebSocket and one SSE, on different processes; their orders all along; the
daphne processes' RSS and who owns each stream; and whether every tab is live and its frames
flowing (a fault has healed)."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.proc import rss_mib
from sandbox.core.credentials import credential_id
from sandbox.server import SandboxControl
from tests.chaos.conftest import DEMO_ALPACA, DEMO_TRADIER, DEMO_TT, add_trader
from tests.support.clients import SseClient, StreamClient, WsClient
from tests.support.cluster import FAST_CLUSTER, Cluster
from tests.support.live import DEMO_USER, LiveApp
from tests.support.orders import market_buy

SYMBOLS = ("XLF", "F", "T", "INTC", "PFE", "KO", "XLE", "CSCO")
#: How long a fault may take to heal (every tab live again) before the next one anyway.
RECOVERY = 90.0
#: A live tab is healthy only if frames reach it (quotes tick 10 times a second): one
#: that got nothing for this long is frozen, however live it looks (seconds).
FLOWING = 5.0
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
    """One run: the cluster's processes (and the replacements a kill starts), the traders and
    their tabs, the RSS samples and the events noted, on the run's seeded random."""

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

    # -- health ---------------------------------------------------------------------------
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
