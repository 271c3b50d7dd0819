"""The dashboard in a real browser: login, live values, and healing after a broker drop."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from sandbox.core.credentials import credential_id
from streaming.risk.page.odds_text import odds_cells
from tests.support.live import DEMO_USER
from tests.support.orders import market_buy

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))


def log_in(page: Page, base_url: str, user: tuple[str, str] = DEMO_USER) -> float:
    """Log `user` (name, password; the demo trader) in; when the login was sent."""
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", user[0])
    page.fill("input[name=password]", user[1])
    started = time.monotonic()
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
    return started


def tastytrade_account(page: Page) -> str:
    """The number of the first tastytrade account on the page (orders go in through
    tastytrade's order JSON via the sandbox's control API)."""
    broker = page.locator("[data-field=broker]", has_text="tastytrade")
    return page.locator("[data-account]").filter(has=broker).first.get_attribute("data-account")


def test_login_balance_live_quote_and_recovery(page: Page, browser_app, browser_sandbox):
    """Log in, see a balance and the SIMULATED banner, see a quote change live, then see
    the link indicator leave live (reconnecting, then connecting) and come back after the
    broker is dropped."""
    started = log_in(page, browser_app.url)
    expect(page.locator("#simulated-banner")).to_be_visible()
    balance = page.locator("[data-account] [data-field=net_liquidating_value]").first
    expect(balance).not_to_have_text("")
    expect(balance).not_to_have_text("—")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)

    bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
    first = bid.inner_text()
    expect(bid).not_to_have_text(first, timeout=10_000)  # it ticks: live, not server-rendered
    first_live_quote = time.monotonic() - started
    print(f"\nlogin submit → first live SPY quote change: {first_live_quote * 1000:.0f} ms")

    link = page.locator("[data-link]").first
    expect(link).to_have_attribute("data-state", "live", timeout=10_000)
    # the quote source shows both of its kinds; all data in use is live, so the data is fresh
    expect(link).to_have_attribute("data-quotes-state", "live")
    expect(link.locator('[data-kind="quotes"]')).to_have_text("quotes live")
    expect(link.locator('[data-kind="account"]')).to_have_text("account live")
    expect(page.locator("#data-state")).to_have_attribute("data-state", "fresh", timeout=10_000)
    # every state the indicator shows from here: a transient one can fall between two
    # polls of an expect, and a busy socket keeps only a link's newest status (the contract)
    link.evaluate(
        """(el) => { window.__linkStates = [];
        new MutationObserver(() => window.__linkStates.push(el.getAttribute('data-state')))
          .observe(el, { attributes: true, attributeFilter: ['data-state'] }); }"""
    )
    control = browser_sandbox.control()
    control.fault("drop", target="all", credential=credential_id("demo-refresh-token"))
    page.wait_for_function(
        "() => window.__linkStates.some((s) => s !== 'live')", timeout=10_000
    )  # the drop is shown...
    expect(link).to_have_attribute("data-state", "live", timeout=15_000)  # ...and healed
    shown = page.evaluate("() => window.__linkStates")
    assert set(shown) - {"live"} <= {"reconnecting", "connecting"}, shown  # never error
    expect(link).to_have_attribute("title", re.compile(r"· [1-9]\d* reconnects? ·"))
    after = bid.inner_text()
    expect(bid).not_to_have_text(after, timeout=10_000)
    control.close()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.screenshot(path=str(ARTIFACTS / "dashboard-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#status-bar").bounding_box()["height"] <= 64
    assert page.errors == []  # type: ignore[attr-defined]


def test_order_events_appear_as_they_happen(page: Page, browser_app, browser_sandbox):
    """An order placed at the broker shows up in the feed and reaches Filled."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    account = tastytrade_account(page)
    control = browser_sandbox.control()
    order = {
        "time-in-force": "Day",
        "order-type": "Market",
        "legs": [
            {"instrument-type": "Equity", "symbol": "MSFT", "action": "Buy to Open", "quantity": 2}
        ],
    }
    fill_at_the_broker(page, control, account, order)
    control.close()


