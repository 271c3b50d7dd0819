"""The /risk page in a real Chromium against a real daphne + sandbox: the tables are
server-rendered (one per underlying across accounts, every value with its source), the
what-if graph draws three curves and the break-evens the API answers, the IV slider
changes the curve, and the graph moves live: the sandbox moves SPY's price and the
current-price marker and today's curve follow without a reload."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.test_a11y import SIZES, check, open_page
from tests.browser.test_dashboard import log_in
from tests.support.orders import market_buy
from tests.support.wait import poll_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "risk.png"
RISK = "() => window.streamdesk.risk()"
#: The risk page's module is loaded and has the underlying's live price.
RISK_PRICED = (
    "() => { const r = window.streamdesk && window.streamdesk.risk && window.streamdesk.risk();"
    " return !!r && typeof r.livePrice === 'number'; }"
)
#: A live re-fetch waits for the sandbox's order step (a fill: 1 s), the quote frame (≤ 1 s
#: at the stream's pace), the throttle (≤ 1 s) and three API answers (well under a second
#: each on a quiet box); the margin is for a loaded 2-core box, where a clean-clone run
#: once took more than 10 s for all of it.
LIVE_WITHIN_S = 1.0 + 1.0 + 1.0 + 20.0


#: An option's streamer symbol: root, expiration (yymmdd), right, strike.
OPTION_SYMBOL = re.compile(r"^\.([A-Z][A-Z0-9]*)(\d{6})([CP])(\d+(?:\.\d+)?)$")
#: Every position the page's stream holds, with its account.
HELD = "() => window.streamdesk.state().accounts.flatMap((a) => a.positions)"


def expiration_legs(positions: list[dict[str, Any]], underlying: str) -> list[tuple]:
    """(right or None for stock, strike, signed quantity * multiplier, cost) of every
    position in `underlying` with a cost (docs/streaming-contract.md: "P&L is against cost";
    a position without `average_open_price` is left out)."""
    legs = []
    for p in positions:
        if p.get("average_open_price") is None:
            continue
        size = float(p["quantity"]) * (-1 if p["direction"] == "Short" else 1)
        cost = float(p["average_open_price"])
        option = OPTION_SYMBOL.match(p.get("streamer_symbol") or "")
        if option and option[1] == underlying:
            mult = float(p.get("multiplier") or 100)
            legs.append((option[3], float(option[4]), size * mult, cost))
        elif not option and (p.get("underlying") or p["symbol"]) == underlying:
            legs.append((None, None, size * float(p.get("multiplier") or 1), cost))
    return legs


def pnl_at_expiration(legs: list[tuple], price: float) -> float:
    """The legs' P&L at `price` once every option is worth its intrinsic value."""
    total = 0.0
    for right, strike, size, cost in legs:
        if right is None:
            value = price
        elif right == "C":
            value = max(price - strike, 0.0)
        else:
            value = max(strike - price, 0.0)
        total += (value - cost) * size
    return total


def expiration_breakevens(legs: list[tuple], lo: float, hi: float) -> list[float]:
    """Where the P&L at expiration crosses zero in [lo, hi], exactly: it is linear between
    the strikes, so each sign change between two strikes (or the ends) is one root; a P&L
    that only touches zero is no break-even."""
    points = sorted({lo, hi, *(strike for _, strike, _, _ in legs if strike and lo < strike < hi)})
    values = [pnl_at_expiration(legs, x) for x in points]
    signed = [i for i, v in enumerate(values) if v != 0]
    found = []
    for a, b in itertools.pairwise(signed):
        if (values[a] > 0) == (values[b] > 0):
            continue
        if b > a + 1:  # zero at the points between: the first of them
            found.append(points[a + 1])
            continue
        x0, x1, y0, y1 = points[a], points[b], values[a], values[b]
        found.append(x0 - y0 * (x1 - x0) / (y1 - y0))
    return found


