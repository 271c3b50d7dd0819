"""A screen kept open all day: rows out of view cost at most one redraw a second, flashes
follow the trader's setting, columns sort and stay sorted, and every time is in the
trader's zone, labelled (docs/streaming-contract.md, "Display preferences")."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser.test_dashboard import log_in, tastytrade_account
from tests.support.live import LiveApp
from tests.support.wait import poll_until


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    """The browser tests' daphne, except that its loop counts as saturated only after 5 s
    of lag: what is measured here is the page's redraws of the quotes it gets, and a
    saturated server (a loaded box: 50 ms of lag) paces them to one a second, when a tick
    can find nothing new to draw (redraws 2 s apart in a loaded run). The server's
    pacing is tests/streaming/test_adaptive_flush.py's."""
    app = LiveApp(
        browser_sandbox.url, tmp_path_factory.mktemp("all-day"), STREAM_LOOP_LAG_SATURATED="5"
    ).start()
    yield app
    app.stop()


#: The renderers' freshness tick: what a row out of view is redrawn at most once per.
TICK_MS = 1000

#: Records the times (performance.now()) the text of `el` changed.
WATCH = """(el) => {
  window.__changes = [];
  new MutationObserver(() => window.__changes.push(performance.now()))
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def stored_preferences(page: Page) -> dict:
    """GET /api/preferences from the page: what the server has stored."""
    return page.evaluate("async () => (await fetch('/api/preferences')).json()")


def put_json(page: Page, path: str, body: dict) -> dict:
    """PUT `body` to one of the app's JSON APIs from the page (session + CSRF, as the page
    does); its answer."""
    return page.evaluate(
        """async ([path, body]) => {
          const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
          const r = await fetch(path, {method: 'PUT', body: JSON.stringify(body),
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token}});
          return r.json();
        }""",
        [path, body],
    )


def put_preferences(page: Page, body: dict) -> dict:
    """PUT /api/preferences from the page."""
    return put_json(page, "/api/preferences", body)


#: How often the row's price is moved while a window is observed: several times a tick,
#: so every tick has something new to draw.
MOVE_EVERY = 0.1


def changes_over(page: Page, cell, seconds: float) -> list[float]:
    """The times the cell's text changed during `seconds` of wall time. A rate is what is
    measured (redraws per second of a page fed by a real stream), so the window is real
    time, not the page's clock: the frames come from the server in real time whatever the
    page's timers say."""
    cell.evaluate(WATCH)
    page.wait_for_timeout(seconds * 1000)  # the window observed, not a wait for a condition
    return page.evaluate("window.__changes")


class PriceMover:
    """Moves an underlying's price at the sandbox every MOVE_EVERY s, a cent each time
    through STEPS prices, until stopped: the row's value changes many times within every
    tick, and no two ticks apart show the same value (between two prices, a tick could
    land on the one it showed before: no change to see)."""

    #: Distinct prices walked through (a tick is ~10 moves: never a whole walk).
    STEPS = 97

    def __init__(self, sandbox, symbol: str, price: float) -> None:
        self._control = sandbox.control()
        self._symbol, self._price = symbol, price
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        step = 0
        while not self._stop.is_set():
            step = step % self.STEPS + 1
            self._control.set_price(self._symbol, round(self._price + 0.01 * step, 2))
            time.sleep(MOVE_EVERY)  # the pace of the moves (not a wait for anything)

    def __enter__(self) -> PriceMover:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._control.close()


#: Before the page's scripts: the times (performance.now()) the page's socket brought a bid
#: or ask of `window.__watched` that moved its mark, the mid, as drawn (to the cent: a bid
#: and an ask that move together, or by half a cent, leave nothing new to draw; the page's
#: own socket: one tab leads, nothing shared).
ARRIVALS = """(() => {
  const Socket = window.WebSocket;
  window.__arrivals = [];
  const book = {};
  let drawn = null;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const name = window.__watched;
        if (!name || typeof e.data !== 'string' || !e.data.includes(`"${name}"`)) return;
        const quote = (JSON.parse(e.data).quotes || {})[name];
        if (!quote || !('bid' in quote || 'ask' in quote)) return;
        if ('bid' in quote) book.bid = Number(quote.bid);
        if ('ask' in quote) book.ask = Number(quote.ask);
        const mid = ((book.bid + book.ask) / 2).toFixed(2);
        if (drawn !== null && mid !== drawn) window.__arrivals.push(performance.now());
        drawn = mid;
      });
    }
  };
})();"""


