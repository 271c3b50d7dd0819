"""The /risk page's main-thread CPU while live (the issue's target: ≤ 20 % of a core).

    python -m bench.risk_page                       # SPY's graph, 30 s, 20 ticks/s/symbol
    python -m bench.risk_page --choice portfolio --measure 60

The same setup as bench/browser.py (the sandbox, one daphne serving collected static
files, Debian's Chromium): the demo trader logs in, opens `/risk?u=<choice>`, waits for
the graph to be drawn and the stream live, settles, then reads CDP
`Performance.getMetrics` TaskDuration over `--measure` seconds: the main thread's busy
time as % of one core, with the script and style+layout parts, the graph's re-fetches per
second (each one: today, expiration and the chosen date's curves from `GET /api/risk`,
throttled to ≤ 1/s) and the quote frames the page took.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from bench.browser import log_in
from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.browsers import BROWSERS, add_browser_option, launch
from tests.support.live import ALPACA_HEARTBEAT, LiveApp

RISK = "() => window.streamdesk.risk()"


def measure(browser: Any, base: str, args: argparse.Namespace) -> dict[str, float]:
    """One fresh context: log in, open the risk page, measure it live."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    frames = [0]
    cdp.send("Network.enable")
    cdp.on("Network.webSocketFrameReceived", lambda e: frames.__setitem__(0, frames[0] + 1))
    try:
        log_in(page, base)
        page.goto(f"{base}/risk?u={args.choice}")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator("[data-risk-graph]")).to_have_attribute(
            "data-state", "live", timeout=30_000
        )
        page.wait_for_timeout(args.settle * 1000)

        def metrics() -> dict[str, float]:
            return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

        a, fa, ra, ta = metrics(), frames[0], page.evaluate(RISK)["fetches"], time.monotonic()
        page.wait_for_timeout(args.measure * 1000)
        b, fb, rb, tb = metrics(), frames[0], page.evaluate(RISK)["fetches"], time.monotonic()
        took = tb - ta
        layout = (b["LayoutDuration"] - a["LayoutDuration"]) + (
            b["RecalcStyleDuration"] - a["RecalcStyleDuration"]
        )
        return {
            "main_thread_pct": 100 * (b["TaskDuration"] - a["TaskDuration"]) / took,
            "script_pct": 100 * (b["ScriptDuration"] - a["ScriptDuration"]) / took,
            "layout_pct": 100 * layout / took,
            "refetch_per_s": (rb - ra) / took,
            "ws_frames_per_s": (fb - fa) / took,
        }
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choice", default="SPY", help="an underlying held, or 'portfolio'")
    parser.add_argument("--measure", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--tick-rate", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat; medians")
    add_browser_option(parser)
    args = parser.parse_args()
    config = SandboxConfig(
        tick_rate=args.tick_rate, alpaca_heartbeat_interval=ALPACA_HEARTBEAT, demo_order_interval=20
    )
    with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        app = LiveApp(sandbox.url, Path(tmp))
        app.seed_database()
        app.collect_static()  # as scripts/run.sh serves them: collected, hashed, compressed
        app.spawn().wait_started()
        try:
            with sync_playwright() as pw:
                browser = launch(pw, BROWSERS[args.browser]())
                rows = [measure(browser, app.url, args) for _ in range(args.runs)]
                browser.close()
        finally:
            app.stop()
    keys = ["main_thread_pct", "script_pct", "layout_pct", "refetch_per_s", "ws_frames_per_s"]
    print(f"| /risk?u={args.choice} | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    cells = [f"{statistics.median(r[k] for r in rows):.1f}" for k in keys]
    print(f"| median of {len(rows)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
