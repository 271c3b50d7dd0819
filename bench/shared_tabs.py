"""Tabs of one browser sharing one connection: what N tabs cost the server, shared or not.

    python -m bench.shared_tabs                       # N = 1, 4, 8; 15 s per row
    python -m bench.shared_tabs --tabs 1 4 8 12 --measure 20

Starts the sandbox and one daphne (tests/support/live.py, the metrics token set) and a
real Chromium (Playwright, one browser context = one browser profile). For each N and
each mode it logs the demo user in, opens N dashboard tabs (`/`; `?shared=0` for the
per-tab connections of before), waits until all are live, lets them run `--measure`
seconds, and reads from the server: WebSockets open (`streamdesk_streams_open{transport=
"ws"}`), frames and bytes written to browser streams per second (`streamdesk_frames_out`,
`streamdesk_frame_bytes_out` deltas) and daphne's RSS minus its RSS before the row's tabs
opened beyond the first (the user's stream already warm, and the page rendered 2N times
over HTTP first, so that page renders' heap growth is not counted: the delta is what the
further tabs' streams cost). Each row gets a fresh daphne (Python's heap does not shrink
between rows).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from bench.proc import rss_mib
from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.browser.test_dashboard import log_in
from tests.support.browsers import BROWSERS, add_browser_option, launch
from tests.support.live import LiveApp

TOKEN = "bench-shared-tabs"


def scrape(app: LiveApp) -> dict[str, float]:
    text = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).text
    out = {}
    for name in ("streams_open", "frames_out_total", "frame_bytes_out_total"):
        m = re.search(rf'^streamdesk_{name}\{{transport="ws"\}} ([0-9.e+]+)$', text, re.M)
        out[name] = float(m.group(1)) if m else 0.0
    return out


def row(browser, app: LiveApp, tabs: int, shared: bool, measure: float) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        first = context.new_page()
        log_in(first, app.url)
        suffix = "" if shared else "?shared=0"
        if not shared:
            first.goto(f"{app.url}/{suffix}")
        pages = [first]
        expect(first.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=30_000)
        for _ in range(2 * tabs):  # page renders grow the heap too: warm them first
            first.request.get(f"{app.url}/{suffix}")
        time.sleep(2)
        rss_before = rss_mib(app.pid) or 0.0
        for _ in range(tabs - 1):
            page = context.new_page()
            page.goto(f"{app.url}/{suffix}")
            pages.append(page)
        for page in pages:
            expect(page.locator("#conn-state")).to_have_attribute(
                "data-state", "live", timeout=30_000
            )
        time.sleep(2)  # settle: the late tabs' catch-ups, the first flushes
        a = scrape(app)
        started = time.monotonic()
        time.sleep(measure)
        b = scrape(app)
        took = time.monotonic() - started
        return {
            "tabs": tabs,
            "shared": shared,
            "sockets": b["streams_open"],
            "frames_per_s": (b["frames_out_total"] - a["frames_out_total"]) / took,
            "kib_per_s": (b["frame_bytes_out_total"] - a["frame_bytes_out_total"]) / took / 1024,
            "rss_delta_mib": (rss_mib(app.pid) or 0.0) - rss_before,
        }
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--measure", type=float, default=15.0)
    add_browser_option(parser)
    args = parser.parse_args()
    config = SandboxConfig(tick_rate=4, alpaca_heartbeat_interval=2, demo_order_interval=0)
    with (
        SandboxServer(config) as sandbox,
        tempfile.TemporaryDirectory() as tmp,
        sync_playwright() as pw,
    ):
        path = BROWSERS[args.browser]()
        browser = launch(pw, path)
        try:
            print("| tabs | mode | sockets | frames/s | KiB/s | daphne RSS delta (MiB) |")
            print("|---|---|---|---|---|---|")
            for n in args.tabs:
                for shared in (False, True):
                    # a fresh daphne per row: Python's heap does not shrink between rows
                    app = LiveApp(sandbox.url, Path(tmp) / f"{n}-{shared}", METRICS_TOKEN=TOKEN)
                    (Path(tmp) / f"{n}-{shared}").mkdir()
                    app.start()
                    try:
                        r = row(browser, app, n, shared, args.measure)
                    finally:
                        app.stop()
                    mode = "shared" if shared else "per tab (`?shared=0`)"
                    print(
                        f"| {n} | {mode} | {r['sockets']:.0f} | {r['frames_per_s']:.1f} "
                        f"| {r['kib_per_s']:.1f} | {r['rss_delta_mib']:+.1f} |",
                        flush=True,
                    )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
