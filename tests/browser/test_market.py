"""The market overview in a real Chromium: `/market` and the dashboard's strip show each
overview symbol's last, change and change % equal to the sandbox's own quote numbers
(frozen market), are server-rendered with the last known values, update live without a
reload over the WebSocket and over SSE, and refuse a bad list with a message while the
stream goes on.
"""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from streaming.portfolio.page import PAGE_SNAPSHOT_WAIT
from tests.browser.test_dashboard import log_in
from tests.browser.test_day_pnl import frozen_app, frozen_sandbox  # noqa: F401 - fixtures
from tests.support.wait import poll_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "market.png"
#: A list saved is one HTTP request and a database write, and the tiles redraw from its
#: answer: well under a second here; the margin is for a loaded 2-core box.
SAVED_MS = 15_000
TEN = ["SPY", "QQQ", "IWM", "DIA", "VIX", "GLD", "TLT", "EEM", "XLF", "XLE"]
INDICES = {"VIX"}

TILES = """(sel) => [...document.querySelectorAll(sel + ' [data-tile]')].map((t) => ({
    symbol: t.getAttribute('data-tile'),
    heat: t.getAttribute('data-heat'),
    label: t.getAttribute('aria-label'),
    ...Object.fromEntries(['last', 'change', 'change_pct'].flatMap((f) => {
      const n = t.querySelector(`[data-field=${f}]`);
      return [[f, n.getAttribute('data-value')], [`${f}_text`, n.textContent]];
    })),
  }))"""
FILLED = """(sel) => { const t = [...document.querySelectorAll(sel + ' [data-tile]')];
    return t.length > 0 && t.every((x) =>
      x.querySelector('[data-field=change_pct]').getAttribute('data-value')); }"""


def market_quotes(base: str, symbols: list[str]) -> dict[str, dict]:
    """symbol -> tastytrade's market-data item (last, prev-close …), as test_day_pnl.py does."""
    with httpx.Client(base_url=base, timeout=10) as client:
        grant = {"grant_type": "refresh_token", "client_secret": "s", "refresh_token": "ov"}
        token = client.post("/oauth/token", json=grant).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        params = [("index" if s in INDICES else "equity", s) for s in symbols]
        items = client.get("/market-data/by-type", params=params).json()["data"]["items"]
    return {i["symbol"]: i for i in items}


def assert_tiles_match(tiles: list[dict], market: dict[str, dict], where: str) -> None:
    assert [t["symbol"] for t in tiles] == TEN, where
    for t in tiles:
        q = market[t["symbol"]]
        last, prev = Decimal(str(q["last"])), Decimal(str(q["prev-close"]))
        change = last - prev
        pct = change / prev * 100
        at = f"{where} {t['symbol']}"
        assert Decimal(t["last"]) == last, (at, t, q)
        assert abs(Decimal(t["change"]) - change) < Decimal("0.000001"), (at, t, q)
        assert abs(Decimal(t["change_pct"]) - pct) < Decimal("0.000001"), (at, t, q)
        assert t["last_text"] == f"{last:,.2f}", at
        sign = "+" if change > 0 else "-" if change < 0 else ""
        assert t["change_text"] == f"{sign}{abs(change):,.2f}", at
        assert t["change_pct_text"] == f"{sign}{abs(pct):.2f}%", at
        word = "up" if change > 0 else "down" if change < 0 else "unchanged"
        assert f"{t['symbol']} {last:,.2f}, {word}" in t["label"], at  # said, not only coloured
        assert t["heat"] not in (None, ""), at


