"""What the demo accounts hold beyond stocks and options (`manage.py sandbox
--demo-holdings`, sandbox/core/demo_seed.py `Holdings`), read by the real adapters from
each broker's own API and shown by the dashboard in a real Chromium:

- a bracket at every broker — tastytrade's OTOCO complex order, Tradier's otoco, Alpaca's
  `order_class: bracket` — listed as one entry with its take profit and stop loss under
  it, each named by its role (alpaca-docs content/trading/orders.md "Bracket Orders";
  developer.tastytrade.com order-submission "OTOCO"; docs.tradier.com "OTOCO Order");
- a protective stop-loss under the SPY position, with its trigger price;
- at Alpaca, a trailing stop under AAPL with its trail, its stop and its high
  (orders.md "Trailing Stop Orders");
- a crypto position at tastytrade (`BTC/USD`, its streamer symbol `BTC/USD:CXTALP` from
  `GET /instruments/cryptocurrencies`) and at Alpaca (`BTCUSD`, `asset_class` crypto:
  alpaca-py #537), both marked live by the user's quote feed (tastytrade's DXLink); for a
  trader whose quote source is Tradier, by the Alpaca link's crypto market data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.browser.fake_stream import wait_until
from tests.browser.test_a11y import report, serious
from tests.browser.test_dashboard import log_in as dashboard_log_in
from tests.browser.test_orders_panel import by_broker, linked_rows, log_in
from tests.support.live import LiveApp
from tests.support.wait import poll_until

#: Orders step every second, Tradier's orders and Alpaca's accounts are polled every 2 s
#: and a bracket's entry fills on its second step: each shows within a few seconds; the
#: margin is for a loaded box.
SEEN_MS = 20_000


@pytest.fixture(scope="module")
def browser_sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(tick_rate=4, alpaca_heartbeat_interval=2, demo_holdings=True)
    with SandboxServer(config) as sandbox:
        yield sandbox


#: Alpaca pushes no event when a trailing stop's high moves: the adapter reads it again with
#: the account, every this many seconds (STREAM_ACCOUNT_POLL_INTERVAL; 15 s by default).
ACCOUNT_POLL = 2


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("holdings")
    poll = str(ACCOUNT_POLL)
    app = LiveApp(browser_sandbox.url, workdir, STREAM_ACCOUNT_POLL_INTERVAL=poll).start()
    yield app
    app.stop()


def entries(page: Page, number: str, underlying: str, selector: str = "") -> Locator:
    """The orders panel's entries of account `number` on `underlying`."""
    on = page.locator("[data-field=underlying]", has_text=re.compile(f"^{underlying}$"))
    return page.locator(f"#orders > li[data-order-account='{number}']{selector}").filter(has=on)


def group_of(page: Page, number: str, underlying: str) -> str:
    """The group id of the linked order on `underlying` in account `number`, once listed."""
    entry = entries(page, number, underlying, "[data-linked]").first
    expect(entry).to_be_attached(timeout=SEEN_MS)
    return entry.get_attribute("data-linked") or ""


@pytest.mark.parametrize(
    ("broker", "name"),
    [("tastytrade", "OTOCO"), ("tradier", "OTOCO"), ("alpaca", "Bracket")],
)
def test_each_brokers_demo_bracket_is_one_entry_with_its_exits(
    page: Page, browser_app, browser_sandbox, broker: str, name: str
):
    log_in(page, browser_app.url)
    number = by_broker(page)[broker][0]  # the margin account
    group = group_of(page, number, "MSFT")
    rows = page.locator(f"#orders > li[data-linked='{group}']")
    expect(rows).to_have_count(3, timeout=SEEN_MS)
    assert [r["member"] for r in linked_rows(page, group)] == [False, True, True]
    link = rows.locator("[data-field=link]")
    expect(link).to_have_text(
        [f"{name} on MSFT: 3 orders · {role}" for role in ("entry", "take profit", "stop loss")]
    )
    terms = rows.locator("[data-field=terms]")
    expect(terms).to_have_text(
        [
            re.compile(r"^Market\b"),
            re.compile(r"^Limit \d+\.\d\d Credit GTC$"),
            re.compile(r"^Stop \d+\.\d\d GTC$"),
        ]
    )
    # the entry fills on the sandbox's first step; its exits then work
    expect(rows.locator("[data-field=status]")).to_have_text(
        ["Filled", "Live", "Live"], timeout=SEEN_MS
    )
    assert not page.errors  # type: ignore[attr-defined]


