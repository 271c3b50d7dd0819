"""The order ticket's entry points in a real Chromium against the sandbox (the form only:
placing through it is tested with the trading endpoints, tests/browser/test_trading*.py):
a watchlist row's Trade… chooses no account across brokers, a position's Close… is the
opposite order for the whole quantity in its own account, a chain cell's bid sells and
its ask buys, the form says what is missing in words (a quantity, in part of a share at
Alpaca; a dollar amount), Escape closes and focus goes back;
the orders panel's "Cancel all working" follows its account filter; the header has the
kill switch."""

from __future__ import annotations

import datetime
import re

from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import log_in

OPTION_PRICE = re.compile(r"^\d+\.\d\d$")


def test_ticket_from_rows_and_chain(page: Page, browser_app, browser_sandbox):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    expect(page.locator("[data-kill-switch]")).to_have_text("Kill switch")

    # a watchlist row: buy 1 at the ask; several accounts at several brokers: none chosen
    ask = page.locator("#watchlist-rows tr[data-quote=AAPL] [data-field=ask]")
    expect(ask).to_have_attribute("data-value", re.compile(r"^\d"), timeout=10_000)
    page.click("#watchlist-rows [data-row-menu=AAPL]")
    expect(page.locator("[data-menu-alert=AAPL]")).to_be_visible()
    page.click("[data-menu-trade=AAPL]")
    ticket = page.locator("#trade-ticket")
    expect(ticket).to_be_visible()
    expect(ticket).to_have_attribute("data-phase", "editing")
    expect(ticket.locator("[data-ticket-account]")).to_have_value("")
    assert ticket.locator("[data-ticket-account] option").count() >= 3
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Buy to Open")
    expect(ticket.locator("[data-ticket-quantity='0']")).to_have_value("1")
    expect(ticket.locator("[data-ticket-price]")).to_have_value(re.compile(r"^\d+\.\d\d$"))
    ticket.locator("[data-ticket-preview]").click()
    expect(ticket.locator("[data-ticket-error]")).to_have_text(
        re.compile("^Choose the account to trade in.")
    )
    expect(ticket.locator("[data-ticket-error]")).to_have_attribute("data-code", "form")
    # an Alpaca account: Day and GTC for a stock
    alpaca = ticket.locator("[data-ticket-account] option", has_text="alpaca").first.get_attribute(
        "value"
    )
    ticket.locator("[data-ticket-account]").select_option(alpaca)
    expect(ticket.locator("[data-ticket-tif] option")).to_have_text(["Day", "GTC"])
    ticket.locator("[data-ticket-quantity='0']").fill("0")
    ticket.locator("[data-ticket-preview]").click()
    # Alpaca takes part of a share: up to 9 decimals
    expect(ticket.locator("[data-ticket-error]")).to_contain_text(
        "more than 0 and at most 1,000,000, with at most 9 decimals"
    )
    # a dollar amount in place of the quantity
    ticket.locator("[data-ticket-type]").select_option("Notional Market")
    expect(ticket.locator("[data-ticket-quantity='0']")).to_be_hidden()
    ticket.get_by_label("Amount in dollars").fill("0.50")
    ticket.locator("[data-ticket-preview]").click()
    expect(ticket.locator("[data-ticket-error]")).to_contain_text(
        "The dollar amount must be at least 1.00."
    )
    page.keyboard.press("Escape")
    expect(ticket).to_have_count(0)

    # a position: Close… sells (or buys back) the whole quantity in its own account
    row = page.locator("tr[data-position]").first
    key = row.get_attribute("data-position")
    account = key.split("|")[0]
    quantity = row.locator("[data-field=quantity]").get_attribute("data-value")
    row.locator("[data-row-menu]").click()
    page.locator("[data-menu-close]").click()
    expect(ticket).to_be_visible()
    expect(ticket.locator("[data-ticket-account]")).to_be_disabled()
    expect(ticket.locator("[data-ticket-account] option")).to_have_count(1)
    assert ticket.locator("[data-ticket-account]").input_value().endswith(f"|{account}")
    qty = abs(int(float(quantity)))
    expect(ticket.locator("[data-ticket-quantity='0']")).to_have_value(str(qty))
    action = "Buy to Close" if float(quantity) < 0 else "Sell to Close"
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value(action)
    ticket.locator("[data-ticket-close]").click()
    expect(ticket).to_have_count(0)

    # the orders panel: "Cancel all working" for the filtered account only
    cancel_all = page.locator("#orders-cancel-all")
    expect(cancel_all).to_be_hidden()
    page.select_option("#orders-account", account)
    expect(cancel_all).to_have_text(f"Cancel all working ({account})")
    page.select_option("#orders-account", "")
    expect(cancel_all).to_be_hidden()

    # a chain cell: the bid sells to open at the bid, the ask buys to open at the ask
    page.goto(f"{browser_app.url}/chain/SPY")
    cell = page.locator("#chain td[data-side=call][data-field=ask][data-trade-symbol]").first
    expect(cell).to_have_attribute("data-value", re.compile(r"^\d"), timeout=15_000)
    symbol = cell.get_attribute("data-trade-symbol")
    cell.click()
    expect(ticket).to_be_visible()
    legend = ticket.locator("[data-ticket-leg] legend")
    expect(legend).to_have_attribute("data-symbol", symbol)  # the contract symbol
    root, yymmdd, right, strike = re.match(r"^\.([A-Z]+)(\d{6})([CP])([\d.]+)$", symbol).groups()  # type: ignore[union-attr]
    day = datetime.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    expect(legend).to_have_text(f"{root} {day.day} {day:%b %y} {strike} {right}")  # its name
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Buy to Open")
    expect(ticket.locator("[data-ticket-price]")).to_have_value(OPTION_PRICE)
    page.keyboard.press("Escape")
    bid = page.locator(f"#chain td[data-side=call][data-field=bid][data-trade-symbol='{symbol}']")
    bid.focus()
    page.keyboard.press("Enter")
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Sell to Open")
    page.keyboard.press("Escape")
    expect(ticket).to_have_count(0)
    expect(bid).to_be_focused()
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_tickets_controls_stay_put_when_its_trading_check_answers(
    page: Page, browser_app, browser_sandbox
):
    """The ticket asks the server whether the trader may trade after it opens: its answer
    (here "Trading is off for you…") must not move a button or a field under the pointer
    (a click meant for Close, or for Confirm, would land on something else)."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    held = []
    page.route("**/api/trading", lambda route: held.append(route))
    row = page.locator("tr[data-position]").first
    row.locator("[data-row-menu]").click()
    with page.expect_request("**/api/trading"):
        page.locator("[data-menu-close]").click()
    ticket = page.locator("#trade-ticket")
    expect(ticket).to_be_visible()
    controls = ticket.locator("button:visible, input:visible, select:visible")
    before = [c.bounding_box() for c in controls.all()]
    for route in held:
        route.continue_()
    expect(ticket.locator("[data-ticket-trading]")).to_contain_text("Trading is off for you")
    after = [c.bounding_box() for c in controls.all()]
    assert len(before) >= 5
    assert after == before
    ticket.locator("[data-ticket-close]").click()
    expect(ticket).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


def test_ticket_from_the_risk_graph(page: Page, browser_app, browser_sandbox):
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/risk?u=AAPL")
    button = page.locator("[data-risk-trade]")
    expect(button).to_have_attribute("data-risk-trade", "AAPL", timeout=15_000)
    expect(button).to_have_text("Trade AAPL…")
    button.click()
    ticket = page.locator("#trade-ticket")
    expect(ticket.locator("[data-ticket-leg] legend")).to_have_text("AAPL")
    expect(ticket.locator("#trade-ticket-title")).to_have_text("Trade AAPL")
    expect(ticket.locator("[data-ticket-action='0']")).to_have_value("Buy to Open")
    expect(ticket.locator("[data-ticket-account]")).to_have_value("")
    page.keyboard.press("Escape")
    expect(ticket).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]
