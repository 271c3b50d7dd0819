"""The phone layout in a real Chromium (390x844, a touch screen) against the sandbox: no page
scrolls sideways (at 360 and 430 px either); the option chain shows the strike with the calls
or the puts (a toggle) and the greeks on demand; the dashboard leads with the portfolio
totals and a positions / watchlist / orders switcher whose choice the server renders next
time; every button, link and field of a page's content is a touch target of at least 44 px.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_a11y import open_page
from tests.browser.test_dashboard import log_in

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
#: The README's pictures: written only with UPDATE_DOCS_IMAGES=1.
DOCS_DASHBOARD = ROOT / "docs" / "img" / "dashboard-phone.png"
DOCS_CHAIN = ROOT / "docs" / "img" / "chain-phone.png"

PHONE = {"width": 390, "height": 844}
PAGES = ["/", "/market", "/chain/SPY", "/chart/SPY", "/alerts", "/news/SPY", "/settings/tokens"]
#: A touch target's least width and height, CSS px (WCAG 2.5.5; Apple's and Android's guides).
TARGET_PX = 44

#: Every visible button, link and field of the page's content (the header's too) whose box
#: is under 44 x 44 px; a checkbox counts by its label (the label is what a finger presses).
SMALL_TARGETS = """(min) => {
  const seen = [];
  const targets = 'header a[href], header button, main a[href], main button, main select, '
    + 'main input:not([type=hidden]), main [role=tab]';
  for (const el of document.querySelectorAll(targets)) {
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    const boxed = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label');
    const r = (boxed || el).getBoundingClientRect();
    if (r.width < min - 0.5 || r.height < min - 0.5) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim();
      const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
      seen.push(`${el.tagName.toLowerCase()}.${el.className} "${name.slice(0, 30)}" ${size}`);
    }
  }
  return seen;
}"""


@pytest.fixture(scope="module")
def phone(browser: Browser, browser_app) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    log_in(context.new_page(), browser_app.url)
    yield context
    context.close()


def scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("width", [360, 390, 430])
def test_no_page_scrolls_sideways(phone, browser, browser_app, width):
    """document.documentElement.scrollWidth never exceeds the viewport, logged in or not."""
    for path in PAGES:
        page = open_page(phone, browser_app.url, path)
        try:
            page.set_viewport_size({"width": width, "height": 844})
            if path == "/":
                for view in ("positions", "watchlist", "orders"):
                    page.click(f'[data-switch="view"] [data-value="{view}"]')
                    expect(page.locator("#dashboard")).to_have_attribute("data-view", view)
                    assert scroll_width(page) <= width, (path, view, scroll_width(page))
                page.click('[data-switch="view"] [data-value="positions"]')
            else:
                assert scroll_width(page) <= width, (path, scroll_width(page))
            assert page.errors == []  # type: ignore[attr-defined]
        finally:
            page.close()
    context = browser.new_context(viewport={"width": width, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{browser_app.url}/login/")
        assert scroll_width(page) <= width
    finally:
        context.close()


def cells_in_view(page: Page, selector: str) -> list[dict]:
    """The boxes of the visible cells matching `selector` in the chain's first row."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(`#chain-table tbody tr:first-child ${sel}`)]
            .filter((c) => c.getClientRects().length).map((c) => {
              const r = c.getBoundingClientRect();
              return {x: r.x, right: r.right, field: c.dataset.field};
            })""",
        selector,
    )


def test_chain_shows_the_strike_with_calls_or_puts_and_greeks_on_demand(phone, browser_app):
    """The strike is on screen next to the calls; Puts swaps the side, Greeks the columns;
    the choice is rendered by the server on the next load (no jump when the script starts)."""
    page = open_page(phone, browser_app.url, "/chain/SPY")
    try:
        root = page.locator("#chain")
        strike = page.locator("#chain-table tbody tr").first.locator("[data-field=strike]")
        expect(strike).to_be_visible()
        expect(root).to_have_attribute("data-chain-side", "call")
        expect(root).to_have_attribute("data-chain-cols", "prices")

        def shown() -> tuple[set, set]:
            cells = cells_in_view(page, "td[data-side]")
            for c in cells:
                assert c["x"] >= 0 and c["right"] <= PHONE["width"] + 0.5, c
            box = strike.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
            sides = set(
                page.evaluate(
                    "() => [...document.querySelectorAll('#chain-table tbody td[data-side]')]"
                    ".filter((c) => c.getClientRects().length).map((c) => c.dataset.side)"
                )
            )
            return sides, {c["field"] for c in cells}

        prices = {"bid", "ask", "mark", "volume", "open_interest"}
        greeks = {"iv", "delta", "gamma", "theta", "vega"}
        assert shown() == ({"call"}, prices)
        # the calls sit left of the strike, the puts right of it
        assert (
            max(c["right"] for c in cells_in_view(page, "td[data-side]"))
            <= strike.bounding_box()["x"] + 0.5
        )

        page.click('[data-switch="chain-side"] [data-value="put"]')
        expect(root).to_have_attribute("data-chain-side", "put")
        assert shown() == ({"put"}, prices)
        assert (
            min(c["x"] for c in cells_in_view(page, "td[data-side]"))
            >= strike.bounding_box()["x"] + strike.bounding_box()["width"] - 0.5
        )
        expect(page.locator('[data-switch="chain-side"] [data-value="put"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(page.locator('[data-switch="chain-side"] [data-value="call"]')).to_have_attribute(
            "aria-pressed", "false"
        )

        page.click('[data-switch="chain-cols"] [data-value="greeks"]')
        expect(root).to_have_attribute("data-chain-cols", "greeks")
        assert shown() == ({"put"}, greeks)
        # the greeks are live values, not empty cells
        expect(
            page.locator('#chain-table tbody td[data-side="put"][data-field="delta"]').first
        ).not_to_have_text("")

        # the next load is rendered with the choice (before any script runs)
        html = page.request.get(f"{browser_app.url}/chain/SPY").text()
        assert 'data-chain-side="put" data-chain-cols="greeks"' in html
        assert 'data-value="put" aria-controls="chain-table" aria-pressed="true"' in html
        page.click('[data-switch="chain-cols"] [data-value="prices"]')
        page.click('[data-switch="chain-side"] [data-value="call"]')
        expect(root).to_have_attribute("data-chain-side", "call")
        ARTIFACTS.mkdir(exist_ok=True)
        # the picture: the switches and the table under the sticky status bar
        page.evaluate("document.querySelector('#chain-title').scrollIntoView()")
        page.evaluate("window.scrollBy(0, -document.getElementById('status-bar').offsetHeight)")
        page.screenshot(path=str(ARTIFACTS / "chain-phone.png"))
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "chain-phone.png", DOCS_CHAIN)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


def test_dashboard_leads_with_totals_and_a_switcher(phone, browser_app):
    """On the first screen: the portfolio totals, then the positions / watchlist / orders
    switcher; one panel shows at a time, the watchlist with last and its sparkline; the
    positions' Greeks toggle swaps prices for greeks; the choice is rendered next time."""
    page = open_page(phone, browser_app.url, "/")
    try:
        totals = page.locator("#totals")
        switch = page.locator('[data-switch="view"]')
        panels = {
            "positions": page.locator("#accounts-panel"),
            "watchlist": page.locator("#watchlist-panel"),
            "orders": page.locator("#orders-panel"),
        }
        expect(totals.locator("[data-field=net_liq]").first).not_to_have_text("—")
        t, s = totals.bounding_box(), switch.bounding_box()
        assert t["y"] + t["height"] <= s["y"], "the totals come before the switcher"
        assert s["y"] + s["height"] <= PHONE["height"], "the switcher is on the first screen"
        for name, panel in panels.items():
            if panel.is_visible():
                assert panel.bounding_box()["y"] >= s["y"] + s["height"], name
        assert page.locator("#totals ~ .overview").bounding_box()["y"] > s["y"], (
            "the market strip comes later"
        )

        def showing(view: str) -> None:
            expect(page.locator("#dashboard")).to_have_attribute("data-view", view)
            for name, panel in panels.items():
                if name == view:
                    expect(panel).to_be_visible()
                else:
                    expect(panel).to_be_hidden()
            for button in ("positions", "watchlist", "orders"):
                expect(switch.locator(f'[data-value="{button}"]')).to_have_attribute(
                    "aria-pressed", "true" if button == view else "false"
                )

        showing("positions")
        first = page.locator("#accounts tr[data-position]").first
        for field in ("quantity", "mark", "day_pnl", "open_pnl"):
            expect(first.locator(f"[data-field={field}]")).to_be_visible()
        expect(first.locator("[data-field=position_delta]")).to_be_hidden()
        page.click('[data-switch="pos-cols"]')
        expect(page.locator("#dashboard")).to_have_attribute("data-pos-cols", "greeks")
        expect(page.locator('[data-switch="pos-cols"]')).to_have_attribute("aria-pressed", "true")
        for field in ("delta", "position_delta", "theta", "iv"):
            expect(first.locator(f"[data-field={field}]")).to_be_visible()
        expect(first.locator("[data-field=mark]")).to_be_hidden()
        page.click('[data-switch="pos-cols"]')
        expect(first.locator("[data-field=mark]")).to_be_visible()

        page.click('[data-switch="view"] [data-value="watchlist"]')
        showing("watchlist")
        row = page.locator('tr[data-quote="SPY"]')
        for field in ("last", "change", "bid", "ask"):
            cell = row.locator(f"[data-field={field}]")
            expect(cell).to_be_visible()
            box = cell.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], field
        expect(row.locator("svg.spark")).to_be_visible(timeout=10_000)
        last = row.locator("[data-field=last]")
        before = last.inner_text()
        expect(last).not_to_have_text(before, timeout=10_000)  # live
        expect(page.locator("#watchlist-panel .table-wrap")).to_have_js_property("scrollLeft", 0)
        assert page.locator("#watchlist-panel .table-wrap").evaluate(
            "el => el.scrollWidth <= el.clientWidth"
        )

        page.click('[data-switch="view"] [data-value="orders"]')
        showing("orders")
        html = page.request.get(f"{browser_app.url}/").text()
        assert 'data-view="orders"' in html
        page.reload()
        showing("orders")
        page.click('[data-switch="view"] [data-value="positions"]')
        showing("positions")

        page.evaluate("window.scrollTo(0, 0)")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"))
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "dashboard-phone.png", DOCS_DASHBOARD)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


