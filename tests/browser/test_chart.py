"""Candle charts in a real Chromium against a real daphne + sandbox: the history drawn by
Lightweight Charts equals the API's (read back from the chart), the forming candle moves
with live quotes over the WebSocket and over SSE, a timeframe switch reloads the history
while the stream goes on, at tastytrade and at Tradier; an Alpaca-only user is told there
is no market data; a bad timeframe or an unknown symbol is a message on the page (the
stream goes on); the watchlist rows carry live sparklines that link to the charts. The
1h and 1d axes show dates, the daily candle is live while the price ticks, times are in
the trader's zone (New York's: none chosen), named, and the note says what the candles
cover; after a quote failover the sparklines and every timeframe's candles are still
served. With the demo's holdings, the
bitcoin position's menu opens the coin's chart (titled BTC/USD, candles from DXLink, the
coin's price: not a made-up stock at $50) and makes an alert on it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer
from streaming.brokers.bars import TIMEFRAMES
from tests.browser.test_dashboard import log_in as log_in_demo
from tests.streaming.test_candles import PASSWORD, USERS, create_pair_users, create_users
from tests.support import holdings
from tests.support.live import LiveApp

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "chart.png"
CHART = "() => window.streamdesk.chart()"
LIVE = ("live", "sse")
#: A user with a tastytrade and a Tradier link whose quotes fail over (its own credential).
FAILOVER = {"bf": "browser-failover"}
#: An axis label that is a date ("Nov 25"), a month ("Nov") or a year; a time of day.
DATE_LABEL = re.compile(r"^([A-Z][a-z]{2}( \d{1,2})?|\d{4})$")
TIME_LABEL = re.compile(r"^\d{2}:\d{2}$")
NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def chart_users(browser_app) -> Iterator[dict]:
    create_users(browser_app, USERS)
    create_pair_users(browser_app, FAILOVER)
    yield USERS


def log_in_as(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def api_candles(page: Page, symbol: str, tf: str) -> dict:
    return page.evaluate(
        "([s, tf]) => fetch(`/api/candles/${s}?tf=${tf}`).then((r) => r.json())", [symbol, tf]
    )


def wait_for_history(page: Page, tf: str) -> dict:
    card = page.locator("[data-chart]")
    expect(card).to_have_attribute("data-tf", tf)
    expect(card).to_have_attribute("data-state", _drawn(), timeout=20_000)
    return page.evaluate(CHART)


def _drawn():
    import re

    return re.compile(r"^(live|waiting|stale)$")


def history_answer(symbol: str, tf: str):
    """The chart's own history request answered (for `page.expect_response`)."""
    return lambda r: r.url.endswith(f"/api/candles/{symbol}?tf={tf}") and r.ok