def test_risk_page_renders_draws_and_moves_live(page: Page, browser_app, browser_sandbox):
    control = browser_sandbox.control()
    try:
        log_in(page, browser_app.url)

        # server-rendered: the tables are in the HTML before any script runs
        html = page.request.get(f"{browser_app.url}/risk?u=SPY").text()
        assert 'data-risk-underlying="SPY"' in html
        assert re.search(r'data-risk-position="[^"|]+\|SPY"', html), "the SPY stock row"
        assert 'id="risk-portfolio"' in html
        assert "data-risk-choice" in html and 'value="portfolio"' in html

        page.goto(f"{browser_app.url}/risk?u=SPY")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
        spy = page.locator("[data-risk-underlying=SPY]")
        # one row per account holding SPY stock, across brokers; a share's delta is 1
        held = page.evaluate(
            "() => window.streamdesk.state().accounts.flatMap((a) => a.positions"
            ".filter((p) => p.symbol === 'SPY').map((p) => [a.number, p.quantity, p.direction]))"
        )
        assert len(held) >= 2, held  # the demo trader holds SPY at more than one broker
        for number, qty, direction in held:
            row = spy.locator(f"tr[data-risk-position='{number}|SPY']")
            shares = float(qty) * (-1 if direction == "Short" else 1)
            expect(row.locator("[data-field=quantity]")).to_have_text(f"{shares:,.0f}")
            expect(row.locator("[data-field=delta_shares]")).to_have_text(f"{shares:+,.1f}")
        # the strategies: every option leg held is in exactly one strategy of its account,
        # listed by its display name
        options = page.evaluate(
            "() => window.streamdesk.state().accounts.flatMap((a) => a.positions"
            ".filter((p) => (p.streamer_symbol || '').startsWith('.'))"
            ".map((p) => [a.number, p.display]))"
        )
        assert options, "the demo trader holds options"
        rows = page.locator("#risk-strategy-rows tr")
        listed = [
            (row.locator("td").nth(1).text_content(), row.locator("td").nth(2).text_content())
            for row in rows.all()
        ]
        for number, symbol in options:
            mine = [legs for account, legs in listed if account == number and symbol in legs]
            assert len(mine) == 1, (number, symbol, listed)
        # the odds: each strategy's POP a whole percentage, its inputs the title; or "—"
        # with a sentence saying why, as the title and for a screen reader
        odds = page.evaluate(
            "() => [...document.querySelectorAll('#risk-strategy-rows [data-field=pop]')]"
            ".map((td) => [td.firstChild ? td.firstChild.textContent : '', td.title,"
            " (td.querySelector('.sr-only') || {}).textContent || ''])"
        )
        assert odds, "the demo trader's strategies"
        for text, title, why in odds:
            if text == "—":
                assert title.endswith(".") and why == f" {title}", (text, title, why)
            else:
                assert re.fullmatch(r"\d{1,3}%", text), (text, title)
                assert re.fullmatch(
                    r"price [\d,.]+, IV [\d.]+%, rate -?[\d.]+%, [\d.]+ days", title
                )
        expect(spy.locator("[data-field=beta]")).to_have_attribute("title", re.compile(r"^β "))
        expect(spy.locator("[data-field=price]")).to_have_attribute(
            "title", re.compile(r"^SPY .*quote")
        )

        # the graph: three curves on the same grid; the break-evens are where the positions'
        # P&L at expiration (every option at its intrinsic value) crosses zero
        card = page.locator("[data-risk-graph]")
        expect(card).to_have_attribute("data-state", "live", timeout=15_000)

        # the scenario grid: SPY's P&L by IV shift (5 rows) by price move (7 columns), the
        # no-move, no-shift cell "now"; then one strategy's grid from the select
        scenarios = page.locator("#risk-scenarios")
        expect(scenarios).to_have_attribute("data-state", "live", timeout=15_000)
        expect(scenarios.locator("tbody tr")).to_have_count(5)
        expect(scenarios.locator("tbody td")).to_have_count(35)
        expect(scenarios.locator("thead th[data-move]")).to_have_count(7)
        now_cell = scenarios.locator("td[data-now]")
        expect(now_cell).to_have_count(1)
        assert now_cell.get_attribute("title").startswith("now: ")
        for text in scenarios.locator("tbody td").all_text_contents():
            assert re.fullmatch(r"[+-]?[\d,]+\.\d\d( now)?|—", text), text
        strategy = scenarios.locator("[data-scenario-strategy] option").nth(1)
        key = strategy.get_attribute("value")
        assert key and re.fullmatch(r"[0-9a-f]{12}", key), "SPY's first strategy, by its key"
        fetched = int(scenarios.get_attribute("data-fetches"))
        scenarios.locator("[data-scenario-strategy]").select_option(key)
        expect(scenarios).to_have_attribute("data-fetches", str(fetched + 1))
        expect(scenarios).to_have_attribute("data-state", "live", timeout=15_000)
        expect(scenarios.locator("tbody td")).to_have_count(35)

        drawn = page.evaluate(RISK)
        grid = [p["time"] for p in drawn["chart"]["today"]]
        assert len(grid) == drawn["grid"] > 100
        assert [p["time"] for p in drawn["chart"]["expiration"]] == grid
        assert [p["time"] for p in drawn["chart"]["date"]] == grid
        assert drawn["chart"]["bands"] > 0  # the 1 and 2 sigma bands shaded under the curves
        legs = expiration_legs(page.evaluate(HELD), "SPY")
        expected = expiration_breakevens(legs, grid[0], grid[-1])
        assert expected, "the SPY positions break even within the graph's range"
        assert drawn["breakevens"] == pytest.approx(expected, rel=0, abs=1e-6), legs
        shown = page.locator("[data-risk-breakevens]").text_content()
        assert [float(b) for b in shown.split(", ")] == pytest.approx(expected, rel=0, abs=0.005)
        be_markers = [m for m in drawn["chart"]["markers"] if m["id"].startswith("be-")]
        assert len(be_markers) == len(expected)
        (price_marker,) = [m for m in drawn["chart"]["markers"] if m["id"] == "price"]
        step = grid[1] - grid[0]
        assert abs(price_marker["time"] - drawn["drawnAt"]) <= step / 2 + 0.01

        # the IV slider: +20 vol points raises today's curve (the SPY calls are long)
        before = {p["time"]: p["value"] for p in drawn["chart"]["today"]}
        page.locator("[data-risk-iv]").fill("20")
        expect(page.locator("[data-risk-iv-text]")).to_have_text("+20 vol pts")
        poll_until(
            lambda: page.evaluate(RISK)["asked"] == {"date": None, "ivShift": 20},
            what="the curve drawn at +20 vol points",
        )
        after = {p["time"]: p["value"] for p in page.evaluate(RISK)["chart"]["today"]}
        assert after.keys() == before.keys()
        assert all(after[p] > before[p] for p in before), "long vega: higher everywhere"

        # the date slider halfway: the chosen date's curve lies between today's and expiry's
        days = int(page.locator("[data-risk-date]").get_attribute("max"))
        page.locator("[data-risk-date]").fill(str(days // 2))
        expect(page.locator("[data-risk-date-text]")).to_have_text(
            re.compile(rf"\(\+{days // 2} d\)$")
        )
        halfway = (
            dt.date.fromisoformat(card.get_attribute("data-today")) + dt.timedelta(days=days // 2)
        ).isoformat()
        poll_until(
            lambda: page.evaluate(RISK)["asked"] == {"date": halfway, "ivShift": 20},
            what="the date's curve drawn",
        )
        curves = page.evaluate(RISK)["chart"]
        mid = grid[len(grid) // 2]
        at = {
            k: {p["time"]: p["value"] for p in curves[k]}[mid]
            for k in ("today", "date", "expiration")
        }
        assert at["today"] > at["date"] > at["expiration"], at  # long options lose time value

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "risk.png"), full_page=False)
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "risk.png", DOCS_IMAGE)

        # live: the market stands still, then SPY jumps 3 %; the marker and curves follow
        control.configure(tick_rate=0)
        start = page.evaluate(RISK)
        answered, target = start["answered"], round(start["drawnAt"] * 1.03, 2)
        control.set_price("SPY", target)
        poll_until(
            lambda: abs((page.evaluate(RISK)["drawnAt"] or 0) - target) < 1.0,
            within=LIVE_WITHIN_S,
            what="the graph drawn at SPY's new price",
        )
        moved = page.evaluate(RISK)
        (marker,) = [m for m in moved["chart"]["markers"] if m["id"] == "price"]
        assert abs(marker["time"] - moved["drawnAt"]) <= step / 2 + 0.01
        assert marker["time"] > start["drawnAt"] + step  # it moved right, by ~3 %
        poll_until(
            lambda: (
                abs(
                    float(spy.locator("[data-field=price]").text_content().replace(",", ""))
                    - target
                )
                < 1.0
            ),
            what="the SPY table's price live",
        )
        # the curves were asked again at the new price (P&L against a grid price does not
        # depend on the current price: the marker moves, the curves are the server's anew)
        assert moved["answered"] > answered
        assert [p["time"] for p in moved["chart"]["today"]] == grid

        # no quote since: once the feed is older than the stale rule, the graph and the
        # table's price look stale and say why; the curve stays, at the last price
        # (read together: the silent source fails over, and the next link's first quote
        # is live again for a moment, so three reads one after another can straddle it)
        page.wait_for_function(
            """() => document.querySelector('[data-risk-graph]').getAttribute('data-state')
                       === 'stale'
                 && document.querySelector('[data-risk-status]').textContent
                       .includes('The SPY quote is stale')
                 && document.querySelector('[data-risk-underlying=SPY] [data-field=price]')
                       .classList.contains('is-stale')""",
            timeout=(settings.STREAM_QUOTE_STALE_AFTER + 10) * 1000,
        )
        # (a late greeks update may have had it asked once more meanwhile: the valuation
        # time moved, so today's values may differ in the last digits, never the grid)
        stale = page.evaluate(RISK)
        assert [p["time"] for p in stale["chart"]["today"]] == grid
        assert abs(stale["drawnAt"] - target) < 1.0
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        control.configure(tick_rate=4)


@pytest.mark.parametrize("transport", ["sse", "poll"])
def test_risk_graph_moves_live_over_the_fallbacks(
    page: Page, browser_app, browser_sandbox, transport: str
):
    """The same graph over SSE and over polling `/api/snapshot`: the quote that moves it
    arrives by the fallback, and the curves are re-asked at the new price."""
    control = browser_sandbox.control()
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/risk?u=SPY&transport={transport}")
    expect(page.locator("#conn-state")).to_have_attribute(
        "data-state", "sse" if transport == "sse" else "polling", timeout=15_000
    )
    card = page.locator("[data-risk-graph]")
    expect(card).to_have_attribute("data-state", "live", timeout=15_000)
    control.configure(tick_rate=0)
    try:
        start = page.evaluate(RISK)
        target = round(start["drawnAt"] * 0.97, 2)
        control.set_price("SPY", target)
        # polling: one poll interval (2 s) more than the socket's path
        poll_until(
            lambda: abs((page.evaluate(RISK)["drawnAt"] or 0) - target) < 1.0,
            within=LIVE_WITHIN_S + 2,
            what=f"the graph drawn at SPY's new price over {transport}",
        )
        assert page.evaluate(RISK)["answered"] > start["answered"]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        control.configure(tick_rate=4)


def put_limits(page: Page, base: str, body: dict) -> dict:
    """PUT /api/risk/limits with the page's session and CSRF token (as the limits form)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.put(f"{base}/api/risk/limits", data=body, headers={"X-CSRFToken": token})
    assert answer.ok, answer.text()
    return answer.json()


def money(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_limits_row_server_rendered_then_live(page: Page, browser_app, browser_sandbox):
    """No limits: a sentence and a link to set them. With a band and a daily loss limit:
    the row is in the HTML with the values against them, then the stream moves it: SPY
    jumps 3 %, the day P&L and what is left before the limit follow without a reload, and
    the β-weighted delta is the portfolio line's."""
    control = browser_sandbox.control()
    log_in(page, browser_app.url)
    html = page.request.get(f"{browser_app.url}/risk?u=SPY").text()
    assert re.search(r"No limits set — <a href=\"/settings/limits\">set them</a>", html)
    page.goto(f"{browser_app.url}/risk?u=SPY")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    # the owner's snapshot knows every β (the metrics runner) before the HTML is asked
    expect(page.locator("#risk-portfolio [data-field=portfolio_beta_delta]")).to_have_attribute(
        "data-value", re.compile(r"\d"), timeout=15_000
    )
    try:
        put_limits(
            page,
            browser_app.url,
            {"beta_delta_min": -100000, "beta_delta_max": 100000, "daily_loss": 1e6},
        )
        band = re.compile(r'data-field="band_status" data-state="([a-z]+)">([^<]*)<')

        def evaluated() -> str | None:
            """The page's HTML once the server's snapshot knows the β-weighted delta (every
            position's price and β: on a loaded box its owner may still be reading them
            when the page already shows its own): state "unknown" until then."""
            text = page.request.get(f"{browser_app.url}/risk?u=SPY").text()
            found = band.search(text)
            return text if found and found.group(1) != "unknown" else None

        html = poll_until(evaluated, 15, "the server evaluates the band")
        assert 'id="risk-limits" data-set="true"' in html
        assert "-100,000.0 … +100,000.0" in html and "1,000,000.00" in html
        state, sentence = band.search(html).groups()
        assert state == "inside" and re.match(r"inside, [\d,.]+ SPY", sentence), sentence
        assert re.search(r'data-field="loss_status" data-state="inside">[\d,.]+ \$ before', html)
        assert '<a href="/settings/limits">edit limits</a>' in html

        page.goto(f"{browser_app.url}/risk?u=SPY")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
        row = page.locator("#risk-limits")
        day_pnl = row.locator("[data-field=day_pnl]")
        expect(day_pnl).to_have_text(re.compile(r"^[+-][\d,]+\.\d\d$"))
        # the graph's module is imported once the page is live: wait for its live price
        page.wait_for_function(RISK_PRICED, timeout=LIVE_WITHIN_S * 1000, polling=100)
        control.configure(tick_rate=0)
        target = round(page.evaluate(RISK)["livePrice"] * 1.03, 2)
        before = money(day_pnl.text_content())
        control.set_price("SPY", target)
        poll_until(
            lambda: money(day_pnl.text_content()) > before,
            within=LIVE_WITHIN_S,
            what="the day P&L up with SPY (held long)",
        )
        poll_until(
            lambda: (
                abs(
                    money(
                        page.locator("[data-risk-underlying=SPY] [data-field=price]").text_content()
                    )
                    - target
                )
                < 1.0
            ),
            what="SPY's new price on the page",
        )
        # what is left is the limit plus the day P&L: both cells are rounded to the cent
        # from the same unrounded P&L, so they may differ by that last cent
        status = row.locator("[data-field=loss_status]")
        expect(status).to_have_text(re.compile(r"^[\d,]+\.\d\d \$ before the limit$"))
        left = money(status.text_content().split(" ")[0])
        assert abs(left - (money(day_pnl.text_content()) + 1e6)) <= 0.011
        expect(row.locator("[data-field=loss_status]")).to_have_attribute("data-state", "inside")
        expect(row.locator("[data-field=beta_delta]")).to_have_text(
            page.locator("#risk-portfolio [data-field=portfolio_beta_delta]").text_content()
        )
        expect(row.locator("[data-field=band_status]")).to_have_attribute("data-state", "inside")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        control.configure(tick_rate=4)
        put_limits(
            page,
            browser_app.url,
            {"beta_delta_min": None, "beta_delta_max": None, "daily_loss": None},
        )


def test_a_fill_adds_its_table_and_strategy_live(page: Page, browser_app, browser_sandbox):
    """A fill in a new underlying (KO, held nowhere): its table and its "long stock"
    strategy appear without a reload (the rows rendered again by the server, the list
    asked again), and its price goes live from the stream. A fill in SPY refills the
    scenario grid's strategy select; the shares' old key chosen falls back to the whole
    underlying with a sentence."""
    control = browser_sandbox.control()
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/risk?u=SPY")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    expect(page.locator("[data-risk-underlying=KO]")).to_have_count(0)
    # the rows on the page are the stream's positions: nothing to render again
    page.wait_for_function(RISK_PRICED, timeout=15_000)
    assert page.evaluate(RISK)["rowReloads"] == 0
    account = page.evaluate(
        "() => window.streamdesk.state().accounts.find((a) => a.broker === 'tastytrade').number"
    )
    control.place_order(account, market_buy("KO", 7))
    ko = page.locator("[data-risk-underlying=KO]")
    expect(ko.locator(f"tr[data-risk-position='{account}|KO'] [data-field=quantity]")).to_have_text(
        "7", timeout=LIVE_WITHIN_S * 1000
    )
    strategy = page.locator(f"#risk-strategy-rows tr[data-strategy^='{account}|KO|']")
    expect(strategy).to_have_attribute("data-name", "long stock", timeout=LIVE_WITHIN_S * 1000)
    expect(strategy.locator("td").nth(2)).to_have_text("+7 KO")
    # the graph's select offers KO now (from the page rendered again), the choice kept
    expect(page.locator("[data-risk-choice] option[value=KO]")).to_have_count(1)
    expect(page.locator("[data-risk-choice]")).to_have_value("SPY")
    # the new table's values are the stream's: its price, a share's delta
    expect(ko.locator("[data-field=price]")).to_have_text(re.compile(r"^\d[\d,]*\.\d\d$"))
    expect(
        ko.locator(f"tr[data-risk-position='{account}|KO'] [data-field=delta_shares]")
    ).to_have_text("+7.0")
    risk = page.evaluate(RISK)
    assert risk["rowReloads"] >= 1 and risk["strategyRefreshes"] >= 1
    # a fill in SPY, the scenario grid's underlying: its strategy select follows (it kept
    # the strategies of the page's load before: the old key of the shares)
    expect(page.locator("#risk-scenarios")).to_have_attribute("data-state", "live")
    before = page.evaluate(f"() => {SPY_KEYS}")
    # the grid shows the account's SPY shares: the fill changes that strategy (its key)
    grid = page.locator("#risk-scenarios")
    choice = grid.locator("[data-scenario-strategy]")
    shares = choice.locator("option", has_text=f"long stock · {account}")
    chosen = shares.get_attribute("value") or ""
    choice.select_option(chosen)
    expect(grid).to_have_attribute("data-state", "live", timeout=15_000)
    spy = page.locator(f"tr[data-risk-position='{account}|SPY'] [data-field=quantity]")
    held = float((spy.text_content() or "0").replace(",", "")) if spy.count() else 0.0
    control.place_order(account, market_buy("SPY", 1))
    # the rows rendered again with the fill (the list was asked in the same refresh)
    expect(spy).to_have_text(f"{held + 1:,g}", timeout=LIVE_WITHIN_S * 1000)
    now = page.evaluate(f"() => {SPY_KEYS}")
    assert now != before, now  # the fill changed SPY's strategies (a key names its sizes)
    options = page.locator("[data-scenario-strategy] option")
    expect(options).to_have_count(len(now) + 1)
    for i, key in enumerate(["", *now]):
        expect(options.nth(i)).to_have_attribute("value", key)
    # the shares chosen are no longer that strategy: the whole underlying, said in words
    assert chosen not in now
    expect(choice).to_have_value("")
    expect(grid.locator("[data-scenario-status]")).to_contain_text(
        f"The strategy chosen (long stock · {account}) is no longer held: "
        "showing the whole underlying.",
        timeout=15_000,
    )
    expect(grid).to_have_attribute("data-state", "live")
    assert page.errors == []  # type: ignore[attr-defined]


#: SPY's strategy keys, as GET /api/risk/strategies answers them now (a promise).
SPY_KEYS = """fetch('/api/risk/strategies?underlying=SPY').then((r) => r.json())
  .then((a) => a.strategies.filter((s) => s.underlying === 'SPY').map((s) => s.key))"""


@pytest.mark.parametrize("size", list(SIZES))
def test_risk_page_has_no_serious_axe_violation(browser, browser_app, size: str):
    """axe-core (as tests/browser/test_a11y.py runs it on every page): 0 serious or
    critical violations on /risk, the graph drawn, at the desktop and the phone size, also
    with every value flashed."""
    context = browser.new_context(**SIZES[size])
    try:
        log_in(context.new_page(), browser_app.url)
        page = open_page(context, browser_app.url, "/risk?u=SPY")
        expect(page.locator("[data-risk-graph]")).to_have_attribute(
            "data-state", "live", timeout=15_000
        )
        check(page, f"{size} /risk")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        context.close()