#: Each visible cell of each position row on the page: whether its whole value shows (its
#: content no wider than its box) and whether the row stays inside its account card.
POSITION_CELLS = """() => [...document.querySelectorAll('#accounts tr[data-position]')]
  .filter((row) => row.getClientRects().length)
  .flatMap((row) => {
    const card = row.closest('[data-account]');
    const border = parseFloat(getComputedStyle(card).borderRightWidth);
    const edge = card.getBoundingClientRect().right - border;
    return [...row.querySelectorAll(':scope > th, :scope > td')]
      .filter((cell) => cell.getClientRects().length)
      .map((cell) => ({
        row: row.dataset.position, field: cell.dataset.field, text: cell.textContent.trim(),
        scroll: cell.scrollWidth, client: cell.clientWidth,
        right: cell.getBoundingClientRect().right, edge,
      }));
  })"""


def cut_cells(page: Page) -> list[str]:
    """The position cells whose value does not show whole, or that reach past their card."""
    cut = []
    for c in page.evaluate(POSITION_CELLS):
        if c["scroll"] > c["client"] or c["right"] > c["edge"] + 0.5:
            cut.append(
                f"{c['row']} {c['field']} {c['text']!r}: {c['scroll']} px in {c['client']} px,"
                f" right {c['right']:.0f} of {c['edge']:.0f}"
            )
    return cut


