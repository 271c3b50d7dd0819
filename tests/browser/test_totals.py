"""The portfolio totals panel on the dashboard, in a real Chromium, at all three brokers.

Frozen market (no ticks, no order steps, no balance pushes): the panel's net liq, day
P&L and open P&L equal the sums of the account cards' own values (tastytrade, Tradier
and Alpaca accounts together, in USD), the page's first HTML already carries the totals,
and nothing is partial once every position has its mark. Live market: the totals change
without a reload.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import log_in
from tests.browser.test_day_pnl import BROKERS, CENT, dec, frozen_app, frozen_sandbox  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
DOCS_IMAGE = ROOT / "docs" / "img" / "totals.png"
USD = "#totals [data-currency=USD]"

CARD_SUMS = """() => {
  const cards = [...document.querySelectorAll('[data-account]')];
  const field = (c, f) => c.querySelector(`[data-field=${f}]`).getAttribute('data-value');
  const total = (f) => document.querySelector(`${USD} [data-field=${f}]`);
  return {
    brokers: cards.map((c) => c.querySelector('[data-field=broker]').textContent),
    cards: cards.map((c) => ({
      net_liq: field(c, 'net_liquidating_value'),
      day: field(c, 'total_day_pnl'),
      open: field(c, 'total_open_pnl'),
    })),
    net_liq: total('net_liq').getAttribute('data-value'),
    day: total('day_pnl').getAttribute('data-value'),
    open: total('open_pnl').getAttribute('data-value'),
    partial: [...document.querySelectorAll('#totals [data-partial=true]')]
      .map((n) => n.getAttribute('data-field')),
    currency: document.querySelector(`${USD} [data-field=currency]`).textContent,
  };
}""".replace("${USD}", USD)


def every_row_priced(page: Page) -> None:
    """Every position row has its day P&L from a live mark, and its position delta (an
    option's needs its greeks, which stream apart from, and may follow, its quote)."""
    page.wait_for_function(
        """() => document.querySelectorAll('tr[data-position]').length > 0 &&
             [...document.querySelectorAll('tr[data-position]')].every((r) =>
               r.querySelector('[data-field=day_pnl]').getAttribute('data-value') &&
               r.querySelector('[data-field=position_delta]').getAttribute('data-value') &&
               !r.querySelector('[data-field=mark]').classList.contains('broker-mark'))""",
        timeout=20_000,
    )


def test_totals_are_the_sums_of_the_account_cards_at_all_three_brokers(
    page: Page,
    frozen_app,  # noqa: F811
):
    log_in(page, frozen_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    for broker in BROKERS:
        card = page.locator("[data-account]").filter(
            has=page.locator("[data-field=broker]", has_text=broker)
        )
        expect(card.locator("tr[data-position]").first).to_be_visible(timeout=15_000)
    every_row_priced(page)
    page.evaluate("() => window.streamdesk.flush()")
    seen = page.evaluate(CARD_SUMS)
    assert set(seen["brokers"]) == set(BROKERS), seen["brokers"]
    assert seen["currency"] == f"USD · {len(seen['cards'])} accounts"
    assert seen["partial"] == [], "every account has a balance, every position a mark"
    net_liq = sum(dec(c["net_liq"]) for c in seen["cards"])
    day = sum(dec(c["day"]) for c in seen["cards"])
    opened = sum(dec(c["open"]) for c in seen["cards"])
    # the same numbers summed in another order: equal to float rounding, far below a cent
    assert abs(dec(seen["net_liq"]) - net_liq) < CENT / 100, (seen["net_liq"], net_liq)
    assert abs(dec(seen["day"]) - day) < CENT / 100, (seen["day"], day)
    assert abs(dec(seen["open"]) - opened) < CENT / 100, (seen["open"], opened)
    for field in ("delta_shares", "delta_dollars", "theta", "buying_power"):
        value = page.locator(f"{USD} [data-field={field}]").get_attribute("data-value")
        assert value not in (None, ""), field

    # the HTML the server sent already has the totals (before any script ran)
    html = page.request.get(f"{frozen_app.url}/").text()
    assert 'id="totals"' in html and 'data-currency="USD"' in html
    assert 'data-field="net_liq" data-value="' in html
    assert 'data-field="net_liq" data-value=""' not in html

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#totals").screenshot(path=str(ARTIFACTS / "totals.png"))
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        shutil.copyfile(ARTIFACTS / "totals.png", DOCS_IMAGE)
    assert page.errors == []  # type: ignore[attr-defined]


def test_totals_change_live_without_reload(page: Page, browser_app):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    every_row_priced(page)
    day = page.locator(f"{USD} [data-field=day_pnl]")
    first = day.get_attribute("data-value")
    assert first not in (None, "")
    page.evaluate("() => { window.__loads = (window.__loads || 0) + 1; }")
    page.wait_for_function(
        """([sel, first]) => document.querySelector(sel).getAttribute('data-value') !== first""",
        arg=[f"{USD} [data-field=day_pnl]", first],
        timeout=20_000,
    )
    assert page.evaluate("() => window.__loads") == 1, "the page was not reloaded"
    assert Decimal(day.get_attribute("data-value")) != Decimal(first)
    assert page.errors == []  # type: ignore[attr-defined]