def test_a_stop_loss_and_alpacas_trailing_stop_show_their_triggers(
    page: Page, browser_app, browser_sandbox
):
    log_in(page, browser_app.url)
    accounts = by_broker(page)
    for broker in ("tastytrade", "tradier", "alpaca"):
        stop = entries(page, accounts[broker][0], "SPY", ":not([data-linked])").locator(
            "[data-field=terms]"
        )
        expect(stop).to_have_text(re.compile(r"^Stop \d+\.\d\d GTC$"), timeout=SEEN_MS)
    trailing = entries(page, accounts["alpaca"][0], "AAPL").locator("[data-field=terms]")
    shape = re.compile(r"^Trailing Stop ([\d.]+) trail 4% · high ([\d.]+) GTC$")
    expect(trailing).to_have_text(shape, timeout=SEEN_MS)
    stop, high = (Decimal(x) for x in shape.match(trailing.inner_text()).groups())
    assert abs(stop - high * Decimal("0.96")) <= Decimal("0.01")
    assert not page.errors  # type: ignore[attr-defined]


@pytest.mark.parametrize(("broker", "symbol"), [("tastytrade", "BTC/USD"), ("alpaca", "BTCUSD")])
def test_a_crypto_position_is_marked_live_by_the_quote_feed(
    page: Page, browser_app, browser_sandbox, broker: str, symbol: str
):
    log_in(page, browser_app.url)
    number = by_broker(page)[broker][0]
    row = page.locator(f"tr[data-position='{number}|{symbol}']")
    expect(row).to_have_attribute("data-streamer", "BTC/USD:CXTALP", timeout=SEEN_MS)
    expect(row.locator(".sub")).to_have_text("Cryptocurrency")
    expect(row.locator("[data-field=quantity]")).to_have_text("0.25")
    mark = row.locator("[data-field=mark]")
    # a live quote, not the broker's mark: the coin trades near its listed price
    expect(mark).not_to_have_class(re.compile(r"\bbroker-mark\b"), timeout=SEEN_MS)
    expect(mark).to_have_attribute("data-value", re.compile(r"^\d{5,6}(\.\d+)?$"), timeout=SEEN_MS)
    expect(mark).to_have_attribute("title", re.compile(r"^quote \d"), timeout=SEEN_MS)
    assert not page.errors  # type: ignore[attr-defined]


#: A trader whose links are Tradier and Alpaca (fresh credentials: their own sandbox
#: customers, holding what the demo offers): no quote source of theirs has crypto.
COIN_TRADER = ("coins", "coins-sandbox-pw")
MAKE_COIN_TRADER = f"""
from django.contrib.auth import get_user_model
from accounts.services import broker_link_create
from streaming.links.verify import broker_link_verify
user, made = get_user_model().objects.get_or_create(username={COIN_TRADER[0]!r})
if made:
    user.set_password({COIN_TRADER[1]!r})
    user.save()
    for broker, secrets in (
        ("tradier", {{"access_token": "coin-trader-tradier-token"}}),
        ("alpaca", {{"key_id": "COINTRADERKEY", "secret_key": "coin-trader-secret"}}),
    ):
        link = broker_link_create(user=user, broker=broker, label=f"{{broker}} coins", **secrets)
        assert broker_link_verify(link=link).status == "verified", link.last_error
print("ok")
"""


