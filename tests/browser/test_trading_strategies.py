"""A strategy's Close… on /risk in a real Chromium against the real daphne and the sandbox
(docs/streaming-contract.md "Trading …", "Risk: strategies"; tests/browser/README.md
"Trading"): at tastytrade and at Tradier the demo trader opens a SPY call debit vertical
(two market orders at the sandbox: the demo's own options are single legs), the /risk page's
strategies table offers Close… on it (and Roll…: the roll picker asks for the strategy by
its key, and says there is no later expiration to go to), and the ticket holds both legs
with their closing actions and whole quantities in the strategy's own account, previews both
legs in words, confirms, and the one multi-leg order works on the stream; at Alpaca both
buttons are disabled and say why.

One daphne and one logged-in browser context for the module (test_trading_flows.py's
`trader` and `page` fixtures over this module's `app`); trading turned on in the app's
database (staff enabled every link; the trader turned it on)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import closing

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser import test_trading_flows as flows
from tests.support.live import LiveApp, read_json
from tests.support.orders import market_buy
from tests.support.trading_http import Trader, enable_demo_trading
from tests.support.wait import poll_until

#: An expiration the demo's options (30 to 60 days out) never have: the vertical groups
#: alone.
EXPIRY = "270618"
WIDTH = 10
#: A credit no 10-wide vertical is ever worth: the close works and never fills.
FAR_CREDIT = "9.95"
#: The sandbox steps orders every second and Tradier's orders are polled every 2 s: an
#: order's change reaches the page within a few seconds; the margin is for a loaded box.
SEEN_MS = 20_000
#: The risk page's state, for tests (static/js/risk/page.js).
RISK = "window.streamdesk.risk()"
#: A preview or a confirm goes to the stream's owner and on to the broker: well under a
#: second here; the margin is for a loaded 2-core box.
ANSWER_MS = 15_000
#: The app's settings here: a multi-leg net mid moves by more than a cent between a preview
#: and its confirm when the sandbox's SPY ticks (the band itself is tested in
#: tests/streaming); the previews live long enough for a loaded box.
#: The vertical's closing actions as each broker's order frames spell them.
CLOSING_WORDS = {
    "tastytrade": ["Sell to Close", "Buy to Close"],
    "tradier": ["sell_to_close", "buy_to_close"],
}
APP_ENV = {"TRADING_QUOTE_BAND": "0.5", "TRADING_PREVIEW_TTL": "30"}


#: test_trading_flows.py's fixtures `trader` (the logged-in browser context) and `page` (a
#: tab of it, its errors kept), over this module's `app`.
trader, page = flows.trader, flows.page


@pytest.fixture(scope="module")
def app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("trading-strategies")
    with flows.running(LiveApp(browser_sandbox.url, workdir, **APP_ENV)) as live:
        enable_demo_trading(live)
        yield live


@pytest.fixture(scope="module")
def api(app: LiveApp) -> Iterator[Trader]:
    """The demo trader over HTTP (the set-up's reads, the clean-up's cancel)."""
    trader = Trader(app)
    with closing(trader.client):
        yield trader


def margin_account(api: Trader, broker: str) -> dict:
    """The broker's margin account (the one holding the demo's SPY shares)."""
    snapshot = read_json(api.client, "/api/snapshot")
    for account in snapshot["accounts"]:
        held = {p["symbol"] for p in account.get("positions", [])}
        if account["broker"] == broker and "SPY" in held:
            return account
    raise AssertionError(f"no {broker} account holds SPY")


def spy_quote(api: Trader) -> dict:
    """SPY's quote in the snapshot, once the stream has one: the snapshot answers with what
    the stream knows, and right after the accounts came (REST) the first quote may not have
    (a DXLink subscription and a tick; the same bound as an order's change, SEEN_MS)."""

    def quoted() -> dict | None:
        quote = read_json(api.client, "/api/snapshot").get("quotes", {}).get("SPY")
        return quote if quote and quote.get("bid") is not None else None

    return poll_until(quoted, within=SEEN_MS / 1000, what="a SPY quote in the snapshot")


def open_vertical(sandbox: SandboxServer, api: Trader, account: dict) -> tuple[str, str]:
    """Buy 1 call and sell 1 call 10 higher at the market, straight at the sandox's
    brokerage (the set-up, not what is tested): a call debit vertical once both fill (the
    streamer symbols of its long and short legs)."""
    quote = spy_quote(api)
    low = int(math.floor(float(quote["bid"]) / 5) * 5)
    control = sandbox.control()
    for strike, action in ((low, "Buy to Open"), (low + WIDTH, "Sell to Open")):
        leg = {"instrument-type": "Equity Option", "symbol": f"SPY   {EXPIRY}C{strike * 1000:08d}"}
        control.place_order(
            account["number"],
            {**market_buy(quantity=1), "legs": [{**leg, "action": action, "quantity": 1}]},
        )
    return f".SPY{EXPIRY}C{low}", f".SPY{EXPIRY}C{low + WIDTH}"


def strategy_row(page: Page, number: str):
    return page.locator(
        f"#risk-strategy-rows tr[data-strategy^='{number}|SPY|'][data-name='call debit vertical']"
    )


@pytest.mark.parametrize("broker", ["tastytrade", "tradier"])
def test_close_a_vertical_from_the_strategies_table(
    page: Page, app: LiveApp, api: Trader, browser_sandbox: SandboxServer, broker: str
):
    account = margin_account(api, broker)
    number, link = account["number"], int(account["link"])
    long_leg, short_leg = open_vertical(browser_sandbox, api, account)
    page.goto(f"{app.url}/risk")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    row = strategy_row(page, number)
    expect(row).to_have_count(1, timeout=SEEN_MS)
    close = row.locator("[data-strategy-close]")
    expect(close).to_be_enabled(timeout=SEEN_MS)

    # its Roll…: the roll picker asks for the strategy by its key; its expiration is past
    # every listed one (the sandbox lists about three months), so there is nowhere to go
    roll = row.locator("[data-strategy-roll]")
    expect(roll).to_be_enabled()
    asked = re.compile(r"/api/roll/candidates\?account=\w+&strategy=[0-9a-f]{12}&delta=0\.3$")
    with page.expect_request(asked):
        roll.click()
    picker = page.locator("#roll-picker")
    expect(picker).to_have_attribute("data-state", "ready", timeout=SEEN_MS)
    expect(picker.locator("[data-roll-status]")).to_have_text("No later expiration to roll to.")
    expect(picker.locator("tr[data-roll-row]")).to_have_count(0)
    expect(picker.locator("[data-roll-notes] li")).to_have_count(1)  # the answer's sentence
    # a fill elsewhere while the picker is open: the list is asked again and drawn (TSLA
    # sorts after SPY: the vertical's key stays); the focus still goes back to its Roll…
    refreshes = page.evaluate(RISK)["strategyRefreshes"]
    with closing(browser_sandbox.control()) as control:
        control.place_order(number, market_buy("TSLA", 1))
    page.wait_for_function(f"{RISK}.strategyRefreshes > {refreshes}", timeout=SEEN_MS)
    page.keyboard.press("Escape")
    expect(picker).to_have_count(0)
    expect(roll).to_be_focused()
    close.click()

    ticket = page.locator("#trade-ticket")
    expect(ticket).to_have_attribute("data-phase", "editing")
    # the strategy's own account only; each leg's closing action for its whole quantity
    account_field = ticket.locator("[data-ticket-account]")
    expect(account_field).to_be_disabled()
    expect(account_field).to_have_value(f"{link}|{number}")
    legends = ticket.locator("[data-ticket-leg] legend")
    expect(legends).to_have_count(2)
    assert [legends.nth(i).get_attribute("data-symbol") for i in (0, 1)] == [long_leg, short_leg]
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Sell to Close")
    expect(ticket.locator("[data-ticket-action='1']")).to_have_value("Buy to Close")
    expect(ticket.locator("[data-ticket-quantity='0']")).to_have_value("1")
    expect(ticket.locator("[data-ticket-quantity='1']")).to_have_value("1")
    expect(ticket.locator("[data-ticket-type]")).to_have_value("Limit")
    # the net mid of the live quotes: a positive net price within the vertical's width
    price = ticket.locator("[data-ticket-price]")
    expect(price).to_have_value(re.compile(r"^\d+\.\d\d$"), timeout=SEEN_MS)
    assert 0 < float(price.input_value()) < WIDTH

    price.fill(FAR_CREDIT)
    ticket.locator("[data-ticket-preview]").click()
    expect(ticket).to_have_attribute("data-phase", "previewed", timeout=ANSWER_MS)
    low, high = (leg.rsplit("C", 1)[1] for leg in (long_leg, short_leg))
    expect(ticket.locator("[data-ticket-words]")).to_have_text(
        re.compile(
            rf"^\[SIMULATED\] Sell 1 SPY 18 Jun 27 {low} C / Buy to close 1 SPY 18 Jun 27 {high} C "
            rf"at {FAR_CREDIT} net limit, day"
        )
    )

    # a credit that far from the legs' live net price: the price guard asks the second
    # confirm (docs/streaming-contract.md "The price guard"); the first Confirm only arms it
    warning = ticket.locator("[data-ticket-warnings] li[data-second-confirm]")
    expect(warning).to_have_text(re.compile(r"check it before you confirm\.$"))
    confirm = ticket.locator("[data-ticket-confirm]")
    confirm.click()
    expect(confirm).to_have_attribute("data-armed", "true")
    expect(confirm).to_have_text("Confirm anyway")
    confirm.click()
    result = ticket.locator("[data-ticket-result]")
    expect(result).to_have_attribute("data-ticket-state", "placed", timeout=ANSWER_MS)
    order_id = result.get_attribute("data-order-id")
    assert order_id
    status = ticket.locator("[data-ticket-order-status]")
    expect(status).to_have_attribute("data-status", "Live", timeout=SEEN_MS)
    # one order of two legs on the stream, in the strategy's account
    listed = read_json(api.client, "/api/orders", account=number, limit="200")["orders"]
    (order,) = [o for o in listed if str(o["id"]) == order_id]
    assert [leg["action"] for leg in order["legs"]] == CLOSING_WORDS[broker], order
    cancel = api.client.delete(
        f"/api/orders/{order_id}",
        params={"link": link, "account": number},
        headers=api.headers(),
    )
    assert cancel.status_code == 200, cancel.text
    assert page.errors == []  # type: ignore[attr-defined]


def test_alpaca_says_why_it_offers_no_close(
    page: Page, app: LiveApp, api: Trader, browser_sandbox: SandboxServer
):
    account = margin_account(api, "alpaca")
    open_vertical(browser_sandbox, api, account)
    page.goto(f"{app.url}/risk")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    close = strategy_row(page, account["number"]).locator("[data-strategy-close]")
    expect(close).to_be_disabled(timeout=SEEN_MS)
    expect(close).to_have_attribute(
        "title", "Alpaca takes no multi-leg orders: close each leg from its position's row."
    )
    roll = strategy_row(page, account["number"]).locator("[data-strategy-roll]")
    expect(roll).to_be_disabled()
    expect(roll).to_have_attribute(
        "title", "Alpaca takes no multi-leg orders: a roll is one order of two expirations."
    )
    assert page.errors == []  # type: ignore[attr-defined]