def test_rows_out_of_view_redraw_at_most_once_a_second(page: Page, browser_app, browser_sandbox):
    page.add_init_script(ARRIVALS)
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    rows = page.locator("tr[data-position]")
    expect(rows.first).to_be_visible()
    # the last stock position: its mark is its own price, which the test moves
    far = page.locator('tr[data-position]:not([data-option="true"])').last
    assert far.evaluate("el => el.getBoundingClientRect().top > innerHeight + 200")
    symbol = far.get_attribute("data-position").split("|", 1)[1]
    mark = far.locator("[data-field=mark]")
    expect(mark).not_to_have_text("—", timeout=10_000)
    price = float(mark.get_attribute("data-value"))

    seconds = 5.0
    ticks = seconds * 1000 / TICK_MS
    shown = mark.inner_text()
    with PriceMover(browser_sandbox, symbol, price):
        # the window opens once the moves reach the row (on a loaded box the first take a
        # moment)
        expect(mark).not_to_have_text(shown, timeout=10_000)
        page.evaluate("(name) => { window.__watched = name; window.__arrivals = []; }", symbol)
        away = changes_over(page, mark, seconds)
        arrivals = page.evaluate("window.__arrivals")
        # it is redrawn out of view once a tick at most: never two within a tick. The tick
        # is a repeating timer that keeps its cadence, so a redraw is its tick's scheduled
        # time plus how late the page's main thread ran it; on a loaded box one tick ran
        # 142 ms late and the next on time, 776 ms after it. Each redraw is placed in its
        # tick by rounding its distance from the first: two in one tick share a number.
        assert len(away) <= ticks + 1, away
        slots = [round((t - away[0]) / TICK_MS) for t in away]
        assert len(set(slots)) == len(slots), (away, slots)
        # and at every tick that has something new to draw: a tick passed with no redraw
        # (two redraws more than a tick and a half apart) only when no bid or ask that moved
        # the symbol's mid came in the tick after the first (on a loaded box the moves, the
        # sandbox or the server's pacing can leave a tick with nothing new: 2 s apart)
        assert len(away) >= 2 and arrivals, (away, arrivals)
        for a, b in itertools.pairwise(away):
            if b - a > TICK_MS * 1.5:
                missed = [f for f in arrivals if a < f < a + TICK_MS * 0.8]
                assert not missed, (a, b, missed)

        # the same row in view: drawn as the quotes come (several times a second)
        far.scroll_into_view_if_needed()
        near = changes_over(page, mark, seconds)
    assert len(near) > ticks + 1, (away, near)


def test_flashes_follow_the_setting(page: Page, browser_app):
    """Flashes on, then off: a page loaded with them off (a fresh browser, the server slow
    to answer its read of the preferences) never flashes. The test sets what it starts from
    (the module's tests share one trader) and watches the page from its first script on."""
    log_in(page, browser_app.url)
    assert put_preferences(page, {"flashes": True})["flashes"] is True
    page.reload()
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
        # every flash class from the page's first script on (not only once it is live)
        page.add_init_script(
            """window.__flashes = 0;
               new MutationObserver((ms) => {
                 for (const m of ms)
                   if (/\\bflash-(up|down)\\b/.test(m.target.className)) window.__flashes++;
               }).observe(document.documentElement, {attributes: true,
                 attributeFilter: ['class'], subtree: true});"""
        )
        page.reload()
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        before = bid.inner_text()
        expect(bid).not_to_have_text(before, timeout=10_000)  # values move...
        expect(page.locator(".flash-up, .flash-down")).to_have_count(0)
        assert page.evaluate("window.__flashes") == 0  # ...without a flash
        assert held, "the page asked the server for the preferences (held unanswered)"
    finally:
        page.unroute("**/api/preferences")  # the held reads are let go with it
        put_preferences(page, {"flashes": True})


#: Whether the numbers (`data-value`) of the cells `selector` finds, in the page's order,
#: are sorted (`dir` 1 ascending, -1 descending); empty values left out. One read of the
#: page, in one frame: a row is re-sorted when it is drawn, after its header says the order.
SORTED = """([selector, dir]) => {
  const v = Array.from(document.querySelectorAll(selector), (e) => e.dataset.value)
    .filter((x) => x !== '' && x !== undefined).map(Number);
  return v.length > 1 && v.every((x, i) => i === 0 || dir * (x - v[i - 1]) >= 0);
}"""


def expect_sorted(page: Page, selector: str, direction: int) -> None:
    page.wait_for_function(SORTED, arg=[selector, direction], timeout=5_000, polling="raf")


def test_columns_sort_and_the_sort_is_remembered(page: Page, browser_app):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    card = page.locator("[data-account]").filter(has=page.locator("tr[data-position]")).first
    number = card.get_attribute("data-account")
    head = card.locator('th[data-col="quantity"]')
    quantities = f'[data-account="{number}"] tbody tr[data-position] [data-field=quantity]'

    try:
        head.locator("button.sort-btn").click()
        expect(head).to_have_attribute("aria-sort", "ascending")
        expect_sorted(page, quantities, 1)
        head.locator("button.sort-btn").click()
        expect(head).to_have_attribute("aria-sort", "descending")
        expect_sorted(page, quantities, -1)
        # remembered for the trader: another load (any browser) shows it sorted, once the
        # page's save has reached the server (a reload at once can overtake the PUT)
        poll_until(
            lambda: "desc" in json.dumps(stored_preferences(page)["sorts"].get("positions")),
            what="the descending sort saved",
        )
        page.reload()
        expect(head).to_have_attribute("aria-sort", "descending")
        expect_sorted(page, quantities, -1)
        # the watchlist sorts by a live column too
        bid = page.locator('.quotes th[data-col="bid"]')
        bid.locator("button.sort-btn").click()
        expect(bid).to_have_attribute("aria-sort", "ascending")
        expect_sorted(page, "#watchlist-rows tr[data-quote] [data-field=bid]", 1)
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
        put_preferences(page, {"time_zone": "America/New_York"})
