"""Day P&L on the dashboard agrees with the brokers' own quotes, at all three brokers.

The market is frozen (no ticks, no order steps), so every number on the page can be
checked against the sandbox's quote endpoints: each position row's mark is the quote's
mid, its Day P&L is (mark - the quote's previous close) x quantity x multiplier, and an
account's Day P&L is the sum of its rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Page, expect

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.browser.test_dashboard import log_in
from tests.support.live import ALPACA_HEARTBEAT, LiveApp

BROKERS = ("tastytrade", "tradier", "alpaca")
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def frozen_sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        tick_rate=0,
        order_step_interval=0,
        balance_push_interval=0,
        demo_order_interval=0,
        alpaca_heartbeat_interval=ALPACA_HEARTBEAT,
    )
    with SandboxServer(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def frozen_app(frozen_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(frozen_sandbox.url, tmp_path_factory.mktemp("frozen")).start()
    yield app
    app.stop()


def padded(symbol: str) -> str:
    """An OCC symbol in tastytrade's padded spelling (`SPY   250221C00590000`)."""
    symbol = symbol.replace(" ", "")
    return symbol if len(symbol) <= 15 else f"{symbol[:-15]:<6}{symbol[-15:]}"


def quotes(base: str, symbols: set[str]) -> dict[str, dict]:
    """padded symbol -> tastytrade's market-data item (bid, ask, prev-close …)."""
    with httpx.Client(base_url=base, timeout=10) as client:
        grant = {"grant_type": "refresh_token", "client_secret": "s", "refresh_token": "day-pnl"}
        token = client.post("/oauth/token", json=grant).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        params = [("equity-option" if len(s) > 15 else "equity", s) for s in sorted(symbols)]
        items = client.get("/market-data/by-type", params=params).json()["data"]["items"]
    return {i["symbol"]: i for i in items}


def dec(value: str | None) -> Decimal:
    assert value not in (None, ""), "a value the page should show is missing"
    return Decimal(value)


def test_day_pnl_is_the_quotes_change_at_every_broker(page: Page, frozen_app, frozen_sandbox):
    log_in(page, frozen_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    cards = page.locator("[data-account]")
    for broker in BROKERS:
        card = cards.filter(has=page.locator("[data-field=broker]", has_text=broker)).first
        expect(card.locator("tr[data-position]").first).to_be_visible(timeout=15_000)
    # every row has its live mark and Day P&L (the last quote to arrive fills the last cell)
    page.wait_for_function(
        """() => [...document.querySelectorAll('tr[data-position]')].every((r) =>
             r.querySelector('[data-field=day_pnl]').getAttribute('data-value') &&
             r.querySelector('[data-field=mark]').getAttribute('data-value') &&
             !r.querySelector('[data-field=mark]').classList.contains('broker-mark'))""",
        timeout=20_000,
    )
    rows = page.evaluate(
        """() => [...document.querySelectorAll('[data-account]')].map((card) => ({
             broker: card.querySelector('[data-field=broker]').textContent,
             total: card.querySelector('[data-field=total_day_pnl]').getAttribute('data-value'),
             rows: [...card.querySelectorAll('tr[data-position]')].map((r) => ({
               symbol: r.getAttribute('data-position').split('|').slice(1).join('|'),
               qty: r.querySelector('[data-field=quantity]').getAttribute('data-value'),
               mark: r.querySelector('[data-field=mark]').getAttribute('data-value'),
               day: r.querySelector('[data-field=day_pnl]').getAttribute('data-value'),
             })),
           }))"""
    )
    market = quotes(frozen_sandbox.url, {padded(r["symbol"]) for c in rows for r in c["rows"]})
    checked = {broker: 0 for broker in BROKERS}
    for card in rows:
        assert card["broker"] in BROKERS, card["broker"]
        total = Decimal(0)
        for row in card["rows"]:
            quote = market[padded(row["symbol"])]
            mid = (Decimal(str(quote["bid"])) + Decimal(str(quote["ask"]))) / 2
            multiplier = 100 if len(padded(row["symbol"])) > 15 else 1
            expected = (mid - Decimal(str(quote["prev-close"]))) * dec(row["qty"]) * multiplier
            where = f"{card['broker']} {row['symbol']}"
            assert abs(dec(row["mark"]) - mid) < CENT / 100, where
            assert abs(dec(row["day"]) - expected) < CENT, (where, row["day"], expected)
            total += dec(row["day"])
            checked[card["broker"]] += 1
        assert abs(dec(card["total"]) - total) < CENT * len(card["rows"]), card["broker"]
    assert all(checked.values()), checked
    assert page.errors == []  # type: ignore[attr-defined]
