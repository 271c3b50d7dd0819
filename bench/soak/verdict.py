"""The soak's verdict: after the drain, per tab the fills placed for its user against those
delivered exactly once, its longest silence and its reconnects; the daphne processes' RSS
and their logs' Tracebacks; the faults and their recoveries; and one summary line (exit
code 1 on a lost or duplicated fill, another user's data, a fault not healed, or a connected
tab silent longer than `SILENCE_LIMIT`)."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.soak.day import Soak, say
from tests.support.clients import StreamClient

#: The run fails if any connected tab went this long without a frame (the longest
#: planned outage, every broker dead, lasts 35 s).
SILENCE_LIMIT = 60.0


def silence_ended_at(run: Soak, client: StreamClient) -> float | None:
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
    return None if at is None else at - run.started


def filled(client: StreamClient, link: int, order_id: Any) -> float:
    """What the tab shows as filled (like `filled_quantity`, without recording)."""
    order = client.order(link, order_id)
    if order is None:
        return 0.0
    return sum(float(f["quantity"] or 0) for leg in order.get("legs", []) for f in leg["fills"])


def all_delivered(run: Soak) -> bool:
    return all(
        tab.client.live
        and all(filled(tab.client, tab.trader.link, oid) >= qty for oid, qty in tab.trader.placed)
        for tab in run.tabs
    )


async def drain(run: Soak) -> float:
    began = time.monotonic()
    while time.monotonic() - began < run.args.drain and not all_delivered(run):
        await asyncio.sleep(0.25)
    return time.monotonic() - began


def report(run: Soak, drained: float) -> int:
    """Everything the verdict prints; the exit code (1: failed)."""
    say("")
    say(f"drain: {drained:.1f} s (limit {run.args.drain:.0f} s)")
    say("")
    totals, worst_silence = print_tabs(run)
    print_problems(run)
    say("")
    values = print_rss(run)
    say("")
    tracebacks = print_logs(run)
    rejected = sum(tr.rejected for tr in run.traders)
    crowded = [tr.username for tr in run.traders if len(tr.placed) > 200]
    if crowded:
        say(f"note: {crowded} placed more than 200 orders: a snapshot holds the newest 200")
    say("")
    say("faults and recoveries:")
    for line in run.events:
        say("  " + line)
    say("")
    rss_part = f"RSS {min(values):.0f}-{max(values):.0f} MiB" if values else "RSS n/a"
    orders = sum(len(tr.placed) for tr in run.traders)
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
        or run.not_recovered
        or worst_silence > SILENCE_LIMIT
    )
    if failed:
        say(f"FAILED ({run.not_recovered} faults not healed; silence limit {SILENCE_LIMIT} s)")
    return 1 if failed else 0


def print_tabs(run: Soak) -> tuple[Counter[str], float]:
    """A row per tab; the totals over the tabs, and the longest silence of any."""
    header = (
        f"{'tab':<18} {'via':<9} {'placed':>6} {'deliv':>6} {'lost':>5} {'dup':>4} "
        f"{'viol':>4} {'max_sil_s':>9} {'ended_at':>8} {'reconn':>6} {'failed':>6} "
        f"{'snaps':>5} {'live':>4}  closes"
    )
    say(header)
    totals: Counter[str] = Counter()
    worst_silence = 0.0
    for tab in run.tabs:
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
        ended = silence_ended_at(run, c)
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
    return totals, worst_silence


def print_problems(run: Soak) -> None:
    """The tabs' violations and the orders not filled exactly once at a tab (30 of each)."""
    problems = [(tab.client.name, v) for tab in run.tabs for v in tab.client.violations] + [
        (tab.client.name, f"foreign accounts {sorted(tab.client.foreign)}")
        for tab in run.tabs
        if tab.client.foreign
    ]
    if problems:
        say("")
        say("violations (first 30):")
        for name, v in problems[:30]:
            say(f"  {name}: {v}")
    lost_orders = [
        (tab.client.name, oid, qty, filled(tab.client, tab.trader.link, oid))
        for tab in run.tabs
        for oid, qty in tab.trader.placed
        if filled(tab.client, tab.trader.link, oid) != qty
    ]
    if lost_orders:
        say("")
        say("orders not filled exactly once at a tab (first 30): tab, order, ordered, shown")
        for row in lost_orders[:30]:
            say(f"  {row}")


def print_rss(run: Soak) -> list[float]:
    """Each daphne's RSS every 10 s; every value."""
    say("daphne RSS (MiB) every 10 s:")
    names = sorted({name for _, row in run.rss for name in row})
    say(f"{'t_s':>7} " + " ".join(f"{n:>7}" for n in names))
    for t, row in run.rss:
        say(f"{t:7.0f} " + " ".join(f"{row[n]:7.1f}" if n in row else f"{'-':>7}" for n in names))
    return [v for _, row in run.rss for v in row.values()]


def print_logs(run: Soak) -> int:
    """Each daphne log's Tracebacks by the exception that ended them; how many in all."""
    say("daphne logs:")
    all_apps = {**run.dead, **run.apps}
    tracebacks = 0
    for name in sorted(all_apps):
        app = all_apps[name]
        count, kinds = traceback_summary(app.log_path)
        tracebacks += count
        state = "killed" if name in run.dead else "running"
        say(f"  {name} pid {app.pid} ({state}) {app.log_path}: Traceback x{count}")
        for line, n in kinds.most_common(8):
            say(f"      {n} x {line}")
    return tracebacks


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