def test_overview_equals_the_sandbox_quotes_on_the_page_and_the_strip(
    page: Page,
    frozen_app,  # noqa: F811
    frozen_sandbox,  # noqa: F811
):
    log_in(page, frozen_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    page.goto(f"{frozen_app.url}/market")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    page.wait_for_function(FILLED, arg="#market", timeout=20_000)
    market = market_quotes(frozen_sandbox.url, TEN)
    assert_tiles_match(page.evaluate(TILES, "#market"), market, "/market")
    # the symbols joined this tab's subscription (the union the server keeps)
    subscribed = page.evaluate("() => window.streamdesk.state().subscriptions")
    assert set(TEN) <= set(subscribed), subscribed

    # server-rendered with the last known values (this tab keeps the stream subscribed). A
    # page whose snapshot did not come within PAGE_SNAPSHOT_WAIT renders without it (no
    # position: its socket fills it in), which a starved box once did: rendered again then
    def rendered_from_the_stream() -> str | None:
        html = page.request.get(f"{frozen_app.url}/market").text()
        return html if 'data-position=""' not in html else None

    html = poll_until(rendered_from_the_stream, PAGE_SNAPSHOT_WAIT + 20.0, "a rendered snapshot")
    for symbol in TEN:
        q = market[symbol]
        tile = re.search(rf'data-tile="{symbol}".*?</li>', html, re.S).group(0)
        assert f'data-value="{q["last"]}"' in tile or f"{Decimal(str(q['last'])):,.2f}" in tile
        change = Decimal(str(q["last"])) - Decimal(str(q["prev-close"]))
        assert f'data-field="change" data-value="{change}"' in tile, (symbol, tile)

    # the dashboard's strip shows the same numbers
    page.goto(f"{frozen_app.url}/")
    page.wait_for_function(FILLED, arg="[data-overview]", timeout=20_000)
    assert_tiles_match(page.evaluate(TILES, "[data-overview]"), market, "strip")
    # stale or not by the watchlist's rule: SPY's tile and SPY's watchlist row agree
    # (the frozen quote turns stale at a moment of its own: the two marks agree within one
    # freshness tick of the page, 1 s, plus a loaded box's margin)
    page.evaluate("() => window.streamdesk.flush()")
    marks = page.wait_for_function(
        """() => {
          const marks = [document.querySelector('[data-overview] [data-tile=SPY]'),
                         document.querySelector('tr[data-quote=SPY]')]
                        .map((n) => n.getAttribute('data-stale'));
          return marks[0] === marks[1] && marks;
        }""",
        timeout=5_000,
    ).json_value()
    assert marks[0] in ("true", "false"), marks
    assert page.errors == []  # type: ignore[attr-defined]


def lasts(page: Page) -> dict[str, str]:
    return {t["symbol"]: t["last"] for t in page.evaluate(TILES, "#market")}


def wait_for_a_tile_to_move(page: Page, before: dict[str, str]) -> None:
    page.wait_for_function(
        """(before) => [...document.querySelectorAll('#market [data-tile]')].some((t) =>
             t.querySelector('[data-field=last]').getAttribute('data-value')
               !== before[t.getAttribute('data-tile')])""",
        arg=before,
        timeout=20_000,
    )


def test_tiles_update_live_without_reload_and_bad_input_keeps_the_stream(page: Page, browser_app):
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/market")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    page.wait_for_function(FILLED, arg="#market", timeout=20_000)
    page.evaluate("() => { window.__samePage = true; }")
    wait_for_a_tile_to_move(page, lasts(page))
    expect(page.locator("#market [data-tile=SPY]")).to_have_attribute("data-stale", "false")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "market.png"), full_page=True)
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        shutil.copyfile(ARTIFACTS / "market.png", DOCS_IMAGE)

    # a bad list: a clear message, the list and the stream unchanged
    page.fill("#overview-symbols-input", "SPY NOT$VALID")
    page.click("#overview-form button[type=submit]")
    expect(page.locator("#messages")).to_contain_text(
        "Overview not saved: not a valid symbol: 'NOT$VALID'", timeout=SAVED_MS
    )
    wait_for_a_tile_to_move(page, lasts(page))
    assert [t["symbol"] for t in page.evaluate(TILES, "#market")] == TEN

    # a good one: the tiles follow, the new symbol streams, the dropped ones are released
    page.fill("#overview-symbols-input", "spy aapl")
    page.click("#overview-form button[type=submit]")
    expect(page.locator("#market [data-tile]")).to_have_count(2, timeout=SAVED_MS)
    page.wait_for_function(FILLED, arg="#market", timeout=20_000)
    extra = page.evaluate("() => window.streamdesk.state().extraSymbols")
    assert sorted(extra) == ["AAPL", "SPY"]
    wait_for_a_tile_to_move(page, lasts(page))
    assert page.evaluate("() => window.__samePage") is True  # never reloaded
    # the list is the user's: a fresh page shows it (then put the ten back)
    page.reload()
    expect(page.locator("#market [data-tile]")).to_have_count(2, timeout=SAVED_MS)
    page.fill("#overview-symbols-input", " ".join(TEN))
    page.click("#overview-form button[type=submit]")
    expect(page.locator("#market [data-tile]")).to_have_count(10, timeout=SAVED_MS)
    assert page.errors == []  # type: ignore[attr-defined]


def test_sse_keeps_the_overview_live(page: Page, browser_app):
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/market?transport=sse")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "sse", timeout=10_000)
    page.wait_for_function(FILLED, arg="#market", timeout=20_000)
    page.evaluate("() => { window.__samePage = true; }")
    wait_for_a_tile_to_move(page, lasts(page))
    state = page.evaluate("() => window.streamdesk.state()")
    assert state["sse"] is True and state["socketUrl"] in (None, "")
    assert page.evaluate("() => window.__samePage") is True
    assert page.errors == []  # type: ignore[attr-defined]
