"""The dashboard's orders panel in a real Chromium against daphne + the sandbox (the demo
user's six accounts at three brokers): every order names its broker and account as the
account cards do, the account and status filters, the bounded list with "Older…" paging
from the brokers' history, and CSV downloads whose rows match the page
(docs/streaming-contract.md "Orders", "CSV exports")."""

from __future__ import annotations

import csv
import os
import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from streaming.brokers.orders.history import HISTORY_TIMEOUT
from tests.browser.test_dashboard import log_in as dashboard_log_in
from tests.support.orders import market_buy as order
from tests.support.wait import poll_until

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
#: The sandbox steps orders every second and Tradier is polled every 2 s: an order's
#: change reaches the page within a few seconds; the margin is for a loaded box.
SEEN_MS = 20_000
#: A filter that leaves less than a page of orders reads older ones from the brokers at once
#: ("Loading orders…" meanwhile): each broker's history call is bounded by HISTORY_TIMEOUT;
#: the margin is for a loaded box (a clean clone's took over the 5 s default).
OLDER_MS = int((HISTORY_TIMEOUT + 10) * 1000)
ZONE = "America/New_York"


@pytest.fixture
def page(browser: Browser) -> Page:
    """The trader's time zone is New York (the export links carry the page's zone)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id=ZONE, accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def log_in(page: Page, base_url: str) -> None:
    dashboard_log_in(page, base_url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    expect(page.locator("[data-account]")).to_have_count(6, timeout=SEEN_MS)


def cards(page: Page) -> dict[str, dict[str, str]]:
    """Account number -> what its card shows: broker, name (label), number."""
    found = {}
    for card in page.locator("[data-account]").all():
        number = card.get_attribute("data-account")
        found[number] = {
            f: card.locator(f"[data-field={f}]").first.inner_text()
            for f in ("broker", "name", "number")
        }
    return found


def by_broker(page: Page) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for number, card in cards(page).items():
        out.setdefault(card["broker"], []).append(number)
    return out


def shown(page: Page) -> list[dict[str, str]]:
    """The panel's entries, top to bottom."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#orders > li[data-order]'), (li) => ({
            key: li.getAttribute('data-order'),
            status: li.getAttribute('data-status'),
            group: li.getAttribute('data-group'),
            account: li.getAttribute('data-order-account'),
            older: li.getAttribute('data-older') === 'true',
            broker: li.querySelector('[data-field=broker]').textContent,
            name: li.querySelector('[data-field=account]').textContent }))"""
    )


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_each_order_names_its_broker_and_account_and_the_filters_work(
    page: Page, browser_app, browser_sandbox
):
    log_in(page, browser_app.url)
    accounts = by_broker(page)
    control = browser_sandbox.control()
    placed = {
        accounts["tastytrade"][0]: control.place_order(accounts["tastytrade"][0], order("MSFT", 1)),
        accounts["tradier"][1]: control.place_order(accounts["tradier"][1], order("KO", 2)),
        accounts["alpaca"][0]: control.place_order(accounts["alpaca"][0], order("QQQ", 1)),
    }
    working = control.place_order(
        accounts["tastytrade"][1],
        order("SPY", 1, **{"order-type": "Limit", "price": 1.05, "price-effect": "Debit"}),
    )
    cancelled = control.place_order(
        accounts["tradier"][0],
        order(
            "SPY",
            1,
            **{
                "order-type": "Limit",
                "price": 1.05,
                "price-effect": "Debit",
                "time-in-force": "IOC",
            },
        ),
    )
    control.close()
    assert placed and working and cancelled
    entries = page.locator("#orders > li[data-order]")
    expect(entries).to_have_count(5, timeout=SEEN_MS)
    expect(page.locator('#orders > li[data-status="Filled"]')).to_have_count(3, timeout=SEEN_MS)
    expect(page.locator('#orders > li[data-status="Cancelled"]')).to_have_count(1, timeout=SEEN_MS)

    # broker + account exactly as the account cards say them
    the_cards = cards(page)
    for entry in shown(page):
        card = the_cards[entry["account"]]
        assert entry["broker"] == card["broker"]
        assert entry["name"] == f"{card['name']} {card['number']}"
    assert {e["broker"] for e in shown(page)} == {"tastytrade", "tradier", "alpaca"}

    # filter by account: only its orders; then by status
    page.select_option("#orders-account", accounts["tastytrade"][1])
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-order-account", accounts["tastytrade"][1])
    expect(entries.first).to_have_attribute("data-status", "Live")
    page.select_option("#orders-account", "")
    page.select_option("#orders-status", "filled")
    expect(entries).to_have_count(3)
    page.select_option("#orders-status", "working")
    expect(entries).to_have_count(1)
    page.select_option("#orders-status", "ended")
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-order-account", accounts["tradier"][0])
    page.select_option("#orders-account", accounts["alpaca"][0])
    expect(entries).to_have_count(0)
    expect(page.locator("#orders-empty")).to_have_text(
        "No orders match the filter.", timeout=OLDER_MS
    )
    page.select_option("#orders-account", "")
    page.select_option("#orders-status", "all")
    expect(entries).to_have_count(5)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#orders-panel").screenshot(path=str(ARTIFACTS / "orders-panel.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_list_stays_bounded_and_older_pages_in(page: Page, browser_app, browser_sandbox):
    """60 more filled orders: the page keeps the newest 50 (and every working order) in its
    DOM and its state; "Older…" pages in the rest from the server, each once, then hides."""
    log_in(page, browser_app.url)
    account = by_broker(page)["tradier"][0]
    control = browser_sandbox.control()
    placed = [str(control.place_order(account, order("F", 1))["order"]["id"]) for _ in range(60)]
    control.close()

    def filled_in_state() -> bool:
        orders = page.evaluate("window.streamdesk.state().orders")
        newest = {str(o["id"]) for o in orders if o["status"] == "Filled"}
        return set(placed[-50:]) <= newest

    poll_until(filled_in_state, within=SEEN_MS / 1000 * 2, what="the newest 50 filled on the page")
    state_orders = page.evaluate("window.streamdesk.state().orders")
    working = [o for o in state_orders if o["status"] not in ("Filled", "Cancelled")]
    assert len(state_orders) == 50 + len(working), (
        "the state holds the newest 50 and the working ones"
    )
    entries = page.locator("#orders > li[data-order]")
    expect(entries).to_have_count(len(state_orders))
    first = shown(page)
    assert [e["key"].split(":", 1)[1] for e in first[:50]] == list(reversed(placed))[:50]

    older = page.locator("#orders-older")
    expect(older).to_be_visible()
    expect(older).to_have_text("Older…")
    seen_all = len(first)
    for _ in range(10):
        if not older.is_visible():
            break
        before = entries.count()
        older.click()
        expect(older).to_be_enabled(timeout=SEEN_MS)
        poll_until(
            lambda b=before: entries.count() > b or not older.is_visible(), within=20, what="a page"
        )
        seen_all = entries.count()
    expect(older).to_be_hidden()
    expect(page.locator("#orders-note")).to_have_text("No older orders.")
    listed = shown(page)
    keys = [e["key"] for e in listed]
    assert len(keys) == len(set(keys)) == seen_all, "every order once"
    ids = [k.split(":", 1)[1] for k in keys]
    assert set(placed) <= set(ids)  # the sixty, whatever tests ran before
    assert [i for i in ids if i in placed] == list(reversed(placed)), "newest first throughout"
    assert all(e["older"] for e in listed if e["key"].split(":", 1)[1] in placed[:10])
    # older pages stay out of the reducer's state (no notification, no numbering)
    assert len(page.evaluate("window.streamdesk.state().orders")) == len(state_orders)
    # a filter starts over: the newest of that account, and "Older…" again
    page.select_option("#orders-account", account)
    expect(older).to_be_visible()
    expect(entries).to_have_count(sum(1 for o in state_orders if o["_account"] == account))
    assert page.errors == []  # type: ignore[attr-defined]


def test_csv_downloads_match_the_page(page: Page, browser_app, browser_sandbox):
    """The panel's Orders link, filtered to one account, downloads that account's orders in
    the page's order with the page's statuses; the positions file's quantities are the
    cards' (signed), and times are labelled with the page's zone. A status that can still
    change (another order of the account working its way) is not compared between the page
    and the file, which read it at two moments: this test's own orders are waited for at
    their final states, and every order that ended is compared."""
    log_in(page, browser_app.url)
    account = by_broker(page)["tastytrade"][0]
    aapl = page.locator(f'tr[data-position="{account}|AAPL"] [data-field=quantity]')
    held = Decimal(aapl.get_attribute("data-value")) if aapl.count() else Decimal(0)
    control = browser_sandbox.control()
    filled = str(control.place_order(account, order("AAPL", 2))["order"]["id"])
    # a limit far below the market (AAPL is not near 0.30): it stays Live
    live = control.place_order(
        account, order("AAPL", 1, **{"order-type": "Limit", "price": 0.3, "price-effect": "Debit"})
    )
    live = str(live["order"]["id"])
    control.close()
    page.select_option("#orders-account", account)
    entries = page.locator("#orders > li[data-order]")
    ours = {filled: "Filled", live: "Live"}
    for order_id, final in ours.items():
        expect(page.locator(f'#orders > li[data-order$=":{order_id}"]')).to_have_attribute(
            "data-status", final, timeout=SEEN_MS
        )
    expect(page.locator("#orders-older")).to_be_enabled()
    assert entries.count() >= 2
    link = page.locator('#orders-panel a[data-export="orders"]')
    assert (
        link.get_attribute("href")
        == f"/api/exports/orders.csv?account={account}&tz=America%2FNew_York"
    )
    on_page = shown(page)  # read once; the file is read once after it
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith(f"streamdesk-orders-{account}-")
    table = read_csv(download.value.path())
    in_file: dict[str, str] = {}  # order id -> status (an order's rows are one per fill)
    for r in table:
        in_file.setdefault(r["order_id"], r["status"])
    page_ids = [e["key"].split(":", 1)[1] for e in on_page]
    # the page's orders, in the page's order, first in the file (the ids are not live)
    assert list(in_file)[: len(page_ids)] == page_ids
    # our orders at their final states; every order that had ended on the page, as it ended
    for order_id, final in ours.items():
        assert in_file[order_id] == final, (order_id, in_file[order_id])
    ended = {e["key"].split(":", 1)[1]: e["status"] for e in on_page if e["group"] != "working"}
    assert {i: in_file[i] for i in ended} == ended
    # nothing else of the account is working, so its positions cannot move meanwhile
    working = [e["key"] for e in on_page if e["group"] == "working"]
    assert working == [e["key"] for e in on_page if e["key"].endswith(f":{live}")], working
    assert {r["account"] for r in table} == {account}
    assert f"updated_at (ISO 8601, {ZONE})" in table[0]

    # the positions as they are after our fill (its account event may follow its order's)
    expect(aapl).to_have_attribute("data-value", str(held + 2), timeout=SEEN_MS)
    page.locator("#exports summary").click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "orders-exports-1280.png"), full_page=True)
    positions_link = page.locator(
        f'#exports [data-exports-row="{account}"] a[data-export="positions"]'
    )
    with page.expect_download() as download:
        positions_link.click()
    rows = read_csv(download.value.path())
    quantities = page.evaluate(
        """(n) => Object.fromEntries(Array.from(
            document.querySelectorAll(`tr[data-position^="${n}|"]`),
            (tr) => [tr.getAttribute('data-position').split('|')[1],
                     tr.querySelector('[data-field=quantity]').textContent]))""",
        account,
    )
    assert {r["symbol"]: Decimal(r["quantity"]) for r in rows} == {
        s: Decimal(q.replace(",", "")) for s, q in quantities.items()
    }
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_bracket_reads_as_one_entry_and_a_trailing_stop_shows_its_trail(
    page: Page, browser_app, browser_sandbox
):
    """What a real Alpaca account holds, placed with Alpaca's documented bodies (alpaca-docs
    content/trading/orders.md: a bracket's `take_profit`/`stop_loss`, a trailing stop's
    `trail_percent`): the panel lists the bracket's three orders together, the entry first
    with its exits indented under it, each named by its role, and the trailing stop with its
    trail, where its stop stands and its high (docs/streaming-contract.md, "The dashboard's
    panel")."""
    from accounts.services import DEMO_LINKS

    log_in(page, browser_app.url)
    number = by_broker(page)["alpaca"][0]
    key = next(secrets for broker, _, secrets in DEMO_LINKS if broker == "alpaca")
    browser_sandbox.control().set_price("AAPL", 200.0)
    with httpx.Client(
        base_url=f"{browser_sandbox.url}/alpaca",
        auth=(key["key_id"], key["secret_key"]),
        timeout=10,
    ) as alpaca:
        (found,) = alpaca.get("/v1/accounts", params={"query": number}).json()
        orders = f"/v1/trading/accounts/{found['id']}/orders"
        bracket = alpaca.post(
            orders,
            json={
                "symbol": "AAPL", "qty": "2", "side": "buy", "type": "limit",
                "limit_price": "150", "time_in_force": "gtc", "order_class": "bracket",
                "take_profit": {"limit_price": "215"}, "stop_loss": {"stop_price": "140"},
            },
        )  # fmt: skip
        assert bracket.status_code == 200, bracket.text
        trailing = alpaca.post(
            orders,
            json={
                "symbol": "AAPL", "qty": "1", "side": "sell", "type": "trailing_stop",
                "trail_percent": "2.5", "time_in_force": "gtc",
            },
        )  # fmt: skip
        assert trailing.status_code == 200, trailing.text
    entry = bracket.json()
    take_profit, stop_loss = (leg["id"] for leg in entry["legs"])

    group = page.locator(f"#orders > li[data-linked='{entry['id']}']")
    expect(group).to_have_count(3, timeout=SEEN_MS)
    rows = [(r["key"].split(":", 1)[1], r["member"]) for r in linked_rows(page, entry["id"])]
    assert rows == [(entry["id"], False), (take_profit, True), (stop_loss, True)]
    link = [f"Bracket on AAPL: 3 orders · {role}" for role in ("entry", "take profit", "stop loss")]
    expect(group.locator("[data-field=link]")).to_have_text(link)
    expect(group.locator("[data-field=terms]")).to_have_text(
        ["Limit 150.00 Debit GTC", "Limit 215.00 Credit GTC", "Stop 140.00 GTC"]
    )
    expect(group.locator("[data-field=status]")).to_have_text(["Live", "Contingent", "Contingent"])

    terms = page.locator(f"#orders > li[data-order$=':{trailing.json()['id']}'] .order-type")
    shape = re.compile(r"^Trailing Stop ([\d.]+) trail 2\.5% · high ([\d.]+) GTC$")
    expect(terms).to_have_text(shape, timeout=SEEN_MS)
    stop, high = (Decimal(x) for x in shape.match(terms.inner_text()).groups())
    # the stop trails the high by 2.5 %, to the cent (the order as the broker holds it)
    assert abs(stop - high * Decimal("0.975")) <= Decimal("0.01")
    assert not page.errors  # type: ignore[attr-defined]


def linked_rows(page: Page, group_id: str) -> list[dict]:
    """The panel's rows of one linked order, top to bottom: key and whether indented."""
    return page.evaluate(
        """(id) => Array.from(document.querySelectorAll('#orders > li[data-order]'))
            .filter((li) => li.getAttribute('data-linked') === id)
            .map((li) => ({ key: li.getAttribute('data-order'),
                            member: li.getAttribute('data-member') === 'true' }))""",
        group_id,
    )


#: A long stock position of an account, as the stream's state has it: [its symbol, quantity].
LONG_STOCK = """(number) => {
  const acct = window.streamdesk.state().accounts.find((a) => a.number === number);
  const p = acct && acct.positions.find((x) => x.instrument_type === 'Equity'
    && x.direction === 'Long' && Number.isInteger(Number(x.quantity)) && Number(x.quantity) >= 3);
  return p ? [p.symbol, Number(p.quantity)] : null;
}"""


def test_an_exit_larger_than_its_position_is_said(
    page: Page, browser, browser_app, browser_sandbox
):
    """docs/streaming-contract.md "The dashboard's panel": a working exit for the whole
    position says nothing; once part of the position is sold elsewhere (the demo's order
    generator did this to its MSFT) the exit is larger than what is held, and the panel
    says so, in the page's script and in the page the server renders first."""
    log_in(page, browser_app.url)
    number = by_broker(page)["tastytrade"][0]
    found = poll_until(lambda: page.evaluate(LONG_STOCK, number), SEEN_MS / 1000, "a long stock")
    symbol, held = found
    control = browser_sandbox.control()
    try:
        sell = {"action": "Sell to Close", "quantity": held, "instrument-type": "Equity"}
        exit_order = control.place_order(
            number,
            order(
                symbol,
                held,
                **{
                    "order-type": "Limit",
                    "price": 99999,
                    "price-effect": "Credit",
                    "time-in-force": "GTC",
                },
                legs=[{**sell, "symbol": symbol}],
            ),
        )["order"]["id"]
        entry = page.locator(f"#orders > li[data-order$=':{exit_order}']")
        expect(entry).to_have_attribute("data-status", "Live", timeout=SEEN_MS)
        expect(entry).not_to_have_attribute("data-oversize", "true")
        expect(entry.locator("[data-field=oversize]")).to_have_count(0)
        # one share sold by another order: the exit now closes more than is held
        control.place_order(
            number, order(symbol, 1, legs=[{**sell, "symbol": symbol, "quantity": 1}])
        )
    finally:
        control.close()
    said = f"Exits for {held} {symbol}, but {held - 1} are held."
    expect(entry).to_have_attribute("data-oversize", "true", timeout=SEEN_MS)
    expect(entry.locator("[data-field=oversize]")).to_have_text(said)
    # the page the server renders says the same before any script runs
    plain = browser.new_context(java_script_enabled=False)
    try:
        first = plain.new_page()
        dashboard_log_in(first, browser_app.url)
        rendered = first.locator(f"#orders > li[data-order$=':{exit_order}']")
        expect(rendered).to_have_attribute("data-oversize", "true")
        expect(rendered.locator("[data-field=oversize]")).to_have_text(said)
    finally:
        plain.close()
    assert not page.errors  # type: ignore[attr-defined]
