"""Candle charts: history load time (cold and from the cache) and live candle latency.

    python -m bench.candles
    python -m bench.candles --symbols 20 --rounds 10 --concurrency 8 --live-seconds 30

Starts, on free loopback ports: the sandbox (in this process's thread, tick rate
`--tick-rate`) and one daphne (tests/support/live.py: SQLite, the in-memory channel
layer, Django's default local-memory cache), with one user per quote broker (a single
tastytrade or Tradier link each). Then, per broker:

- **history, cold**: `GET /api/candles/<S>?tf=5m` once for each of `--symbols` symbols
  (nothing cached: the owner asks the broker — DXLink Candle / Tradier time and sales);
- **history, from the cache**: `--rounds` more rounds over the same symbols from
  `--concurrency` concurrent clients (the closed candles cached until the 5-minute
  bucket closes; the forming candle re-fetched from the broker when 5 s old — that
  short call is part of what is measured);
- **live candle update**: a real Chromium on `/chart/SPY?tf=1m` for `--live-seconds`;
  each time the chart applies a quote to its forming candle, the page's clock minus the
  quote's broker event time (`t`; one host clock) — broker → manager → 150 ms
  conflation → WebSocket → reducer → next animation frame → the chart's `update()`.

Prints markdown rows for docs/performance.md ("Candle charts"). Bounded in time; stops
everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.browsers import BROWSERS, add_browser_option, launch
from tests.support.live import ALPACA_HEARTBEAT, LiveApp

SYMBOLS = (
    "SPY QQQ IWM DIA AAPL MSFT NVDA TSLA AMZN GOOGL META AMD NFLX INTC CSCO ORCL "
    "XLF XLE GLD TLT EEM IBM KO PEP"
).split()
#: The issue's goals.
GOALS = {"cached_p99_ms": 500.0, "live_p99_ms": 300.0}
OBSERVE = """(card) => {
  window.__lags = [];
  new MutationObserver(() => {
    const t = Number(card.getAttribute('data-quote-t'));
    if (t) window.__lags.push(Date.now() - t);
  }).observe(card, { attributes: true, attributeFilter: ['data-updates'] });
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):,.0f} ms, p99 {pct(values, 99):,.0f} ms, "
        f"max {max(values):,.0f} ms (n = {len(values):,})"
    )


async def history_loads(
    app: LiveApp, user: str, symbols: list[str], rounds: int, concurrency: int
) -> tuple[list[float], list[float], list[float], int]:
    """Cold, warm one at a time, warm concurrent load times (ms), and how many of the
    concurrent answers said `cached`."""
    login = app.login(user, "bench-pw")
    cookies = dict(login.cookies)
    login.close()
    async with httpx.AsyncClient(base_url=app.url, cookies=cookies, timeout=30) as client:

        async def load(symbol: str) -> tuple[float, bool]:
            began = time.perf_counter()
            r = await client.get(f"/api/candles/{symbol}", params={"tf": "5m"})
            took = (time.perf_counter() - began) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{user} {symbol}: HTTP {r.status_code} {r.text[:200]}")
            return took, bool(r.json()["cached"])

        cold = [took for took, _ in [await load(s) for s in symbols]]  # one at a time
        single = [took for took, _ in [await load(s) for s in symbols]]  # cached, one at a time
        gate = asyncio.Semaphore(concurrency)

        async def gated(symbol: str) -> tuple[float, bool]:
            async with gate:
                return await load(symbol)

        warm = await asyncio.gather(*(gated(s) for _ in range(rounds) for s in symbols))
    return cold, single, [took for took, _ in warm], sum(cached for _, cached in warm)


def live_lags(app: LiveApp, user: str, seconds: float, which: str = "full") -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, BROWSERS[which]())
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{app.url}/login/")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", "bench-pw")
        page.click("button[type=submit]")
        page.wait_for_url(f"{app.url}/")
        page.goto(f"{app.url}/chart/SPY?tf=1m")
        page.wait_for_function(
            "() => ['live', 'waiting', 'stale'].includes("
            "document.querySelector('[data-chart]').getAttribute('data-state'))",
            timeout=30_000,
        )
        page.evaluate(OBSERVE, page.query_selector("[data-chart]"))
        page.wait_for_timeout(seconds * 1000)
        lags = page.evaluate("() => window.__lags")
        browser.close()
    return [float(x) for x in lags]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--live-seconds", type=float, default=30.0)
    parser.add_argument("--tick-rate", type=float, default=10.0)
    add_browser_option(parser)
    args = parser.parse_args()
    symbols = SYMBOLS[: args.symbols]
    # tests/streaming/test_candles.py imports the app's models: Django first
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.streaming.test_candles import create_users

    users = {
        "bench-tt": (
            "tastytrade",
            {"provider_secret": "sandbox-provider-secret", "refresh_token": "bench-tt"},
        ),
        "bench-tr": ("tradier", {"access_token": "bench-tradier"}),
    }
    config = SandboxConfig(
        tick_rate=args.tick_rate, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=0
    )
    with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        app = LiveApp(sandbox.url, Path(tmp)).start()
        try:
            import tests.streaming.test_candles as tc

            tc.PASSWORD = "bench-pw"  # create_users reads it
            create_users(app, users)
            rows = []
            for user, (broker, _) in users.items():
                cold, single, warm, cached = asyncio.run(
                    history_loads(app, user, symbols, args.rounds, args.concurrency)
                )
                lags = live_lags(app, user, args.live_seconds, args.browser)
                rows.append(
                    f"| {broker} | {summary(cold)} | {summary(single)} "
                    f"| {summary(warm)} ({cached:,} said cached) "
                    f"| {summary(lags) if lags else 'no updates'} |"
                )
                ok_cache = pct(warm, 99) < GOALS["cached_p99_ms"]
                ok_live = bool(lags) and pct(lags, 99) <= GOALS["live_p99_ms"]
                rows.append(
                    f"|  | goal: — | — | goal p99 < 500 ms: {'met' if ok_cache else 'NOT met'} "
                    f"| goal p99 ≤ 300 ms: {'met' if ok_live else 'NOT met'} |"
                )
        finally:
            app.stop()
    print(
        f"\n{len(symbols)} symbols x 5m, {args.rounds} warm rounds at concurrency "
        f"{args.concurrency}; live {args.live_seconds:.0f} s of SPY 1m, tick rate "
        f"{args.tick_rate}/s\n"
    )
    print(
        "| broker | history, cold (one at a time) | from the cache, one at a time "
        f"| from the cache, {args.concurrency} concurrent | live candle update |"
    )
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