def test_positions_fit_their_card_and_come_first(phone, browser_app):
    """Each positions table was wider than its card (443 vs 350 px at 390), so Open P&L was
    cut inside a number ("+4" for +4,203); now every cell of every position shows its whole
    value inside the card, with the prices and with the greeks, at 390 and 360 px (and at
    1,440). The first position sat ~1,000 px down, below the Export CSV card: it is on the
    first screen now (its top < 700 px), and Export CSV follows the accounts."""
    page = open_page(phone, browser_app.url, "/")
    try:
        expect(page.locator("#dashboard")).to_have_attribute("data-view", "positions")
        expect(
            page.locator("#accounts tr[data-position] [data-field=open_pnl]").first
        ).not_to_have_text("—")
        page.evaluate("window.scrollTo(0, 0)")
        first = page.locator("#accounts tr[data-position]").first.bounding_box()
        assert first is not None and first["y"] < 700, first
        cards = page.locator("#accounts [data-account]")
        last = cards.nth(cards.count() - 1).bounding_box()
        exports = page.locator("#exports").bounding_box()
        assert last is not None and exports is not None
        assert exports["y"] >= last["y"] + last["height"], "Export CSV follows the accounts"
        cut: list[str] = []
        for width in (390, 360):
            page.set_viewport_size({"width": width, "height": 844})
            for cols in ("prices", "greeks"):
                if page.locator("#dashboard").get_attribute("data-pos-cols") != cols:
                    page.click('[data-switch="pos-cols"]')
                expect(page.locator("#dashboard")).to_have_attribute("data-pos-cols", cols)
                cut += [f"{width} px, {cols}: {c}" for c in cut_cells(page)]
        page.click('[data-switch="pos-cols"]')
        expect(page.locator("#dashboard")).to_have_attribute("data-pos-cols", "prices")
        page.set_viewport_size({"width": 1440, "height": 900})
        cut += [f"1440 px: {c}" for c in cut_cells(page)]
        assert not cut, "\n".join(cut)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


