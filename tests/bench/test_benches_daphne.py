"""The benches that stand on one daphne (the browser's pages, candles, order entry, risk,
slow clients, memory per socket) get a smoke run each (tests/bench/smoke.py): tiny sizes, a
real process, exit 0 and the numbers it exists to print. The rest are in
test_benches_cluster.py: the live-process phase's two workers share the benches.

bench/proc.py runs through shared_tabs and slow_clients (and soak), bench/cluster/users.py
through socket_memory (and cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.smoke import Smoke, run

#: A number as the benches print it (1,234.5 or -3; never nan), and a p50/p99 pair.
N = r"-?\d[\d,]*(?:\.\d+)?"
P50_P99 = rf"p50 {N} ms, p99 {N} ms"
#: Candles' cells: a latency summary with at least one sample.
LIVE = rf"p50 {N} ms, p99 {N} ms, max {N} ms \(n = [1-9]\d*\)"

SMOKES = [
    Smoke(
        "browser",
        # the chain page takes the same path as the market page (a page after the login)
        (
            *("--pages", "dashboard", "market", "--measure", "0.5", "--settle", "0", "--json"),
            *("--tick-rate", "4", "--browser", "shell"),
        ),
        seconds=70,
        expect=(
            rf'^  "first_live_quote_ms": {N},$',
            rf"^\| dashboard \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \|$",
            *(
                rf"^\| {page} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| {N} \| — \|$"
                for page in ("market",)
            ),
        ),
    ),
    Smoke(
        "candles",
        (
            *("--symbols", "1", "--rounds", "1", "--concurrency", "1", "--live-seconds", "2"),
            *("--browser", "shell"),
        ),
        seconds=50,
        expect=tuple(
            rf"^\| {broker} \| {LIVE} \| {LIVE} \| {LIVE} \([1-9]\d* said cached\) \| {LIVE} \|$"
            for broker in ("tastytrade", "tradier")
        ),
    ),
    Smoke(
        "chromium_pages",
        ("--browsers", "shell", "--runs", "1", "--idle", "0.5"),
        seconds=30,
        expect=(rf"^\| shell \| {N} \| {N} \| {N} \| {N} \|$",),
    ),
    Smoke(
        "orders",
        ("--orders", "1", "--pace", "0"),
        seconds=60,
        expect=tuple(
            rf"^\| {broker}: {what} \| {P50_P99} \|"
            for broker in ("tastytrade", "tradier", "alpaca")
            for what in (
                r"confirm → ack \(1 orders\)",
                "fill → Filled frame",
                r"linked \(OCO\) ack → the group's first frame",
                "stop triggered → its Filled frame",
                "stop triggered → the sibling's Cancelled frame",
            )
        ),
    ),
    Smoke(
        "risk",
        ("--ticks", "20", "--requests", "5"),
        seconds=20,
        expect=(
            rf"^\| risk recompute, 500 legs / 20 underlyings, .* \| p50 {N} ms, p99 {N} ms \|",
            rf"^\| `GET /api/risk/SPY`, 200 prices \(5 requests\) \| {P50_P99} \|",
        ),
    ),
    Smoke(
        "risk_page",
        ("--measure", "0.5", "--settle", "0", "--browser", "shell"),
        seconds=60,
        expect=(
            r"^\| /risk\?u=SPY \| main_thread_pct \| script_pct \| layout_pct \|",
            rf"^\| median of 1 \| {N} \| {N} \| {N} \| {N} \| {N} \|$",
        ),
    ),
    Smoke(
        "shared_tabs",
        ("--tabs", "2", "--measure", "0.5", "--browser", "shell"),
        seconds=50,
        expect=tuple(
            rf"^\| 2 \| {mode} \| {N} \| {N} \| {N} \| [+-]{N} \|$"
            for mode in (r"per tab \(`\?shared=0`\)", "shared")
        ),
    ),
    Smoke(
        "slow_clients",
        ("--sockets", "2", "--seconds", "2", "--order-every", "1", "--symbols", "2", "--clean"),
        seconds=30,
        expect=(
            rf"^summary: daphne RSS start {N} MiB",
            r"^slow sockets closed by the server: \d+ of 2",
            r"^orders placed ([1-9]\d*), filled once at the reading client \1, duplicated 0",
        ),
    ),
    Smoke(
        # a watched user's stream starts with the server, no page open (the watch's start
        # with daphne's loop: a first tab is not what starts it)
        "watched_users",
        ("--users", "2", "--measure", "0.5", "--watch-every", "0.5"),
        seconds=40,
        expect=(
            rf"^\| alerts → every DXLink live \| {N} s \| — \|$",
            r"^\| broker sessions \(DXLink / account streamer\) \| [2-9] / [2-9] \| were 0 / 0 \|$",
            rf"^\| daphne RSS \| {N} MiB \(idle {N}\) \| {N} KiB per watched user \|$",
        ),
    ),
    Smoke(
        "socket_memory",
        ("--sockets", "4", "--settle", "0.5", "--tracemalloc", "--frames", "4", "--redis"),
        seconds=30,
        expect=(
            r"^- layer: channels_redis\.core\.RedisChannelLayer$",
            r"^- sockets: 4 \(users: 1 users\)",
            rf"^- \*\*RSS per socket: {N} KiB\*\*$",
            rf"^- Python allocations per socket \(tracemalloc\): \*\*{N} KiB\*\*$",
        ),
    ),
]
#: The benches that drive Chromium (Playwright). Their smoke runs drive the headless shell,
#: the tests' browser (`--browser shell`; half the CPU of the full one); what they measure is
#: the full browser's, their default. bench.chromium_pages compares the two (its smoke run:
#: the shell's row; the full browser is launched by the notification tests).
BROWSER = {"browser", "candles", "chromium_pages", "risk_page", "shared_tabs"}


@pytest.mark.parametrize(
    "smoke",
    [s.param(pytest.mark.browser) if s.bench in BROWSER else s.param() for s in SMOKES],
)
def test_bench(smoke: Smoke, tmp_path: Path) -> None:
    run(smoke, tmp_path)