def test_with_a_tradier_source_alpacas_crypto_data_marks_the_coin(
    page: Page, browser_app, browser_sandbox
):
    """docs/streaming-contract.md "Coins": Tradier's feed has no crypto, so the Alpaca
    link's crypto market data (`v1beta3/crypto/us`) marks the Alpaca BTC position live,
    and the quotes pill says where the coins come from."""
    assert browser_app.python(MAKE_COIN_TRADER).strip().endswith("ok")
    dashboard_log_in(page, browser_app.url, COIN_TRADER)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=SEEN_MS)
    card = page.locator("[data-account]").filter(
        has=page.locator("[data-field=broker]", has_text="alpaca")
    )
    expect(card).to_have_count(2, timeout=SEEN_MS)  # its cash and margin accounts
    row = page.locator("tr[data-position$='|BTCUSD']")
    expect(row).to_have_count(1, timeout=SEEN_MS)
    expect(row).to_have_attribute("data-streamer", "BTC/USD:CXTALP")
    mark = row.locator("[data-field=mark]")
    expect(mark).not_to_have_class(re.compile(r"\bbroker-mark\b"), timeout=SEEN_MS)
    expect(mark).to_have_attribute("data-value", re.compile(r"^\d{5,6}(\.\d+)?$"))
    expect(mark).to_have_attribute("title", re.compile(r"^quote \d"), timeout=SEEN_MS)
    source = page.locator("#quote-source")
    expect(source.locator("[data-field=source]")).to_have_text("tradier", timeout=SEEN_MS)
    expect(source).to_have_attribute(
        "title", "Quotes come from tradier coins; coins from alpaca coins", timeout=SEEN_MS
    )
    assert not page.errors  # type: ignore[attr-defined]


def test_a_future_option_is_marked_live_under_its_streamer_symbol(
    page: Page, browser_app, browser_sandbox
):
    """tastytrade's `./ESZ6 ESZ6 261218C6000` streams as `./ESZ26C6000:XCME`, the
    `streamer-symbol` of `GET /instruments/future-options/{symbol}` (the SDK's
    `FutureOption.get`; developer.tastytrade.com api-guides/instruments, symbology)."""
    log_in(page, browser_app.url)
    number = by_broker(page)["tastytrade"][0]
    row = page.locator(f"tr[data-position^='{number}|./ES']")
    expect(row).to_have_count(1, timeout=SEEN_MS)
    symbol = row.get_attribute("data-position").split("|", 1)[1]
    future, code, rest = symbol.removeprefix("./").split(" ")
    assert future == code and re.fullmatch(r"ES[HMUZ]\d", future), symbol
    year, strike = re.fullmatch(r"(\d\d)\d{4}C(\d+)", rest).groups()
    feed = f"./{future[:-1]}{year}C{strike}:XCME"  # ESZ6 expiring 2026-12-18: ESZ26
    expect(row).to_have_attribute("data-streamer", feed, timeout=SEEN_MS)
    expect(row.locator(".sub")).to_have_text("Future Option")
    mark = row.locator("[data-field=mark]")
    expect(mark).not_to_have_class(re.compile(r"\bbroker-mark\b"), timeout=SEEN_MS)
    expect(mark).to_have_attribute("title", re.compile(r"^quote \d"), timeout=SEEN_MS)
    assert not page.errors  # type: ignore[attr-defined]


COIN = "BTC/USD:CXTALP"
#: A laptop's screen: the positions table must not push its last columns off it.
WIDE = {"width": 1440, "height": 900}