def test_touch_targets_are_at_least_44_px(phone, browser, browser_app):
    """Every button, link and field of each page (the dashboard in each view) is at least
    44 x 44 px on a phone."""
    small: dict[str, list[str]] = {}
    for path in PAGES:
        page = open_page(phone, browser_app.url, path)
        try:
            if path == "/":
                for view in ("positions", "watchlist", "orders"):
                    page.click(f'[data-switch="view"] [data-value="{view}"]')
                    expect(page.locator("#dashboard")).to_have_attribute("data-view", view)
                    # the sparklines' and news links are added once the page is live
                    if view == "watchlist":
                        expect(page.locator('tr[data-quote="SPY"] a.spark-link')).to_be_attached()
                    found = page.evaluate(SMALL_TARGETS, TARGET_PX)
                    if found:
                        small[f"/ ({view})"] = found
                page.click('[data-switch="view"] [data-value="positions"]')
            else:
                found = page.evaluate(SMALL_TARGETS, TARGET_PX)
                if found:
                    small[path] = found
        finally:
            page.close()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{browser_app.url}/login/")
        found = page.evaluate(SMALL_TARGETS, TARGET_PX)
        if found:
            small["/login/"] = found
    finally:
        context.close()
    assert not small, "\n".join(f"{p}: {', '.join(items)}" for p, items in small.items())


def test_the_header_is_one_line_with_the_kill_switch_and_a_menu(phone, browser, browser_app):
    """At 390 px the header is one line (brand, kill switch, Menu: it wrapped the nine
    links onto three lines, ~130 px); the Menu opens the pages and Log out below it and
    closes on Escape; the kill switch stays one tap away. A wide screen has no Menu."""
    page = open_page(phone, browser_app.url, "/alerts")
    try:
        header = page.locator("header.topbar")
        height = header.evaluate("(el) => el.getBoundingClientRect().height")
        assert height <= TARGET_PX + 16, height  # one row of 44 px targets and its padding
        expect(page.locator("[data-kill-switch]")).to_be_visible()
        menu = page.locator("[data-site-menu]")
        expect(menu).to_be_hidden()
        toggle = page.locator("[data-menu-toggle]")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(menu.get_by_role("link", name="Risk")).to_be_visible()
        expect(menu.get_by_role("button", name="Log out")).to_be_visible()
        page.keyboard.press("Escape")
        expect(menu).to_be_hidden()
        toggle.click()
        menu.get_by_role("link", name="Notifications").click()
        page.wait_for_url(f"{browser_app.url}/settings/notifications")
        page.set_viewport_size({"width": 1280, "height": 800})
        expect(page.locator("[data-menu-toggle]")).to_be_hidden()
        expect(page.locator("[data-site-menu]").get_by_role("link", name="Risk")).to_be_visible()
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()