def assert_drawn_like_the_api(page: Page, answer: dict, width_s: int, asked_at: float) -> dict:
    """The bars the chart holds (read back from the library) are the candles of the API's
    answer to the chart's own request (`answer`, caught on the wire) in seconds: those
    that had closed before the chart asked for its history (`asked_at`, epoch s: just
    before the test opened the chart or switched its timeframe) exactly; a later one was
    drawn (in part) from live quotes while it formed, however many minutes a loaded box
    let pass before this reads them. Not a later read of the API: once the bucket the
    chart asked in has closed, that read is a new broker fetch, and the sandbox's Tradier
    re-draws its live day's bars on every fetch (docs/sandbox.md, "One truth for bars")."""
    chart = wait_for_history(page, answer["tf"])
    bars = chart["bars"]
    api = answer["candles"]
    assert len(bars) >= 50, len(bars)
    drawn, said = page.evaluate(
        """() => [window.streamdesk.chart().bars.length,
                  Number(document.querySelector('[data-chart]').getAttribute('data-bars'))]"""
    )
    assert drawn == said
    times = [b["time"] for b in bars]
    assert times == sorted(set(times)) and all(t % width_s == 0 for t in times)
    api_closed = {c["t"] // 1000: c for c in api[:-1]}
    forming_when_asked = asked_at // width_s * width_s
    history = [b for b in bars if b["time"] < forming_when_asked]
    assert len(history) >= len(bars) - 5, (len(history), len(bars))
    matched = 0
    for b in history:
        c = api_closed.get(b["time"])
        if c is not None:
            assert (b["open"], b["high"], b["low"], b["close"]) == (
                c["open"],
                c["high"],
                c["low"],
                c["close"],
            ), (b, c)
            matched += 1
    assert matched >= len(history) - 5, (matched, len(history))
    return chart


def close_of(expiration: str) -> float:
    """Epoch seconds of 16:00 New York on `expiration` (an equity option's close)."""
    day = dt.date.fromisoformat(expiration)
    return dt.datetime.combine(day, dt.time(16), NY).timestamp()


def assert_band_is_the_chains(page: Page, chains: list[tuple[float, dict]]) -> dict:
    """The chart's expected-move band is ±price x IV x sqrt(days/365) of the chain answer the
    page asked (`chains`: each chain answer the page received, with when): the price is the
    chain's `underlying_price`, the IV the mid of the call's and put's IV at the strike
    nearest it (ties: the lower), computed here apart from the page's code; the days to
    16:00 New York of the nearest expiration at least a day out; the label and the price
    lines drawn by the library say the same numbers."""
    card = page.locator("[data-chart]")
    expect(card).to_have_attribute("data-band", "drawn", timeout=20_000)
    expiration = card.get_attribute("data-band-expiration") or ""
    price = float(card.get_attribute("data-band-price") or "nan")
    days = float(card.get_attribute("data-band-days") or "nan")
    at, chain = next(
        (t, c)
        for t, c in reversed(chains)
        if c["expiration"] == expiration and c["underlying_price"] == price
    )
    ahead = [d for d in chain["expirations"] if (close_of(d) - at) / 86_400 >= 1]
    assert expiration == min(ahead), (expiration, chain["expirations"])
    # the page's days are its clock's at the answer: this test's clock then, within 5 s
    assert abs(days - (close_of(expiration) - at) / 86_400) < 5 / 86_400, days
    row = min(chain["rows"], key=lambda r: (abs(r["strike"] - price), r["strike"]))
    ivs = [v for v in (row["call"]["iv"], row["put"]["iv"]) if v]
    iv = sum(ivs) / len(ivs)
    assert float(card.get_attribute("data-band-iv") or "nan") == pytest.approx(iv, rel=1e-12)
    move = price * iv * (days / 365) ** 0.5
    label = page.locator("[data-chart-band]")
    expect(label).to_have_text(
        f"Expected move ±{move:,.2f} ({chr(177)}{move / price * 100:.1f}%) by {expiration}: "
        f"{price - move:,.2f} \u2013 {price + move:,.2f}"
    )
    band = page.evaluate(CHART)["band"]
    assert sorted((line["title"], round(line["price"], 6)) for line in band["lines"]) == sorted(
        [("+1\u03c3", round(price + move, 6)), ("\u22121\u03c3", round(price - move, 6))]
    ), band["lines"]
    return band


def wait_for_live_updates(page: Page, more: int = 2) -> None:
    """The forming candle moves: the chart applied new quotes to its newest candle.

    The chart, its state and the card's attributes are read in one go, at a moment the
    candle is live: a minute can roll over between two reads (the chart then rightly says
    `waiting` until the new minute's first trade: seen in CI at Tradier for a quiet PEP)."""
    before = page.evaluate(CHART)["updates"]
    try:
        handle = page.wait_for_function(
            """(n) => { const chart = window.streamdesk.chart();
                    if (chart.updates < n || chart.state !== 'live') return null;
                    const card = document.querySelector('[data-chart]');
                    return [chart, card.getAttribute('data-forming-t'),
                            card.getAttribute('data-forming-close')]; }""",
            arg=before + more,
            timeout=20_000,
        )
    except PlaywrightTimeoutError:
        chart = page.evaluate(CHART)
        raise AssertionError(
            f"no live candle with {more} new updates: {chart['state']}, {chart['status']}"
        ) from None
    chart, forming_t, forming_close = handle.json_value()
    assert chart["forming"] is True
    newest = chart["bars"][-1]
    assert int(forming_t) == newest["time"] * 1000
    assert float(forming_close) == newest["close"]


@pytest.mark.parametrize("user", ["tt", "tr"])
def test_chart_draws_history_then_goes_live_and_switches_timeframe(
    page: Page, browser_app, chart_users, user: str
):
    """At tastytrade (DXLink candles) and Tradier (time and sales): history drawn, the
    forming candle live, a switch to 5m reloads the history in the same page, the stream
    never stops; then over SSE and by polling the candle moves too."""
    broker = USERS[user][0]
    log_in_as(page, browser_app.url, user)
    chains: list[tuple[float, dict]] = []  # the chart's chain answers (the band's inputs)
    page.on(
        "response",
        lambda r: (
            chains.append((time.time(), r.json())) if "/api/chain/SPY?" in r.url and r.ok else None
        ),
    )
    # reachable from the watchlist: the row's sparkline links to the chart
    spark = page.locator('tr[data-quote="SPY"] a.spark-link')
    expect(spark).to_have_attribute("href", "/chart/SPY")
    asked_at = time.time()
    with page.expect_response(history_answer("SPY", "5m")) as answered:
        spark.click()
        page.wait_for_url(f"{browser_app.url}/chart/SPY")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    chart = assert_drawn_like_the_api(page, answered.value.json(), 300, asked_at)
    assert chart["source"] == broker
    band = assert_band_is_the_chains(page, chains)
    wait_for_live_updates(page)
    # the band's chain is asked at load (twice when the first expiration is under a day
    # away), then once a minute: never per tick
    assert page.evaluate(CHART)["band"]["asks"] == band["asks"] <= 2
    page.evaluate("() => { window.__samePage = true; }")

    asked_at = time.time()
    with page.expect_response(history_answer("SPY", "1m")) as answered:
        page.click("a[data-tf='1m']")
    chart = assert_drawn_like_the_api(page, answered.value.json(), 60, asked_at)
    assert page.url.endswith("/chart/SPY?tf=1m")
    assert page.evaluate("() => window.__samePage") is True  # no reload: the stream went on
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
    expect(page.locator("a[data-tf='1m']")).to_have_attribute("aria-current", "true")
    wait_for_live_updates(page)
    # the server-rendered shell had the last known value
    html = page.request.get(f"{browser_app.url}/chart/SPY?tf=1m").text()
    assert 'data-field="last" data-value=""' not in html

    if user == "tt":
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.click("a[data-tf='5m']")
        wait_for_history(page, "5m")
        wait_for_live_updates(page, 1)
        page.screenshot(path=str(ARTIFACTS / "chart.png"), full_page=True)
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "chart.png", DOCS_IMAGE)

    # the SSE fallback carries the chart's live updates (its symbol is in ?symbols=)
    # (PEP and KO are in no watchlist: only the chart's own subscription streams them)
    page.goto(f"{browser_app.url}/chart/PEP?tf=1m&transport=sse")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "sse", timeout=10_000)
    wait_for_history(page, "1m")
    wait_for_live_updates(page)
    state = page.evaluate("window.streamdesk.state()")
    assert state["connects"] == 0 and state["fallback"] == "sse"
    assert "PEP" not in state["watchlist"]["symbols"]
    # and polling (/api/snapshot?tab=…&symbols=KO: the stream subscribes it for the poller)
    page.goto(f"{browser_app.url}/chart/KO?tf=1m&transport=poll")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "polling", timeout=10_000)
    wait_for_history(page, "1m")
    wait_for_live_updates(page)
    assert page.errors == []  # type: ignore[attr-defined]