def test_positions_say_display_names_and_keep_their_risk_columns_on_a_1440_px_screen(
    browser, browser_app, browser_sandbox
):
    """docs/streaming-contract.md "Instruments": a position's symbol cell shows its display
    name (`/ES Dec 26 6000 C`, `BTC/USD`, `SPY 15 Jan 27 590 C`), its broker's own symbol
    in the title; a long name wraps in its cell, so β-Δ and IVR stay on a 1,440 px screen
    (they were pushed off it by `./ESZ6 ESZ6 261218C6000`)."""
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, browser_app.url)
        accounts = by_broker(page)
        tasty, alpaca = accounts["tastytrade"][0], accounts["alpaca"][0]
        es_call = page.locator(f"tr[data-position^='{tasty}|./ES']")
        expect(es_call.locator(".sym")).to_have_text("/ES Dec 26 6000 C", timeout=SEEN_MS)
        expect(es_call.locator("[data-field=symbol]")).to_have_attribute(
            "title", re.compile(r"^\./ES[HMUZ]\d ES[HMUZ]\d \d{6}C6000$")
        )
        for number, symbol in ((tasty, "BTC/USD"), (alpaca, "BTCUSD")):
            coin = page.locator(f"tr[data-position='{number}|{symbol}']")
            expect(coin.locator(".sym")).to_have_text("BTC/USD")
            expect(coin.locator("[data-field=symbol]")).to_have_attribute("title", symbol)
            # its chart and its alert by the contract symbol, whatever the broker calls it
            chart = coin.locator("a.chart-link")
            expect(chart).to_have_attribute("href", "/chart/BTC%2FUSD%3ACXTALP")
            expect(chart).to_have_attribute("title", "Chart of BTC/USD")
            expect(coin.locator("[data-row-menu]")).to_have_attribute("data-row-menu", COIN)
        expect(es_call.locator("a.chart-link")).to_have_attribute(
            "href", "/chart/.%2FESZ26C6000%3AXCME"
        )
        option = page.locator(f"tr[data-position='{alpaca}|SPY270115C00590000'] .sym")
        expect(option).to_have_text("SPY 15 Jan 27 590 C")
        # every card's last two columns inside the screen and its table: nothing to scroll to
        card = page.locator(f"[data-account='{tasty}']")
        card.scroll_into_view_if_needed()
        wrap = card.locator(".table-wrap")
        seen = wrap.evaluate("(el) => el.getBoundingClientRect().left + el.clientWidth")
        for head in ("beta_delta", "iv_rank"):
            box = card.locator(f"th[data-risk-col={head}]").bounding_box()
            assert box is not None, head
            right = box["x"] + box["width"]
            assert box["x"] >= 0 and right <= min(seen, WIDE["width"]) + 0.5, (head, box, seen)
        overflow = wrap.evaluate("(el) => el.scrollWidth - el.clientWidth")
        assert overflow <= 0, f"the positions table scrolls sideways by {overflow} px"
        assert not errors
    finally:
        context.close()


#: What a person sees the panel at: the desktop the issue names, and a phone.
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
#: The demo bracket's class, as each broker names it.
BRACKETS = {"tastytrade": "OTOCO", "tradier": "OTOCO", "alpaca": "Bracket"}


@pytest.mark.parametrize("size", SIZES)
def test_a_group_is_named_by_what_it_holds_and_cancelling_a_member_asks_about_the_group(
    page: Page, browser_app, browser_sandbox, size: str
):
    """At 1,440 and 390 px: each broker's demo bracket is named by what it holds ("OTOCO on
    MSFT: 3 orders · stop loss"; its id, which tells a trader nothing, in the title), its
    stop-loss reads "Stop 412.30 GTC" (the word once), and Cancel on one of its orders asks
    about the group the broker cancels with it, not about one order by its id; dismissed,
    nothing is cancelled. No serious axe violation."""
    page.set_viewport_size(SIZES[size])
    log_in(page, browser_app.url)
    if size == "phone":  # the phone shows one panel at a time
        page.click('[data-switch="view"] [data-value="orders"]')
    accounts = by_broker(page)
    for broker, name in BRACKETS.items():
        group = group_of(page, accounts[broker][0], "MSFT")
        rows = page.locator(f"#orders > li[data-linked='{group}']")
        link = rows.locator("[data-field=link]")
        roles = ("entry", "take profit", "stop loss")
        expect(link).to_have_text([f"{name} on MSFT: 3 orders · {role}" for role in roles])
        for i in range(3):
            expect(link.nth(i)).to_have_attribute("title", group)
        expect(rows.locator("[data-field=terms]").nth(2)).to_have_text(
            re.compile(r"^Stop \d+\.\d\d GTC$")
        )
    number = accounts["tastytrade"][0]
    rows = page.locator(f"#orders > li[data-linked='{group_of(page, number, 'MSFT')}']")
    expect(rows.locator("[data-field=status]")).to_have_text(
        ["Filled", "Live", "Live"], timeout=SEEN_MS
    )
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    cancel = rows.nth(2).locator("[data-order-cancel]")
    cancel.scroll_into_view_if_needed()
    cancel.click()
    wait_until(page, lambda: bool(asked), "the cancel question")
    assert asked == [f"Cancel the OTOCO group on MSFT: 2 working orders ({number})?"]
    expect(rows.locator("[data-field=status]")).to_have_text(["Filled", "Live", "Live"])
    found = serious(page)
    assert not found, report(f"{size} orders panel", found)
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    assert not page.errors  # type: ignore[attr-defined]


