"""A screen kept open all day: rows out of view cost at most one redraw a second, flashes
follow the trader's setting, columns sort and stay sorted, and every time is in the
trader's zone, labelled (docs/streaming-contract.md, "Display preferences")."""

from __future__ import annotations

import itertools
import re

from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import log_in, tastytrade_account

#: The renderers' freshness tick: what a row out of view is redrawn at most once per.
TICK_MS = 1000

#: Records the times (performance.now()) the text of `el` changed.
WATCH = """(el) => {
  window.__changes = [];
  new MutationObserver(() => window.__changes.push(performance.now()))
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def put_preferences(page: Page, body: dict) -> dict:
    """PUT /api/preferences from the page (session + CSRF, as the page does)."""
    return page.evaluate(
        """async (body) => {
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const r = await fetch('/api/preferences', {method: 'PUT', body: JSON.stringify(body),
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
          return r.json();
        }""",
        body,
    )


def changes_over(page: Page, cell, seconds: float) -> list[float]:
    cell.evaluate(WATCH)
    page.wait_for_timeout(seconds * 1000)  # the window observed, not a wait for a condition
    return page.evaluate("window.__changes")


def test_rows_out_of_view_redraw_at_most_once_a_second(page: Page, browser_app):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    rows = page.locator("tr[data-position]")
    expect(rows.first).to_be_visible()
    far = rows.last
    assert far.evaluate("el => el.getBoundingClientRect().top > innerHeight + 200")
    mark = far.locator("[data-field=mark]")
    expect(mark).not_to_have_text("—", timeout=10_000)

    seconds = 5.0
    away = changes_over(page, mark, seconds)
    gaps = [b - a for a, b in itertools.pairwise(away)]
    assert len(away) <= seconds * 1000 / TICK_MS + 1, away
    assert all(g >= TICK_MS * 0.8 for g in gaps), gaps  # one tick apart, never closer

    # the same row in view: drawn as the quotes come (several times a second)
    far.scroll_into_view_if_needed()
    near = changes_over(page, mark, seconds)
    assert len(near) > len(away) and len(near) > seconds * 1000 / TICK_MS + 1, (away, near)


def test_flashes_follow_the_setting(page: Page, browser_app):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
    expect(bid).to_have_class(re.compile(r"\bflash-(up|down)\b"), timeout=10_000)
    held = []  # the page's GET /api/preferences, never answered while the page is watched

    def hold_reads(route) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    try:
        assert put_preferences(page, {"flashes": False})["flashes"] is False
        # a fresh browser (no kept copy) and a server slow to answer: the page must start
        # from the preferences it was rendered with, not from the defaults
        page.evaluate("() => localStorage.clear()")
        page.route("**/api/preferences", hold_reads)
        page.reload()
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        page.evaluate(
            """() => { window.__flashes = 0; new MutationObserver((ms) => { for (const m of ms)
                 if (/\\bflash-(up|down)\\b/.test(m.target.className)) window.__flashes++; })
                 .observe(document.body, {attributes: true, attributeFilter: ['class'],
                   subtree: true}); }"""
        )
        before = bid.inner_text()
        expect(bid).not_to_have_text(before, timeout=10_000)  # values move...
        expect(page.locator(".flash-up, .flash-down")).to_have_count(0)
        assert page.evaluate("window.__flashes") == 0  # ...without a flash
        assert held, "the page asked the server for the preferences (held unanswered)"
    finally:
        page.unroute("**/api/preferences")  # the held reads are let go with it
        put_preferences(page, {"flashes": True})


def test_columns_sort_and_the_sort_is_remembered(page: Page, browser_app):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    card = page.locator("[data-account]").filter(has=page.locator("tr[data-position]")).first
    head = card.locator('th[data-col="quantity"]')
    quantities = card.locator("tbody tr[data-position] [data-field=quantity]")

    def shown() -> list[float]:
        return [float(v) for v in quantities.evaluate_all("els => els.map(e => e.dataset.value)")]

    try:
        head.locator("button.sort-btn").click()
        expect(head).to_have_attribute("aria-sort", "ascending")
        assert shown() == sorted(shown())
        head.locator("button.sort-btn").click()
        expect(head).to_have_attribute("aria-sort", "descending")
        assert shown() == sorted(shown(), reverse=True)
        # remembered for the trader: another load (any browser) shows it sorted
        page.reload()
        head = page.locator("[data-account]").filter(has=page.locator("tr[data-position]")).first
        expect(head.locator('th[data-col="quantity"]')).to_have_attribute("aria-sort", "descending")
        assert shown() == sorted(shown(), reverse=True)
        # the watchlist sorts by a live column too
        bid = page.locator('.quotes th[data-col="bid"]')
        bid.locator("button.sort-btn").click()
        expect(bid).to_have_attribute("aria-sort", "ascending")
        values = page.locator("#watchlist-rows tr[data-quote] [data-field=bid]")
        numbers = [float(v) for v in values.evaluate_all("es => es.map(e => e.dataset.value)") if v]
        assert numbers == sorted(numbers)
    finally:
        put_preferences(page, {"sorts": {"positions": None, "watchlist": None}})


def test_times_are_in_the_traders_zone_labelled(page: Page, browser_app, browser_sandbox):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    control = browser_sandbox.control()
    order = {
        "time-in-force": "Day",
        "order-type": "Limit",
        "price": 1.0,
        "price-effect": "Debit",
        "legs": [
            {"instrument-type": "Equity", "symbol": "KO", "action": "Buy to Open", "quantity": 1}
        ],
    }
    order_id = control.place_order(tastytrade_account(page), order)["order"]["id"]
    control.close()
    time_cell = page.locator(f'#orders [data-order$=":{order_id}"] [data-field=updated_at]')
    try:
        page.goto(f"{browser_app.url}/settings/display")
        page.select_option("select[name=time_zone]", "Asia/Tokyo")
        page.click("#display-settings button[type=submit]")
        expect(page.locator("#display-settings .flash")).to_contain_text("saved")
        page.goto(f"{browser_app.url}/")
        expect(time_cell).to_have_text(re.compile(r"^\d\d:\d\d:\d\d GMT\+9$"), timeout=10_000)
        put_preferences(page, {"time_zone": "America/New_York"})
        page.reload()
        expect(time_cell).to_have_text(re.compile(r"^\d\d:\d\d:\d\d E[SD]T$"), timeout=10_000)
    finally:
        put_preferences(page, {"time_zone": ""})