def test_no_market_data_bad_input_and_sparklines(
    page: Page, browser_app, browser_sandbox, chart_users
):
    """Alpaca only: a stock has no market data (the sentence names who quotes stocks); a
    bad timeframe and an unknown symbol:
    their message on the page while the stream stays live; the watchlist's sparklines
    have the day's path, and positions and market tiles link to charts."""
    log_in_as(page, browser_app.url, "al")
    page.goto(f"{browser_app.url}/chart/SPY")
    card = page.locator("[data-chart]")
    expect(card).to_have_attribute("data-state", "no-data")
    expect(card.locator("[data-chart-status]")).to_have_text(
        "Stocks are quoted by tastytrade and Tradier: link one to chart SPY."
    )
    page.context.clear_cookies()

    log_in_as(page, browser_app.url, "tt")
    response = page.goto(f"{browser_app.url}/chart/SPY?tf=2m")
    assert response is not None and response.status == 400
    expect(card).to_have_attribute("data-state", "error")
    expect(card.locator("[data-chart-status]")).to_have_text(
        "Unknown timeframe '2m': choose one of 1m, 5m, 15m, 1h, 1d."
    )
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    page.goto(f"{browser_app.url}/chart/Q.?tf=5m")
    expect(card).to_have_attribute("data-error", "unknown_symbol", timeout=20_000)
    expect(card).to_have_attribute("data-state", "error")
    expect(card.locator("[data-chart-status]")).to_have_text("tastytrade has no candles for Q.")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)

    page.goto(f"{browser_app.url}/")
    rows = page.locator("tr[data-quote]")
    expect(rows.first).to_be_visible()
    symbols = [r.get_attribute("data-quote") for r in rows.all()]
    assert symbols
    for symbol in symbols:
        svg = page.locator(f'tr[data-quote="{symbol}"] svg[data-spark="{symbol}"]')
        expect(svg).to_have_attribute("data-state", "ready", timeout=20_000)
    spark = page.evaluate(
        """() => [...document.querySelectorAll('svg[data-spark]')].map((s) => ({
             symbol: s.getAttribute('data-spark'), points: Number(s.getAttribute('data-points')),
             d: s.querySelector('path').getAttribute('d'),
             href: s.closest('a').getAttribute('href') }))"""
    )
    for s in spark:
        assert s["points"] >= 2 and s["d"].startswith("M"), s
        assert s["href"] == f"/chart/{s['symbol']}"
    # live: the SPY line ends at the last quote, below the day's open, then above it. (Not
    # "the path changes": before the newest day's first 15-minute candle has closed, just
    # after midnight in New York, the line is the open and the live point, drawn the same
    # wherever the price is on one side of the open.)
    day_open = page.request.get(f"{browser_app.url}/api/sparklines/SPY").json()["open"]
    spy = page.locator('svg[data-spark="SPY"]')
    control = browser_sandbox.control()
    try:
        control.set_price("SPY", round(day_open * 0.97, 2))
        expect(spy).to_have_attribute("data-trend", "down", timeout=20_000)
        below = spy.locator("path").get_attribute("d")
        control.set_price("SPY", round(day_open * 1.03, 2))
        expect(spy).to_have_attribute("data-trend", "up", timeout=20_000)
        expect(spy.locator("path")).not_to_have_attribute("d", below)
    finally:
        control.close()
    # positions and the market strip link to charts too
    link = page.locator("tr[data-position] a.chart-link").first
    expect(link).to_have_attribute("href", _chart_href())
    expect(page.locator("[data-overview] [data-tile=SPY] a.chart-link")).to_have_attribute(
        "href", "/chart/SPY"
    )
    assert page.errors == []  # type: ignore[attr-defined]