def price_in(terms: str, pattern: str) -> Decimal:
    found = re.search(pattern, terms)
    assert found is not None, f"{pattern!r} not in {terms!r}"
    return Decimal(found.group(1))


def test_prices_moved_at_the_sandbox_trigger_the_holdings_on_the_page(
    page: Page, browser_app, browser_sandbox
):
    """The behaviours, with the price moved at the sandbox and each outcome read on the
    page (the module's last test: it moves the market the others read):
    - a bracket's take profit fills when the price reaches it, and its stop loss is
      cancelled (one cancels the other: orders.md "Bracket Orders"; tastytrade OTOCO,
      Tradier otoco), at each broker;
    - a stop-loss triggers when the price falls through it, then fills;
    - Alpaca's trailing stop follows the price up (its high and stop rise, read again with
      the account: Alpaca sends no event for it) and triggers when the price falls its
      trail from that high (orders.md "Trailing Stop Orders")."""
    log_in(page, browser_app.url)
    accounts = by_broker(page)
    control = browser_sandbox.control()
    try:
        groups = {b: group_of(page, accounts[b][0], "MSFT") for b in accounts}
        rows = {b: page.locator(f"#orders > li[data-linked='{g}']") for b, g in groups.items()}
        for broker_rows in rows.values():
            expect(broker_rows.locator("[data-field=status]")).to_have_text(
                ["Filled", "Live", "Live"], timeout=SEEN_MS
            )
        take_profit = max(
            price_in(r.locator("[data-field=terms]").nth(1).inner_text(), r"^Limit ([\d.]+)")
            for r in rows.values()
        )
        control.set_price("MSFT", float(take_profit * Decimal("1.03")))
        for broker_rows in rows.values():
            expect(broker_rows.locator("[data-field=status]")).to_have_text(
                ["Filled", "Filled", "Cancelled"], timeout=SEEN_MS
            )

        stops = {b: entries(page, accounts[b][0], "SPY", ":not([data-linked])") for b in accounts}
        lowest = min(
            price_in(s.locator("[data-field=terms]").inner_text(), r"^Stop ([\d.]+)")
            for s in stops.values()
        )
        control.set_price("SPY", float(lowest * Decimal("0.97")))
        for stop in stops.values():
            expect(stop.locator("[data-field=status]")).to_have_text("Filled", timeout=SEEN_MS)

        trailing = entries(page, accounts["alpaca"][0], "AAPL")
        terms = trailing.locator("[data-field=terms]")
        high = price_in(terms.inner_text(), r"high ([\d.]+)")
        control.set_price("AAPL", float(high * Decimal("1.06")))
        risen = re.compile(r"^Trailing Stop ([\d.]+) trail 4% · high ([\d.]+) GTC$")
        floor = high * Decimal("1.05")

        def risen_terms() -> re.Match[str] | None:
            found = risen.match(terms.inner_text())
            return found if found and Decimal(found.group(2)) >= floor else None

        seen = poll_until(risen_terms, SEEN_MS / 1000, "the trailing stop's high rose")
        stop, new_high = (Decimal(x) for x in seen.groups())
        assert abs(stop - new_high * Decimal("0.96")) <= Decimal("0.01")
        expect(trailing.locator("[data-field=status]")).to_have_text("Live")
        control.set_price("AAPL", float(new_high * Decimal("0.94")))
        expect(trailing.locator("[data-field=status]")).to_have_text("Filled", timeout=SEEN_MS)
    finally:
        control.close()
    assert not page.errors  # type: ignore[attr-defined]
