"""The P&L curve survives a restart: a real daphne samples the demo user's accounts (the
sandbox's tastytrade, Tradier and Alpaca links) every second while /pnl is open in a real
Chromium; the server is stopped and started again on the same database and port; the open
page goes on polling and shows the points from before the restart and the new ones, and
the database holds exactly one row per (account, grid time). The page as a trader sees
it: the chart's view fitted to the day (first to last sample across the plot, not a
sliver at the right edge) and fitted again when the chart changes size, times in the
trader's zone and labelled, no sideways scroll at desktop or phone width. A page opened
before the day's first sample grows its total row and its newest samples when that
sample comes."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.test_all_day import put_preferences
from tests.browser.test_dashboard import ARTIFACTS, log_in
from tests.support.live import DEMO_USER, LiveApp

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
#: The chart's right margin (static/js/risk/pnl/page.js: the time scale's `rightOffsetPixels`).
RIGHT_MARGIN_PX = 36

#: The chart's view is fitted to the day, as measured at the chart's present size (a
#: report from before a resize does not count): every point of the total in view, the
#: chart's first bar (every series' times, a sample without a value included) at the plot's
#: left edge and its last bar at the right margin. lightweight-charts centres a point in its
#: bar and draws 1 px left of the centre, so each edge is within one bar (`bar`, the bar
#: spacing) and a pixel; a view squeezed into a sliver at the right edge has its first bar
#: far from the left edge, a view that follows the newest points has the first out of view.
FITTED = """(margin) => {
  const root = document.getElementById('pnl-page');
  const v = JSON.parse(root.dataset.view || 'null');
  const box = root.querySelector('[data-pnl-chart]');
  return !!v && v.first !== null && v.box === box.clientWidth
    && v.from <= v.first && v.to >= v.last
    && v.left >= -1 && v.left <= v.bar && v.right <= margin + v.bar + 1;
}"""
#: A resize is fitted at the chart's next paint (no sample needed); the rest is the margin
#: a loaded box gets.
REFIT_MS = 5_000
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
            page.wait_for_function(FITTED, arg=RIGHT_MARGIN_PX, timeout=REFIT_MS, polling=100)
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


def log_in_to(page: Page, app: LiveApp, path: str) -> None:
    """The login form, then straight to `path` (not the dashboard first)."""
    page.goto(f"{app.url}/login/?next={path}")
    page.fill("input[name=username]", DEMO_USER[0])
    page.fill("input[name=password]", DEMO_USER[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.url}{path}")


def test_the_first_sample_brings_the_total_row_and_the_newest_samples(
    page: Page, browser_sandbox, tmp_path
):
    """/pnl opened before the day has a sample: the brokers are blacked out at the sandbox
    (every request and handshake hangs), so the page is rendered with none, whatever the
    box's speed. When the blackout ends the first sample comes, and the open page shows the
    total's row (first, as the server renders it), the "Newest samples" section and the
    source line of a sampled day, without a reload."""
    app = LiveApp(browser_sandbox.url, tmp_path, PNL_SAMPLE_INTERVAL=str(INTERVAL)).start()
    control = browser_sandbox.control()
    try:
        control.fault("blackout", seconds=60)
        log_in_to(page, app, "/pnl")
        rendered = page.evaluate("JSON.parse(document.getElementById('pnl-data').textContent)")
        assert (rendered["source"], rendered["series"]) == ("none", []), rendered
        expect(page.locator("[data-pnl-empty]")).to_be_visible()
        expect(page.locator("[data-pnl-recent-card]")).to_be_hidden()
        control.fault("blackout", seconds=0)  # ends it: the hung requests are answered

        total = page.locator('.pnl-stats tbody tr[data-pnl-row=""]')
        page.wait_for_function(
            """() => Number(document.querySelector('[data-pnl-row=""] [data-field=points]')
                 ?.textContent) >= 1""",
            timeout=(START_MARGIN + INTERVAL) * 1000,
            polling=200,
        )
        expect(page.locator("[data-pnl-empty]")).to_have_count(0)
        expect(page.locator(".pnl-stats tbody tr").first).to_have_attribute("data-pnl-row", "")
        expect(total.locator("th")).to_have_text("Total")
        recent = page.locator("[data-pnl-recent-card]")
        expect(recent).to_be_visible()
        expect(recent.locator("h2")).to_have_text("Newest samples · Total")
        expect(recent.locator("[data-pnl-recent] tbody time[data-pnl-t]").first).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d \S+$")
        )
        expect(page.locator("[data-pnl-source-text]")).to_have_text(
            f"Sampled from your live stream every {INTERVAL:g} s."
        )
        expect(page.locator("#pnl-page")).to_have_attribute("data-source", "samples")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        control.clear_faults()
        control.close()
        app.stop()


def test_a_resize_refits_the_view_without_a_new_sample(page: Page, browser_sandbox, tmp_path):
    """An earlier day's page (it does not poll: no new sample ever redraws it) keeps its
    view fitted to the day when the chart changes size — a phone turned, a window resized."""
    app = LiveApp(browser_sandbox.url, tmp_path, PNL_SAMPLE_INTERVAL=str(INTERVAL)).start()
    try:
        # yesterday in New York, the page's day (UTC's yesterday is New York's today from
        # 19:00 or 20:00 New York on: the clean clone CI21 ran then and saw today's page)
        day = datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=1)
        app.python(
            "import datetime as dt\n"
            "from decimal import Decimal\n"
            "from django.contrib.auth import get_user_model\n"
            "from streaming.models import PnlSample\n"
            f"user = get_user_model().objects.get(username={DEMO_USER[0]!r})\n"
            f"start = dt.datetime({day.year}, {day.month}, {day.day}, 15, tzinfo=dt.UTC)\n"
            "PnlSample.objects.bulk_create(PnlSample(user=user, account='',"
            " at=start + dt.timedelta(seconds=i), net_liq=Decimal(100000 + 7 * i),"
            f" day_pnl=Decimal(7 * i - 40)) for i in range({SHOWN_POINTS}))\n",
        )
        log_in_to(page, app, f"/pnl?day={day.isoformat()}")
        expect(page.locator("#pnl-page")).to_have_attribute("data-today", "false")
        expect(page.locator('[data-pnl-row=""] [data-field=points]')).to_have_text(
            str(SHOWN_POINTS)
        )
        page.wait_for_function(FITTED, arg=RIGHT_MARGIN_PX, timeout=REFIT_MS, polling=100)
        for width, height in ((390, 844), (1280, 800), (700, 900)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_function(FITTED, arg=RIGHT_MARGIN_PX, timeout=REFIT_MS, polling=100)
        assert page.evaluate("document.getElementById('pnl-page').dataset.polls") == "0"
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        app.stop()
