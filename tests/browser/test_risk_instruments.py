"""The /risk page in a real Chromium over the demo holdings (`--demo-holdings`: 0.25 BTC at
tastytrade and at Alpaca, an /ES Dec 26 6000 call, SPY calls): every underlying is listed
by its display name (`BTC/USD`, `/ES Dec 26`) and priced by its own instrument's quote (the
coin's feed, not a look-alike stock), every option by its display name
(`SPY 15 Jan 27 590 C`), a coin's 0.25 reads 0.25, a coin's β-weighted delta is β * its
price * 0.25 ÷ SPY's, and `?u=` opens the graph on any spelling of an underlying held
(docs/streaming-contract.md "The /risk page")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser.test_dashboard import log_in
from tests.support.holdings import holdings_sandbox
from tests.support.live import LiveApp
from tests.support.wait import poll_until

COIN = "BTC/USD:CXTALP"
FUTURE = "/ESZ26:XCME"
#: The holdings, their quotes and a metrics round reach the page (ms): a few polls of each
#: broker's account; the margin is for a loaded box.
SEEN_MS = 30_000
RISK = "() => window.streamdesk.risk()"


@pytest.fixture(scope="module")
def browser_sandbox() -> Iterator[SandboxServer]:
    with holdings_sandbox(tick_rate=4) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(browser_sandbox.url, tmp_path_factory.mktemp("risk-holdings")).start()
    yield app
    app.stop()


def table(page: Page, underlying: str):
    return page.locator(f"[data-risk-underlying='{underlying}']")


def state_values(page: Page) -> dict[str, Any]:
    """The live state's mids of the coin and SPY and the coin's positions."""
    return page.evaluate(
        """() => {
          const s = window.streamdesk.state();
          const mid = (sym) => { const q = s.quotes[sym]; return q ? (q.bid + q.ask) / 2 : null; };
          const coins = s.accounts.flatMap((a) => a.positions
            .filter((p) => p.underlying === 'BTC/USD:CXTALP').map((p) => [a.number, p.symbol]));
          return { coin: mid('BTC/USD:CXTALP'), spy: mid('SPY'), coins };
        }"""
    )


def rendered(page: Page, url: str) -> bool:
    """The page, loaded again, has the coin's and the future's tables, the coin's β (its
    metrics) and the live quotes of the coin and SPY."""
    page.goto(url)
    if not (table(page, COIN).count() and table(page, FUTURE).count()):
        return False
    beta = table(page, COIN).locator("[data-field=beta]").text_content() or ""
    values = state_values(page)
    return beta.strip() not in ("", "—") and bool(values["coin"] and values["spy"])


def test_every_underlying_by_its_display_name_at_its_own_price(
    page: Page, browser_app: LiveApp
) -> None:
    log_in(page, browser_app.url)
    # the holdings, named and quoted, and the coin's metrics, before the page is rendered
    poll_until(
        lambda: rendered(page, f"{browser_app.url}/risk"),
        within=SEEN_MS / 1000,
        what="the coin and the future's tables, their quotes and metrics",
    )
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    expect(table(page, COIN).locator("h3 a")).to_have_text("BTC/USD")
    expect(table(page, FUTURE).locator("h3 a")).to_have_text("/ES Dec 26")
    names = page.locator("#risk-tables th[scope=row]").all_text_contents()
    assert "SPY 15 Jan 27 590 C" in names and "/ES Dec 26 6000 C" in names, names
    assert not [n for n in names if re.search(r"\d{6}[CP]\d{8}|ESZ6 ESZ6", n)], names

    # the coin: its feed's price (tens of thousands, not a made-up stock's), 0.25 at each
    # broker, and β * price * 0.25 ÷ SPY as its β-weighted delta
    values = state_values(page)
    assert len(values["coins"]) == 2, values
    beta = float(table(page, COIN).locator("[data-field=beta]").text_content() or "nan")
    price = table(page, COIN).locator("[data-field=price]")
    poll_until(
        lambda: (
            abs(float(price.get_attribute("data-value") or 0) - state_values(page)["coin"]) < 1e-6
        ),
        what="the coin's price cell at its feed's mid",
    )
    assert float(price.get_attribute("data-value")) > 10_000
    for number, symbol in values["coins"]:
        row = table(page, COIN).locator(f"tr[data-risk-position='{number}|{symbol}']")
        expect(row.locator("[data-field=quantity]")).to_have_text("0.25")
        expect(row.locator("th")).to_have_text("BTC/USD")

        def agrees(row=row) -> bool:
            now = state_values(page)
            expected = beta * now["coin"] * 0.25 / now["spy"]
            shown = float(row.locator("[data-field=beta_delta]").text_content() or "0")
            return expected > 10 and abs(shown - expected) <= 0.051

        poll_until(agrees, what="the coin's β-weighted delta: β * price * 0.25 / SPY")

    # the strategies list options by display name
    legs = page.locator("#risk-strategy-rows td").all_text_contents()
    assert any("SPY 15 Jan 27 590 C" in text for text in legs), legs

    # the graph's select offers each underlying by its display name
    labels = page.locator("[data-risk-choice] option").all_text_contents()
    assert {"BTC/USD", "/ES Dec 26"} <= set(labels), labels


@pytest.mark.parametrize(
    ("asked", "choice"), [("BTCUSD", COIN), ("BTC/USD", COIN), ("/ESZ6", FUTURE)]
)
def test_any_spelling_opens_the_graph_on_its_underlying(
    page: Page, browser_app: LiveApp, asked: str, choice: str
) -> None:
    log_in(page, browser_app.url)
    poll_until(
        lambda: rendered(page, f"{browser_app.url}/risk"),
        within=SEEN_MS / 1000,
        what="the coin and the future held, quoted and with metrics",
    )
    page.goto(f"{browser_app.url}/risk?u={asked.replace('/', '%2F')}")
    card = page.locator("[data-risk-graph]")
    expect(card).to_have_attribute("data-underlying", choice)
    expect(page.locator("[data-risk-choice]")).to_have_value(choice)
    # the curve is asked for and drawn at the instrument's own price
    expect(card).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    drawn = page.evaluate(RISK)
    mids = page.evaluate(
        "(sym) => { const q = window.streamdesk.state().quotes[sym]; return (q.bid + q.ask) / 2; }",
        choice,
    )
    assert drawn["drawnAt"] == pytest.approx(mids, rel=0.05), drawn["drawnAt"]
    assert drawn["error"] == ""
