"""How a socket's merged quotes should leave under load (streaming/tabs/adaptive_flush.py):
with the next frame that arrives after the interval plus one process tick for stragglers
(`arrival`, what runs: `adaptive_flush.ArrivalFlush`), or only from one process-wide
flusher that walks the sockets due (`tick`: `TickOnly` below, handed to each session).

    python -m bench.adaptive_flush                      # 250 users x 4 tabs, 10 s each
    python -m bench.adaptive_flush --users 100 --seconds 5

In one process, without daphne: `--users` owners each make a quotes batch of `--symbols`
symbols every 150 ms and hand it to their `--tabs` `TabSession`s in turn (as
cluster/fanout.py does); every socket reports a backlog over the growth threshold, so
every socket paces at a longer interval. Prints per mode: quotes frames sent per second, the
age of the newest value in a frame when it was sent (p50/p99: what the trader waits
for), the CPU the process used per second, how the merged frames left (with a frame
/ by the tick), and the `quote_pace` frames each socket got (one per change of interval).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streaming.tabs.adaptive_flush import FlushPace

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class TickOnly:
    """The alternative policy: merged values leave only from the process's tick, once
    the socket's interval has passed (never with an arriving frame)."""

    def with_arriving_frame(self, pace: FlushPace, now: float) -> bool:
        return False

    def by_tick(self, pace: FlushPace, now: float) -> bool:
        return pace.due(now)


class Carrier:
    """A socket that never drains below the growth threshold; records the age of each
    quotes frame's newest value when it is sent."""

    def __init__(self, backlog: int, ages: list[float]) -> None:
        self._backlog = backlog
        self.ages = ages
        #: Quotes frames sent (a `quote_pace` frame, each time the interval changes, is not one).
        self.frames = 0
        self.paces = 0

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        if text.startswith('{"type":"quote_pace"'):
            self.paces += 1
        elif text.startswith('{"type":"quotes"'):
            self.frames += 1
            t = int(text.rsplit('"t":', 1)[1].rstrip("}"))
            self.ages.append(time.time() * 1000 - t)

    async def end(self, code: int) -> None:
        pass

    def backlog(self) -> int:
        return self._backlog

    def written(self) -> int | None:
        return None

    def taken(self) -> int | None:
        return None


async def run(mode: str, args: argparse.Namespace) -> dict[str, float]:
    import orjson

    from streaming.brokers.values import now_ms
    from streaming.contract.layer import ToTab
    from streaming.node import Node
    from streaming.tabs import adaptive_flush as flush
    from streaming.tabs.session import TabSession

    grace = flush.STRAGGLER_GRACE if args.grace is None else args.grace
    policy = flush.ArrivalFlush(grace) if mode == "arrival" else TickOnly()
    node = Node()  # each run's own: a fresh flusher, its load and counts
    flusher = node.flusher
    ages: list[float] = []
    users = []
    for u in range(args.users):
        tabs = []
        for k in range(args.tabs):
            carrier = Carrier(flush.GROW_BACKLOG + 1, ages)
            tab = TabSession(carrier, f"tab{u}-{k}", flush_policy=policy, parts=node)
            tab.awaiting_snapshot = False
            tab.pacing.open()
            tabs.append((tab, carrier))
        users.append(tabs)
    symbols = [f"B{i:03d}" for i in range(100)]
    stop = time.monotonic() + args.seconds

    async def owner(tabs: list) -> None:
        await asyncio.sleep(random.random() * 0.15)
        mine = random.sample(symbols, args.symbols)
        while time.monotonic() < stop:
            t = now_ms()
            quotes = {s: {"bid": random.random(), "ask": random.random(), "t": t} for s in mine}
            text = orjson.dumps({"type": "quotes", "quotes": quotes, "greeks": {}, "t": t})
            message = {"type": ToTab.FRAME, "kind": "quotes", "text": text.decode()}
            message |= {"seq": None, "epoch": None, "t": t}
            for tab, _ in tabs:
                await tab.stream_frame(message)
            await asyncio.sleep(0.15)

    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(owner(tabs) for tabs in users))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    frames = sum(t.frames for tabs in users for _, t in tabs)
    paces = sum(t.paces for tabs in users for _, t in tabs)
    for tabs in users:
        for tab, _ in tabs:
            tab.pacing.close()
    await flusher.stop()
    ages.sort()
    return {
        "frames/s": frames / wall,
        "age p50 ms": statistics.median(ages),
        "age p99 ms": ages[int(len(ages) * 0.99)],
        "CPU %": 100 * cpu / wall,
        "with a frame": flusher.sent["arrival"],
        "by the tick": flusher.sent["tick"],
        "quote_pace per socket": paces / sum(len(tabs) for tabs in users),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--tabs", type=int, default=4)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--grace", type=float, help="arrival's straggler grace (seconds)")
    parser.add_argument("--modes", default="arrival,tick,arrival,tick")
    args = parser.parse_args()
    import django

    django.setup()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.users} users x {args.tabs} tabs")
    print(
        "| mode | frames/s | newest value's age p50 / p99 ms | CPU % | with a frame | by the tick "
        "| quote_pace per socket |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        r = asyncio.run(run(mode, args))
        print(
            f"| {mode} | {r['frames/s']:.0f} | {r['age p50 ms']:.0f} / {r['age p99 ms']:.0f} "
            f"| {r['CPU %']:.0f} | {r['with a frame']} | {r['by the tick']} "
            f"| {r['quote_pace per socket']:.1f} |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)


if __name__ == "__main__":
    main()