def fill_at_the_broker(page: Page, control: Any, account: str, order: dict[str, Any]) -> None:
    """Place `order` at the sandbox's broker, step its market until it fills, and see its
    row in the orders feed (keyed by link and broker order id: ids are only unique within
    one broker) appear, then read Filled."""
    order_id = control.place_order(account, order)["order"]["id"]
    row = page.locator(f'#orders [data-order$=":{order_id}"]')
    expect(row).to_be_visible(timeout=10_000)
    for _ in range(3):
        control.step()
    expect(row).to_contain_text("Filled", timeout=10_000)


def test_watchlist_edit_persists(page: Page, browser_app):
    """Adding a symbol subscribes it live and survives a reload; a bad symbol is refused."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    page.fill('#watchlist-form input[name="symbol"]', "amd")
    page.press('#watchlist-form input[name="symbol"]', "Enter")
    row = page.locator('tr[data-quote="AMD"]')
    expect(row.locator("[data-field=bid]")).not_to_have_text("—", timeout=10_000)
    page.reload()
    expect(page.locator('tr[data-quote="AMD"]')).to_be_visible()
    page.fill('#watchlist-form input[name="symbol"]', "DROP TABLE")
    page.press('#watchlist-form input[name="symbol"]', "Enter")
    # the form's one message line says why (tests/browser/test_a11y.py: replaced, never piled up)
    expect(page.locator("#watchlist-form [data-form-error]")).to_contain_text("not a valid symbol")
    expect(page.locator('tr[data-quote="DROP TABLE"]')).to_have_count(0)


def test_blocked_websocket_falls_back_to_sse(page: Page, browser_app, browser_sandbox):
    """A network that kills WebSockets (every upgrade closes at once): after three failed
    sockets the page streams over SSE instead: quotes tick and an order fills live."""
    page.route_web_socket(re.compile(r".*/ws/stream/.*"), lambda ws: ws.close(code=1006))
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "sse", timeout=20_000)
    bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
    first = bid.inner_text()
    expect(bid).not_to_have_text(first, timeout=10_000)
    account = tastytrade_account(page)
    control = browser_sandbox.control()
    order = {
        "time-in-force": "Day",
        "order-type": "Market",
        "legs": [
            {"instrument-type": "Equity", "symbol": "QQQ", "action": "Buy to Open", "quantity": 1}
        ],
    }
    order_id = control.place_order(account, order)["order"]["id"]
    for _ in range(3):
        control.step()
    row = page.locator(f'#orders [data-order$=":{order_id}"]')
    expect(row).to_contain_text("Filled", timeout=10_000)
    control.close()
    state = page.evaluate("window.streamdesk.state()")
    assert state["sse"] is True and state["fallback"] == "sse"  # SSE is the active fallback


#: Every position row's POP cell: [row key, option?, text before the note, title, the note].
POP_CELLS = """() => [...document.querySelectorAll('#accounts tr[data-position]')].map((tr) => {
  const td = tr.querySelector('[data-field=pop]');
  return [tr.dataset.position, tr.dataset.option === 'true',
    td.firstChild && td.firstChild.nodeType === 3 ? td.firstChild.textContent : '',
    td.getAttribute('title') || '', (td.querySelector('.sr-only') || {}).textContent || ''];
})"""


def expected_pops(strategies: list[dict[str, Any]]) -> dict[str, tuple[str, str, str]]:
    """The API's strategies as the POP cells must read (the server's formatter, odds_text.py:
    a whole percentage titled with the inputs, or "—" with the note), by "<account>|<symbol>";
    the first strategy listed holding an option leg."""
    cells: dict[str, tuple[str, str, str]] = {}
    for s in strategies:
        c = odds_cells(s)  # type: ignore[arg-type]  # JSON, as the API answers it
        for leg in s["legs"]:
            key = f"{s['account']}|{leg['symbol']}"
            if leg["kind"] != "stock":
                cells.setdefault(
                    key, (c["pop"], c["pop_title"], f" {c['pop_why']}" if c["pop_why"] else "")
                )
    return cells


def test_account_cards_show_beta_delta_and_iv_rank_with_source_and_age(
    page: Page, browser_app, browser_sandbox
):
    """Each position's β-weighted delta (SPY shares) and its underlying's IV rank, each
    titled with where it came from and how old it is (the demo user's tastytrade link
    serves the metrics); a value without its inputs is "—", never 0. Each option position
    shows the POP of its strategy (`GET /api/risk/strategies`): server-rendered at load,
    asked again when the positions change (a fill); stock shows an empty cell."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    account = tastytrade_account(page)
    row = page.locator(f'[data-account="{account}"] tr[data-position]').first
    beta_delta = row.locator("[data-field=beta_delta]")
    iv_rank = row.locator("[data-field=iv_rank]")
    expect(beta_delta).to_have_text(re.compile(r"^[+\u2212-]?[\d,]+(\.\d)?$"), timeout=20_000)
    expect(beta_delta).to_have_attribute(
        "title",
        re.compile(r"^β -?\d+\.\d\d from tastytrade, as of .+ \(fetched (just now|\d+ min ago)\)"),
    )
    expect(iv_rank).to_have_text(re.compile(r"^\d{1,3}$"))
    expect(iv_rank).to_have_attribute(
        "title", re.compile(r"^IV rank \d{1,3} \(tastytrade, (just now|\d+ min ago)\)$")
    )
    headers = page.locator(f'[data-account="{account}"] table.positions thead th')
    expect(headers.filter(has_text="β-Δ")).to_have_count(1)
    expect(headers.filter(has_text="IVR")).to_have_count(1)
    expect(headers.filter(has_text="POP")).to_have_count(1)

    # POP at load (the server's): every option row a percentage titled with its inputs or
    # "—" with its note; every other row empty
    first = page.evaluate(POP_CELLS)
    assert any(option for _, option, *_ in first), "the demo trader holds options"
    for key, option, text, title, why in first:
        if not option:
            assert (text, title, why) == ("", "", ""), key
        elif text == "—":
            assert title.endswith(".") and why == f" {title}", (key, title, why)
        else:
            assert re.fullmatch(r"\d{1,3}%", text), (key, text)
            assert re.fullmatch(r"price [\d,.]+, IV [\d.]+%, rate -?[\d.]+%, [\d.]+ days", title)
    # a fill changes the positions: the strategies are asked again and every cell reads as
    # the answer the page drew (read in one go: a later answer cannot come in between)
    # (the cells wiped first: only the browser's drawing of the answer writes them again)
    before = page.evaluate(
        "() => { for (const td of document.querySelectorAll('#accounts [data-field=pop]')) {"
        " td.replaceChildren('x'); td.removeAttribute('title'); td.removeAttribute('data-pop'); }"
        " return window.streamdesk.positionOdds().refreshes; }"
    )
    control = browser_sandbox.control()
    fill_at_the_broker(page, control, account, market_buy("DIA", 1))
    control.close()
    # the fill's frame, then the 2 s gap, then one answer (a loaded box: a margin of 20 s)
    page.wait_for_function(
        f"() => window.streamdesk.positionOdds().refreshes > {before}", timeout=25_000
    )
    drawn = page.evaluate(
        f"() => ({{odds: window.streamdesk.positionOdds(), cells: ({POP_CELLS})()}})"
    )
    want = expected_pops(drawn["odds"]["strategies"])
    options = {key for key, option, *_ in drawn["cells"] if option}
    assert options and options == set(want), (options, set(want))
    for key, option, text, title, why in drawn["cells"]:
        assert (text, title, why) == (want[key] if option else ("", "", "")), key
    assert page.errors == []  # type: ignore[attr-defined]