def _chart_href():
    import re

    return re.compile(r"^/chart/[A-Z%0-9]")


def covered_hours(candles: list[dict], tf: str) -> str:
    """What intraday candles cover, read from their New York start times (the note's
    claim, computed apart from the page's code)."""
    width = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}[tf]
    hours = "regular"
    for c in candles:
        at = dt.datetime.fromtimestamp(c["t"] / 1000, NY)
        start = at.hour * 60 + at.minute
        if start + width <= 4 * 60 or start >= 20 * 60:
            return "all-day"
        if start + width <= 9 * 60 + 30 or start >= 16 * 60:
            hours = "extended"
    return hours


def test_axes_show_dates_the_daily_candle_is_live_and_times_are_labelled(
    page: Page, browser_app, chart_users
):
    """1h: the axis has dates where days begin (it read "19:00" on every label); 1d: the
    axis reads dates and the daily candle moves with the quotes — also in the evening,
    when the sandbox's (24-hour, UTC) trading day is dated tomorrow; the note says what
    the candles cover (not "regular hours" over round-the-clock candles) and times are
    New York's (no zone chosen), named EST/EDT; no value reads -0.00."""
    log_in_as(page, browser_app.url, "tt")
    page.goto(f"{browser_app.url}/chart/SPY?tf=1h")
    chart = wait_for_history(page, "1h")
    expect(page.locator("[data-chart]")).to_have_attribute("data-hours", re.compile(".+"))
    chart = page.evaluate(CHART)
    dates = [label for label in chart["axis"] if DATE_LABEL.match(label)]
    assert dates, chart["axis"]
    assert len(set(chart["axis"])) > 1, chart["axis"]
    hours = covered_hours(api_candles(page, "SPY", "1h")["candles"], "1h")
    assert chart["hours"] == hours
    note = chart["note"]
    assert re.search(r"Times in America/New_York \(E[SD]T\)", note) and "tastytrade" in note, note
    if hours != "regular":
        assert "regular hours" not in note, note
    wait_for_live_updates(page, 1)
    chart = page.evaluate(CHART)
    assert re.match(r"Live: the .+ E[SD]T candle is forming", chart["status"]), chart["status"]
    assert not re.search(r"-0\.0+\b", chart["changeText"]), chart["changeText"]

    page.click("a[data-tf='1d']")
    wait_for_history(page, "1d")
    wait_for_live_updates(page, 2)  # the daily candle is live: not "waiting for the first trade"
    chart = page.evaluate(CHART)
    assert chart["hours"] == "daily" and "one candle per trading day" in chart["note"]
    assert chart["axis"] and all(DATE_LABEL.match(label) for label in chart["axis"]), chart["axis"]
    assert not any(TIME_LABEL.match(label) for label in chart["axis"])
    newest = chart["bars"][-1]["time"] * 1000
    today = dt.datetime.now(NY).date()
    shown = dt.datetime.fromtimestamp(newest / 1000, dt.UTC).date()
    assert 0 <= (shown - today).days <= 1, (shown, today)  # today, or the day begun tonight
    assert page.errors == []  # type: ignore[attr-defined]


