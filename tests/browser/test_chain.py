"""The option chain page in a real Chromium against the sandbox: live at tastytrade (SDK
nested chain + DXLink Quote/Greeks) and at Tradier (chain with greeks=true + its quote
stream): server-rendered first, then values move, greeks present, ATM highlighted, the
held strike marked, the visible options subscribed and released when the window moves;
an Alpaca-only user is told there are no quotes; bad input and a rate-limiting broker
get a clear message while the stream goes on; a polling tab's chain is live too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from streaming.instruments.symbols import OPTION_STREAMER_RE
from tests.browser.test_dashboard import log_in
from tests.support.chains import chain_requests, chain_users
from tests.support.wait import poll_until

ROOT = Path(__file__).resolve().parents[2]
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "chain.png"

CELLS = """(field) => [...document.querySelectorAll(`#chain-table td[data-field=${field}]`)]
    .map((td) => td.getAttribute('data-value'))"""
ALL_SET = """(field) => {
    const c = [...document.querySelectorAll(`#chain-table td[data-field=${field}]`)];
    return c.length > 0 && c.every((td) => td.getAttribute('data-value')); }"""


@pytest.fixture(scope="module")
def broker_users(browser_app) -> dict[str, dict]:
    return {b: chain_users(browser_app, b, 1, f"br{b[:2]}")[0] for b in ("tradier", "alpaca")}


def open_as(page: Page, app, broker: str, users: dict[str, dict]) -> None:
    """Log in as the demo user (its quotes come from tastytrade) or a one-link user."""
    if broker == "tastytrade":
        log_in(page, app.url)
    else:
        page.context.add_cookies(
            [{"name": "sessionid", "value": users[broker]["sessionid"], "url": app.url}]
        )
        page.goto(f"{app.url}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)


#: The page is live before the link's first account read has landed (Tradier's and
#: Alpaca's come with their connect): seconds on a quiet box, the rest a loaded one's margin.
ACCOUNTS_WITHIN = 20.0


def held_spy_option(page: Page, app) -> tuple[str, str, str]:
    """(streamer symbol, expiration, strike text) of a SPY option the user holds, once
    the server's snapshot has the user's accounts."""

    def found() -> tuple[str, str, str] | None:
        snapshot = page.request.get(f"{app.url}/api/snapshot").json()
        for account in snapshot["accounts"]:
            for p in account["positions"]:
                match = OPTION_STREAMER_RE.match(p.get("streamer_symbol") or "")
                if match and match.group(1) == "SPY":
                    day = dt.datetime.strptime(match.group(2), "%y%m%d").date().isoformat()
                    return p["streamer_symbol"], day, match.group(4)
        return None

    return poll_until(found, within=ACCOUNTS_WITHIN, what="a SPY option position")


@pytest.mark.parametrize("broker", ["tastytrade", "tradier"])
def test_the_chain_is_live_with_greeks_atm_and_held_strikes(
    page: Page, browser_app, browser_sandbox, broker_users, broker
):
    open_as(page, browser_app, broker, broker_users)
    held, expiration, held_strike = held_spy_option(page, browser_app)
    url = f"{browser_app.url}/chain/SPY?expiration={expiration}&strikes=40"

    # server-rendered: the 40 rows, ATM and the held strike before any script runs
    html = page.request.get(url).text()
    assert html.count("<tr data-strike=") == 40
    assert html.count('data-atm="true"') == 1
    assert f'data-held="call" title="You hold the {held_strike} call"' in html

    page.goto(url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    rows = page.locator("#chain-table tbody tr")
    expect(rows).to_have_count(40)
    api = page.request.get(f"{browser_app.url}/api/chain/SPY?expiration={expiration}&strikes=40")
    chain = api.json()
    assert chain["broker"] == broker and chain["expiration"] == expiration
    strikes = [r["strike"] for r in chain["rows"]]
    nearest = min(strikes, key=lambda k: (abs(k - chain["underlying_price"]), k))
    atm = page.locator('#chain-table tr[data-atm="true"]')
    expect(atm).to_have_count(1)
    expect(atm).to_have_attribute("data-strike", re.sub(r"\.0$", "", str(nearest)))
    held_row = page.locator(f'#chain-table tr[data-strike="{held_strike}"]')
    expect(held_row.locator('[data-held="call"]')).to_have_count(1)
    units = page.locator("[data-chain-units]")
    expect(units).to_contain_text("Θ theta per share per day")
    expect(units).to_contain_text("Vega per share per 1 vol point")
    expect(units).to_contain_text("IV in %")

    # live: every option subscribed through this tab, greeks on every row, values moving
    options = [r[side]["symbol"] for r in chain["rows"] for side in ("call", "put")]
    page.wait_for_function(
        "(want) => { const s = new Set(window.streamdesk.state().subscriptions);"
        " return want.every((x) => s.has(x)); }",
        arg=options,
        timeout=15_000,
    )
    for field in (
        "bid",
        "ask",
        "mark",
        "volume",
        "open_interest",
        "iv",
        "delta",
        "gamma",
        "theta",
        "vega",
    ):
        page.wait_for_function(ALL_SET, arg=field, timeout=20_000)
    iv = page.locator('#chain-table td[data-side="call"][data-field="iv"]').first.text_content()
    assert re.fullmatch(r"\d+\.\d%", iv), iv
    # the expected move by this expiration, and the strikes nearest its low and high marked
    move = page.locator("[data-expected-move]")
    number = r"[\d,]+\.\d\d"
    expect(move).to_have_text(
        re.compile(
            rf"^Expected move ±{number} \(±\d+\.\d%\) by {expiration}: "
            rf"({number}) \u2013 ({number})$"
        ),
        timeout=10_000,
    )
    edges = page.locator("#chain-table tr[data-expected-edge]")
    expect(edges).to_have_count(2)
    low, high = (float(x.replace(",", "")) for x in re.findall(number, move.inner_text())[1:])
    low_strike = float(edges.nth(0).get_attribute("data-strike") or "nan")
    high_strike = float(edges.nth(1).get_attribute("data-strike") or "nan")
    assert edges.nth(0).get_attribute("data-expected-edge") == "low"
    assert edges.nth(1).get_attribute("data-expected-edge") == "high"
    spacing = max(b - a for a, b in itertools.pairwise(strikes))
    assert abs(low_strike - low) <= spacing and abs(high_strike - high) <= spacing
    before = page.evaluate(CELLS, "bid")
    page.wait_for_function(
        "(before) => [...document.querySelectorAll('#chain-table td[data-field=bid]')]"
        ".some((td, i) => td.getAttribute('data-value') !== before[i])",
        arg=before,
        timeout=20_000,
    )
    age = page.locator("[data-greeks-age]")
    if broker == "tradier":
        expect(age).to_have_text(
            re.compile(r"^greeks as of \d\d:\d\d \S+, (just now|\d+ min ago) \(Tradier"),
            timeout=5_000,
        )
    else:
        expect(age).to_be_hidden()

    # the window moves (40 → 20 strikes): the options that left are unsubscribed
    page.select_option("#chain-strikes", "20")
    expect(rows).to_have_count(20)
    page.wait_for_function("() => window.streamdesk.chain().length === 41")
    kept = set(page.evaluate("() => window.streamdesk.chain()"))
    gone = [s for s in options if s not in kept and s != held]
    assert len(gone) == 40, len(gone)
    page.wait_for_function(
        "(gone) => { const s = new Set(window.streamdesk.state().subscriptions);"
        " return gone.every((x) => !s.has(x)); }",
        arg=gone,
        timeout=10_000,
    )
    if broker == "tastytrade" and os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.wait_for_function(ALL_SET, arg="delta", timeout=10_000)
        page.evaluate("() => window.streamdesk.flush()")
        page.screenshot(path=str(DOCS_IMAGE), full_page=False)
    assert set(page.evaluate("() => window.streamdesk.state().extraSymbols")) >= kept
    assert page.url.endswith(f"expiration={expiration}&strikes=20")
    assert page.errors == []  # type: ignore[attr-defined]


def test_no_quotes_bad_input_and_rate_limits_are_said_and_the_stream_goes_on(
    page: Page, browser_app, browser_sandbox, broker_users
):
    control = browser_sandbox.control()
    # an Alpaca-only user: there are no quotes, and which link would give them
    open_as(page, browser_app, "alpaca", broker_users)
    page.goto(f"{browser_app.url}/chain/SPY")
    error = page.locator("[data-chain-error]")
    expect(error).to_have_text(
        "Option chains need a link that quotes: Alpaca links give no quotes in streamdesk. "
        "Link tastytrade (live quotes and greeks) or Tradier (quotes, hourly greeks)."
    )
    expect(page.locator("#chain-table tbody tr")).to_have_count(0)
    page.context.clear_cookies()

    open_as(page, browser_app, "tastytrade", broker_users)
    cases = {
        "/chain/BRK.A": "the broker lists no options for BRK.A",
        "/chain/SPY?strikes=15": "strikes must be one of 10, 20, 40 (got '15')",
        "/chain/SPY?expiration=2001-01-05": "SPY has no expiration on 2001-01-05; listed: ",
        "/chain/NOT%20OK": "not a valid underlying symbol: 'NOT OK'",
    }
    for path, text in cases.items():
        page.goto(browser_app.url + path)
        expect(error).to_contain_text(text)
        # the stream goes on: the socket is live and quotes keep arriving
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)

    # the fallbacks carry the chain too: SSE names the options in its URL, a polling tab
    # names them in its polls
    for mode, state, symbol in (("sse", "sse", "IWM"), ("poll", "polling", "QQQ")):
        page.goto(f"{browser_app.url}/chain/{symbol}?strikes=10&transport={mode}")
        conn = page.locator("#conn-state")
        expect(conn).to_have_attribute("data-state", state, timeout=15_000)
        for field in ("bid", "delta"):
            page.wait_for_function(ALL_SET, arg=field, timeout=20_000)
        before = page.evaluate(CELLS, "bid")
        page.wait_for_function(
            "(before) => [...document.querySelectorAll('#chain-table td[data-field=bid]')]"
            ".some((td, i) => td.getAttribute('data-value') !== before[i])",
            arg=before,
            timeout=20_000,
        )

    # the broker rate-limits the chain fetch (429, Retry-After 2): said, counted down,
    # retried by itself; then the chain is there
    before = chain_requests(control, "tastytrade", "DIA")
    control.fault(
        "http_error",
        status=429,
        broker="tastytrade",
        path_prefix="/option-chains/DIA",
        retry_after=2,
        count=1,
    )
    page.goto(f"{browser_app.url}/chain/DIA?strikes=10")
    expect(error).to_contain_text("The broker is rate-limited, retrying in")
    expect(error).to_have_attribute("data-code", "rate_limited")
    expect(page.locator("#chain-table tbody tr")).to_have_count(10, timeout=15_000)
    expect(error).to_be_hidden()
    # the 429 is answered in front of the chain handler: one fetch reached it, the retry
    assert chain_requests(control, "tastytrade", "DIA") == before + 1
    assert control.state()["totals"]["http_faults"] >= 1
    control.close()
    assert page.errors == []  # type: ignore[attr-defined]
