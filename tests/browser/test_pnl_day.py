"""The P&L curve survives a restart: a real daphne samples the demo user's accounts (the
sandbox's tastytrade, Tradier and Alpaca links) every second while /pnl is open in a real
Chromium; the server is stopped and started again on the same database and port; the open
page goes on polling and shows the points from before the restart and the new ones, and
the database holds exactly one row per (account, grid time). The page as a trader sees
it: the chart's view fitted to the day (first to last sample across the plot, not a
sliver at the right edge), times in the trader's zone and labelled, no sideways scroll at
desktop or phone width."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.test_all_day import put_preferences
from tests.browser.test_dashboard import ARTIFACTS, log_in
from tests.support.live import LiveApp

ROOT = Path(__file__).resolve().parents[2]
#: Written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "pnl.png"
INTERVAL = 1.0
#: A new owner's first sample comes once the page's next poll (one interval) has started the
#: stream and its accounts have streamed (the sandbox's links connect within ~3 s; the
#: watchdog, 5 s, bounds a slow one): the gap beyond the downtime stays under this.
START_MARGIN = INTERVAL + 5 + 4
#: The trader's zone (display preferences): every time on the page is in it, labelled.
ZONE = "America/New_York"
#: Points of the total before the screenshot: a curve a trader can read (~20 s at 1 s).
SHOWN_POINTS = 20
#: The share of the plot's width the day's first-to-last sample must span (fitted view).
FITTED_SPAN = 0.8

FITTED = """(min) => {
  const v = JSON.parse(document.getElementById('pnl-page').dataset.view || 'null');
  return !!v && v.first !== null && v.from <= v.first && v.to >= v.last && v.span >= min;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"

TOTAL_TIMES = """async () => {
  const r = await fetch('/api/pnl', { credentials: 'same-origin' });
  const body = await r.json();
  const total = body.series.find((s) => s.account === '');
  return total ? total.points.map((p) => p.t) : [];
}"""


def test_the_curve_survives_a_restart(page: Page, browser_sandbox, tmp_path):
    app = LiveApp(browser_sandbox.url, tmp_path, PNL_SAMPLE_INTERVAL=str(INTERVAL)).start()
    try:
        log_in(page, app.url)
        put_preferences(page, {"time_zone": ZONE})
        page.goto(f"{app.url}/pnl")
        root = page.locator("#pnl-page")
        expect(root).to_have_attribute("data-today", "true")
        expect(page.locator("[data-pnl-zone]")).to_contain_text(ZONE)
        # samples accumulate while the page is open (each poll holds the stream)
        page.wait_for_function(
            """() => Number(document.querySelector('[data-pnl-row=""] [data-field=points]')
                 .textContent) >= 4""",
            timeout=30_000,
            polling=200,
        )
        before = page.evaluate(TOTAL_TIMES)
        assert len(before) >= 4

        stopped = time.monotonic()
        app.stop()
        app.seed = False  # same database, same port: the open page's polls find it again
        app.start()
        downtime = time.monotonic() - stopped

        # the page shows the earlier points plus new ones, without a reload
        page.wait_for_function(
            """(n) => Number(document.querySelector('[data-pnl-row=""] [data-field=points]')
                 .textContent) >= n""",
            arg=len(before) + 4,
            timeout=30_000,
            polling=200,
        )
        after = page.evaluate(TOTAL_TIMES)
        assert after[: len(before)] == before
        assert len(after) >= len(before) + 4
        # on the grid, each once, ascending
        assert all(t % 1000 == 0 for t in after) and after == sorted(set(after))
        gap = (after[len(before)] - before[-1]) / 1000
        print(f"restart: down {downtime:.1f} s, gap in the curve {gap:.1f} s")
        assert gap <= downtime + START_MARGIN

        # exactly one row per (account, grid time) in the database
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:
            doubled = db.execute(
                "SELECT account, at, COUNT(*) FROM streaming_pnlsample"
                " GROUP BY user_id, account, at HAVING COUNT(*) > 1"
            ).fetchall()
            accounts = db.execute("SELECT DISTINCT account FROM streaming_pnlsample").fetchall()
        assert doubled == []
        assert len(accounts) >= 3  # the total and the demo's accounts

        # enough points for a curve a trader can read, then the page as they see it
        page.wait_for_function(
            """(n) => Number(document.querySelector('[data-pnl-row=""] [data-field=points]')
                 .textContent) >= n""",
            arg=SHOWN_POINTS,
            timeout=60_000,
            polling=200,
        )
        expect(page.locator("[data-pnl-chart] canvas").first).to_be_visible()
        label = datetime.now(ZoneInfo(ZONE)).strftime("%Z")  # "EST" or "EDT"
        for cell in ("high_at", "low_at"):
            expect(page.locator(f'[data-pnl-row=""] [data-field={cell}]')).to_have_text(
                re.compile(rf"^\d\d:\d\d:\d\d {label}$")
            )
        expect(page.locator("[data-pnl-recent] time").first).to_have_text(
            re.compile(rf"^\d\d:\d\d:\d\d {label}$")
        )
        expect(page.locator("[data-pnl-status]")).to_contain_text(label)
        for width, height in ((390, 844), (1280, 800)):
            page.set_viewport_size({"width": width, "height": height})
            # the chart refits to its new width, covering the first and last sample
            page.wait_for_function(FITTED, arg=FITTED_SPAN, timeout=10_000, polling=100)
            assert page.evaluate(OVERFLOW) <= 0, f"sideways scroll at {width} px"
            if width < 700:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "pnl-phone.png"), full_page=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pnl.png"), full_page=True)
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "pnl.png", DOCS_IMAGE)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        app.stop()