def test_sparklines_and_candles_are_served_after_a_quote_failover(
    page: Page, browser_app, browser_sandbox, chart_users
):
    """tastytrade stops answering, the quotes fail over to Tradier: on a fresh load the
    watchlist's sparklines are drawn from Tradier and every timeframe's chart draws its
    history (before: 404 "Tradier has no history for SPY")."""
    log_in_as(page, browser_app.url, "bf")
    tradier = page.locator('#links [data-link]:has(.link-label:text-is("tradier"))')
    tastytrade = page.locator('#links [data-link]:has(.link-label:text-is("tastytrade"))')
    expect(tastytrade).to_have_attribute("data-quote-source", "true", timeout=20_000)
    # a page's sparklines come from the link that sources its quotes when it asks: on a busy
    # box the page can ask before tastytrade's stream is up (Tradier's then, and they say so)
    page.reload()
    svg = page.locator('tr[data-quote="SPY"] svg[data-spark="SPY"]')
    # the app's history deadline (16 s, conftest.py) and a margin
    expect(svg).to_have_attribute("data-state", "ready", timeout=30_000)
    expect(svg).to_have_attribute("data-source", "tastytrade")
    # tastytrade's history of every timeframe, in the server's cache (switched in the page:
    # each switch asks the server for that timeframe's history, as a load does)
    first, *others = TIMEFRAMES
    page.goto(f"{browser_app.url}/chart/SPY?tf={first}")
    for tf in (first, *others):
        if tf != first:
            page.click(f"a[data-tf='{tf}']")
        assert wait_for_history(page, tf)["source"] == "tastytrade"
    page.goto(f"{browser_app.url}/")
    control = browser_sandbox.control()
    try:
        control.fault(
            "blackout", broker="tastytrade", credential=credential_id(FAILOVER["bf"]), seconds=120
        )
        # FAILOVER_AFTER after the watchdog (STREAM_WATCHDOG_TIMEOUT) noticed, and a margin
        expect(tradier).to_have_attribute("data-quote-source", "true", timeout=30_000)
        # a fresh load asks the server again (the browser may keep a sparkline until its
        # bucket closes: that is the point of caching it, not what is tested here)
        page.context.new_cdp_session(page).send("Network.clearBrowserCache")
        page.reload()
        rows = page.locator("tr[data-quote]")
        expect(rows.first).to_be_visible()
        for row in rows.all():
            symbol = row.get_attribute("data-quote")
            line = page.locator(f'tr[data-quote="{symbol}"] svg[data-spark="{symbol}"]')
            # a history not sent in time (the app's 16 s deadline: Tradier's first answers on
            # a busy box) is asked again after 5 s (sparklines.js, RETRY_MS), within the
            # deadline again; and a margin
            expect(line).to_have_attribute("data-state", "ready", timeout=(16 + 5 + 16 + 8) * 1000)
            expect(line).to_have_attribute("data-source", "tradier")
            assert int(line.get_attribute("data-points") or 0) >= 1
        page.goto(f"{browser_app.url}/chart/SPY?tf=1m")
        for tf, width in (("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600)):  # 1d below
            if tf != "1m":
                page.click(f"a[data-tf='{tf}']")
            chart = wait_for_history(page, tf)
            assert chart["source"] == "tradier", chart["status"]
            assert len(chart["bars"]) >= 50 and all(b["time"] % width == 0 for b in chart["bars"])
        page.click("a[data-tf='1d']")
        chart = wait_for_history(page, "1d")
        assert chart["source"] == "tradier" and len(chart["bars"]) >= 50, chart["status"]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        control.clear_faults()
        control.close()


# ------------------------------------------------------- the demo's holdings: bitcoin


@pytest.fixture(scope="module")
def holdings_sandbox() -> Iterator[SandboxServer]:
    with holdings.holdings_sandbox(tick_rate=4) as sandbox:
        yield sandbox


#: The history's deadline of this module's app (production's: 8 s). Its test is about the
#: coin's own candles (tastytrade's DXLink): with 8 s tastytrade had 5 before the next link
#: was asked, and on a loaded box Alpaca drew the chart. A link that cannot serve handing
#: over is tested in tests/streaming/test_candles.py.
HOLDINGS_HISTORY_DEADLINE = 30.0
#: Its quote source's waits (production's: 3 s down, 10 s to come up). The coin's chart is
#: tastytrade's while tastytrade is the source; at production's waits a loaded box (CI's
#: browser phase) let the quotes fail over, the coins went to Alpaca's coin feed, and Alpaca
#: drew the chart, as it should then. Failover and failback are tested in
#: tests/streaming/test_quote_feed.py and test_failback.py; here tastytrade stays the source
#: unless it is down for a minute.
HOLDINGS_QUOTE_WAITS = {"STREAM_FAILOVER_AFTER": "60", "STREAM_FIRST_CONNECT_GRACE": "60"}


@pytest.fixture(scope="module")
def holdings_app(holdings_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        holdings_sandbox.url,
        tmp_path_factory.mktemp("chart-holdings"),
        STREAM_HISTORY_DEADLINE=str(HOLDINGS_HISTORY_DEADLINE),
        **HOLDINGS_QUOTE_WAITS,
    ).start()
    yield app
    app.stop()


def test_the_bitcoin_positions_menu_opens_the_coins_chart_and_makes_an_alert_on_it(
    page: Page, holdings_app
):
    """The demo trader's tastytrade BTC/USD position: its ⋯ menu makes an alert on the coin
    (before: "not a valid symbol: 'BTC/USD'") and opens its chart (before: 400 "Not a valid
    symbol: 'BTC/USD:CXTALP'"): titled BTC/USD, drawn from tastytrade's DXLink candles, the
    price shown the coin's and the forming candle at it. Alpaca's `BTCUSD`, held as a coin,
    charts the same coin. A coin has no expected-move band: the legend says why."""
    base = holdings_app.url
    log_in_demo(page, base)
    row = page.locator("tr[data-position][data-streamer='BTC/USD:CXTALP']").first
    expect(row).to_be_visible(timeout=30_000)
    menu = row.locator("[data-row-menu]")
    expect(menu).to_have_attribute("data-row-menu", "BTC/USD:CXTALP")
    menu.click()
    page.click("[data-menu-alert='BTC/USD:CXTALP']")
    form = page.locator("[data-row-alert-form='BTC/USD:CXTALP']")
    form.locator("input[name=level]").fill("999999")
    form.locator("button[type=submit]").click()
    # the alert's POST answered (the owner's store on a loaded box: a margin over 5 s)
    expect(form).to_have_count(0, timeout=15_000)
    expect(page.locator("#messages")).to_contain_text("Alert created: BTC/USD above 999999.")

    menu.click()
    with page.expect_response(history_answer("BTC%2FUSD%3ACXTALP", "5m")) as answered:
        page.click("[data-menu-chart='BTC/USD:CXTALP']")
        page.wait_for_url(f"{base}/chart/BTC%2FUSD%3ACXTALP")
    assert answered.value.json()["source"] == "tastytrade"
    expect(page).to_have_title("[SIMULATED] BTC/USD · streamdesk")
    expect(page.locator("#chart-title .sym")).to_have_text("BTC/USD")
    chart = wait_for_history(page, "5m")
    assert chart["source"] == "tastytrade" and len(chart["bars"]) >= 50
    assert "crypto trades around the clock, every day" in chart["note"]
    # a coin has no chain: no band, and the legend says why (no number, no chain request)
    expect(page.locator("[data-chart]")).to_have_attribute("data-band", "none")
    expect(page.locator("[data-chart-band]")).to_have_text(
        "No expected move: BTC/USD has no option chain here (chains are of stocks and ETFs)."
    )
    assert chart["band"]["asks"] == 0 and chart["band"]["lines"] == []
    # the price shown is the coin's, and the forming candle closes at it (read at once)
    handle = page.wait_for_function(
        """() => { const chart = window.streamdesk.chart();
                   const shown = Number(document.querySelector('[data-field="last"]')
                                                 .getAttribute('data-value'));
                   const newest = chart.bars[chart.bars.length - 1];
                   return chart.forming && newest && newest.close === shown
                     ? [shown, chart.lastText] : null; }""",
        timeout=20_000,
    )
    shown, text = handle.json_value()
    assert shown > 10_000, shown  # a coin's price, not the made-up BTCUSD stock's ~$50
    assert text == f"{shown:,.2f}"
    assert page.errors == []  # type: ignore[attr-defined]

    page.goto(f"{base}/chart/BTCUSD")  # Alpaca's spelling, held there as a coin
    expect(page.locator("[data-chart]")).to_have_attribute("data-symbol", "BTC/USD:CXTALP")
    expect(page.locator("#chart-title .sym")).to_have_text("BTC/USD")
    wait_for_history(page, "5m")
