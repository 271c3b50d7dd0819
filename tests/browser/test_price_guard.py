"""The price guard in the ticket, in a real Chromium against the real daphne and the
sandbox's three brokers, at the production threshold (`TRADING_PRICE_WARN`, 10 %;
docs/streaming-contract.md "The price guard", "In the browser"): a limit at half the
instrument's own live price is said in the ticket's warnings, marked as the one that needs
the second confirm; the first Confirm only arms ("Confirm anyway") and nothing is sent;
the second places it. Bitcoin is guarded at its own price at tastytrade and Alpaca (the
demo's holdings), AAPL at Tradier."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser.test_orders_panel import by_broker, log_in
from tests.browser.test_trading_flows import row_menu
from tests.support.holdings import holdings_sandbox
from tests.support.live import LiveApp
from tests.support.trading_http import enable_demo_trading

#: The stream shows the holdings and their live quotes within a few polls and ticks; a
#: preview or a confirm goes to the owner and the broker: the margin is for a loaded box.
SEEN_MS = 20_000
ANSWER_MS = 15_000


@pytest.fixture(scope="module")
def browser_sandbox() -> Iterator[SandboxServer]:
    with holdings_sandbox(tick_rate=4) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(browser_sandbox.url, tmp_path_factory.mktemp("price-guard")).start()
    enable_demo_trading(app)
    yield app
    app.stop()


def position_row(page: Page, broker: str, symbol: str):
    """The first row of `broker`'s accounts whose position is `symbol` (the broker's)."""
    for number in by_broker(page)[broker]:
        row = page.locator(f'tr[data-position="{number}|{symbol}"]')
        if row.count():
            return row
    raise AssertionError(f"no {broker} account holds {symbol}")


@pytest.mark.parametrize(
    ("broker", "symbol", "contract"),
    [
        ("tastytrade", "BTC/USD", "BTC/USD:CXTALP"),
        ("tradier", "AAPL", "AAPL"),
        ("alpaca", "BTCUSD", "BTC/USD:CXTALP"),
    ],
)
def test_a_limit_at_half_the_price_needs_the_second_confirm(
    page: Page, browser_app, broker: str, symbol: str, contract: str
):
    log_in(page, browser_app.url)
    row = position_row(page, broker, symbol)
    expect(row).to_have_attribute("data-streamer", contract, timeout=SEEN_MS)
    row_menu(page, row, "trade")
    ticket = page.locator("#trade-ticket")
    price = ticket.locator("[data-ticket-price]")
    expect(price).to_have_value(re.compile(r"^\d+\.\d+$"), timeout=SEEN_MS)  # at the market
    half = (Decimal(price.input_value()) / 2).quantize(Decimal("0.01"))
    if contract != "AAPL":
        ticket.locator("[data-ticket-quantity='0']").fill("0.001")
    price.fill(str(half))
    ticket.locator("[data-ticket-preview]").click()
    expect(ticket).to_have_attribute("data-phase", "previewed", timeout=ANSWER_MS)
    warning = ticket.locator("[data-ticket-warnings] li[data-second-confirm]")
    expect(warning).to_have_text(
        re.compile(rf"^The limit {half:,.2f} is \d+ % from .+'s live price ")
    )
    button = ticket.locator("[data-ticket-confirm]")
    button.click()
    expect(button).to_have_attribute("data-armed", "true")
    expect(button).to_have_text("Confirm anyway")
    expect(ticket).to_have_attribute("data-phase", "previewed")  # nothing sent
    expect(ticket.locator("[data-ticket-result]")).to_be_hidden()
    button.click()
    result = ticket.locator("[data-ticket-result]")
    expect(result).to_have_attribute("data-ticket-state", "placed", timeout=ANSWER_MS)
    assert page.errors == []  # type: ignore[attr-defined]
