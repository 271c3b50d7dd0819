"""Closing 0.25 BTC at Alpaca from the position's ⋯ menu, in a real Chromium against the
real daphne and the sandbox's Alpaca, read back at the broker with alpaca-py (the real
client, pointed at the sandbox): docs/streaming-contract.md "Instruments", "The order",
"In the browser".

Alpaca's crypto position says `BTCUSD`; its contract symbol is `BTC/USD:CXTALP`. The ticket
must name the coin by that, so the quote it shows and prefills from is bitcoin's (about
95,000 in the sandbox), never the $50 of a made-up stock spelled `BTCUSD`; it offers what
Alpaca takes of crypto (GTC and IOC, never Day; a quantity with decimals), and its preview
says the order in display names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser.test_orders_panel import by_broker, log_in
from tests.support.holdings import alpaca_order, holdings_sandbox
from tests.support.live import LiveApp
from tests.support.trading_http import enable_demo_trading
from tests.support.wait import poll_until

COIN = "BTC/USD:CXTALP"
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
    app = LiveApp(browser_sandbox.url, tmp_path_factory.mktemp("crypto-ticket")).start()
    enable_demo_trading(app)
    yield app
    app.stop()


#: The ticket's quote line and the stream's quote of the coin, read together.
QUOTES = """(symbol) => {
  const line = document.querySelector('#trade-ticket [data-ticket-quote]');
  const q = window.streamdesk.state().quotes[symbol] || {};
  return {shown: Number(line.getAttribute('data-bid')), stream: Number(q.bid),
          for: line.getAttribute('data-symbol'), text: line.textContent};
}"""


def test_close_a_quarter_bitcoin_at_alpaca_from_the_positions_menu(
    page: Page, browser_app: LiveApp, browser_sandbox: SandboxServer
):
    log_in(page, browser_app.url)
    number = by_broker(page)["alpaca"][0]  # the margin account holds 0.25 BTCUSD
    row = page.locator(f"tr[data-position='{number}|BTCUSD']")
    expect(row).to_have_attribute("data-streamer", COIN, timeout=SEEN_MS)
    mark = row.locator("[data-field=mark]")
    expect(mark).not_to_have_class(re.compile(r"\bbroker-mark\b"), timeout=SEEN_MS)

    row.scroll_into_view_if_needed()
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    row.locator("[data-row-menu]").click()
    page.locator("[data-menu-close]").click()
    ticket = page.locator("#trade-ticket")
    expect(ticket).to_be_visible()
    expect(ticket.locator("#trade-ticket-title")).to_have_text("Close BTC/USD")
    legend = ticket.locator("[data-ticket-leg='0'] legend")
    expect(legend).to_have_text("BTC/USD")
    expect(legend).to_have_attribute("data-symbol", COIN)
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Sell to Close")
    expect(ticket.locator("[data-ticket-quantity='0']")).to_have_value("0.25")
    expect(ticket.locator("[data-ticket-account]")).to_have_value(re.compile(rf"\|{number}$"))
    # what Alpaca takes of crypto: GTC and IOC, never Day
    expect(ticket.locator("[data-ticket-tif] option")).to_have_text(["GTC", "IOC"])
    expect(ticket.locator("[data-ticket-tif]")).to_have_value("GTC")
    expect(ticket.locator("[data-ticket-type] option")).to_have_text(
        ["Limit", "Market", "Stop Limit", "Notional Market"]
    )

    # the coin's own live price: the quote line is the stream's quote of BTC/USD:CXTALP
    # (within one tick of it as it moves), and the prefilled limit is near it, not $50
    def agreeing():
        q = page.evaluate(QUOTES, COIN)
        return q if q["stream"] > 0 and abs(q["shown"] - q["stream"]) <= 0.01 else None

    q = poll_until(agreeing, SEEN_MS / 1000, "the ticket's quote is the stream's quote of the coin")
    assert q["for"] == COIN and q["text"].startswith("BTC/USD: bid "), q
    assert 50_000 < q["stream"] < 200_000, q
    price = ticket.locator("[data-ticket-price]").input_value()
    assert re.fullmatch(r"\d+\.\d\d", price), price
    assert abs(Decimal(price) - Decimal(str(q["stream"]))) < Decimal(q["stream"]) * Decimal("0.02")

    ticket.locator("[data-ticket-preview]").click()
    expect(ticket).to_have_attribute("data-phase", "previewed", timeout=ANSWER_MS)
    # the server's words, as sent: the order by the coin's display name, at the limit given
    said = re.compile(r"^\[SIMULATED\] Sell 0\.25 BTC/USD at ([\d,]+\.\d\d) limit, GTC: credit ")
    words = ticket.locator("[data-ticket-words]")
    expect(words).to_have_text(said)
    limit = said.match(words.inner_text())
    assert limit is not None and Decimal(limit.group(1).replace(",", "")) == Decimal(price)
    ticket.locator("[data-ticket-confirm]").click()
    result = ticket.locator("[data-ticket-result]")
    expect(result).to_have_attribute("data-ticket-state", "placed", timeout=ANSWER_MS)
    order_id = result.get_attribute("data-order-id")
    assert order_id

    held = alpaca_order(browser_sandbox, number, order_id)
    assert (held.symbol, held.side, held.type, held.time_in_force) == (
        "BTC/USD",
        "sell",
        "limit",
        "gtc",
    )
    assert (Decimal(str(held.qty)), Decimal(str(held.limit_price))) == (
        Decimal("0.25"),
        Decimal(price),
    )
    # and the panel names it as a trader reads it, the broker's symbol in the title
    entry = page.locator(f"#orders > li[data-order$=':{order_id}'] .leg-desc")
    expect(entry).to_have_text(re.compile(r"^sell 0\.25 BTC/USD$"), timeout=SEEN_MS)
    assert page.errors == []  # type: ignore[attr-defined]
