"""Every page a trader opens, in a real Chromium at 1,440 and 390 px against the sandbox
(issue 60, "The first hour without a rough edge"): the SIMULATED banner on each page when
the trader's links are sandbox links; the settings pages' checkboxes beside their labels;
Notifications without a device says so in words; /risk opens on the whole portfolio; every
time in one named zone — New York's (the market's clock) until the trader picks another
in Display settings — alike on what the server renders and what the browser keeps live.
axe-core finds nothing serious or critical on the pages these change, at both sizes (the
rest of the pages: tests/browser/test_a11y.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_a11y import logged_in_contexts, report, serious, watched_page
from tests.browser.test_dashboard import tastytrade_account

SIZES = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
#: Every page a trader opens (the staff-only stream health and Django's admin aside).
PAGES = [
    "/",
    "/market",
    "/chain/SPY",
    "/chart/SPY",
    "/alerts",
    "/news/SPY",
    "/risk",
    "/pnl",
    "/trading",
    "/settings/display",
    "/settings/notifications",
    "/settings/tokens",
    "/settings/limits",
    "/replay",
]
BANNER = "SIMULATED DATA — sandbox broker, not real money"
#: A checkbox's box is a box (never stretched across the page), at most this far (CSS px)
#: from the first word of its label.
BOX_MAX = 32
GAP_MAX = 24
#: A live page's stream, from the page's load (a loaded box's margin included).
LIVE_MS = 15_000
NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
#: An alert's expiry, a known instant: 10:04 in New York, 15:04 in London (both in winter).
EXPIRY_UTC = dt.datetime(2027, 1, 15, 15, 4, tzinfo=dt.UTC)

#: Each visible checkbox of the page's content: its box, and the box of the first line of
#: its label's words.
CHECKBOXES = """() => [...document.querySelectorAll('main input[type=checkbox]')]
  .filter((box) => box.getClientRects().length && getComputedStyle(box).visibility !== 'hidden')
  .map((box) => {
    const label = box.closest('label')
      || (box.id && document.querySelector(`label[for="${box.id}"]`));
    const b = box.getBoundingClientRect();
    let words = null;
    if (label) {
      const walk = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        if (!n.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(n);
        const line = range.getClientRects()[0];
        if (line) words = { left: line.left, top: line.top, bottom: line.bottom };
        break;
      }
    }
    return { name: box.name || box.id, words,
      box: { left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width } };
  })"""


@pytest.fixture(scope="module")
def contexts(browser: Browser, browser_app) -> Iterator[dict[str, BrowserContext]]:
    """The demo trader (sandbox links at all three brokers) logged in, one context per size."""
    yield from logged_in_contexts(browser, browser_app.url, SIZES)


def open_page(context: BrowserContext, url: str, path: str) -> Page:
    """The page as the server sent it and its scripts started (no wait for its stream)."""
    page = watched_page(context)
    page.goto(url + path)
    page.wait_for_load_state("load")
    return page


def no_serious_violation(page: Page, where: str) -> None:
    found = serious(page)
    assert not found, report(where, found)


@pytest.mark.timeout(300)  # 13 pages at two sizes, each a page load: ~40 s alone, 3x busy
def test_every_page_with_sandbox_data_shows_the_simulated_banner(contexts, browser_app):
    """/pnl, /trading and /settings/* showed no banner though /pnl draws simulated net liq;
    now each page a trader opens carries the dashboard's banner (in the page as the server
    sends it, before any script), and its title starts with [SIMULATED]."""
    missing: list[str] = []
    for size, context in contexts.items():
        page = watched_page(context)
        try:
            for path in PAGES:
                # the banner is in the page as sent: no need to wait for its stream
                page.goto(browser_app.url + path, wait_until="domcontentloaded")
                banner = page.locator("#simulated-banner")
                if not banner.is_visible() or banner.inner_text().strip() != BANNER:
                    missing.append(f"{size} {path}: no banner")
                if not page.title().startswith("[SIMULATED] "):
                    missing.append(f"{size} {path}: title {page.title()!r}")
            assert page.errors == [], page.errors  # type: ignore[attr-defined]
        finally:
            page.close()
    html = contexts["desktop"].request.get(f"{browser_app.url}/settings/display").text()
    if 'id="simulated-banner"' not in html:
        missing.append("/settings/display as sent: no banner")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("size", list(SIZES))
def test_settings_checkboxes_sit_beside_their_labels(contexts, browser_app, size):
    """On Display and Notifications each checkbox was stretched across the card, its box
    ~650 px from its words at 1,440 px; now it is a box right before its label's first
    word, on its first line. axe has nothing serious to say about either page."""
    far: list[str] = []
    for path in ("/settings/display", "/settings/notifications"):
        page = open_page(contexts[size], browser_app.url, path)
        try:
            boxes = page.evaluate(CHECKBOXES)
            assert boxes, path
            for b in boxes:
                box, words = b["box"], b["words"]
                where = f"{size} {path} [{b['name']}]"
                if words is None:
                    far.append(f"{where}: no label")
                    continue
                gap = words["left"] - box["right"]
                middle = (box["top"] + box["bottom"]) / 2
                if box["width"] > BOX_MAX:
                    far.append(f"{where}: the box is {box['width']:.0f} px wide")
                elif not 0 <= gap <= GAP_MAX:
                    far.append(f"{where}: {gap:.0f} px from its label")
                elif not words["top"] <= middle <= words["bottom"]:
                    far.append(f"{where}: not on its label's first line")
            no_serious_violation(page, f"{size} {path}")
            assert page.errors == []  # type: ignore[attr-defined]
        finally:
            page.close()
    assert not far, "\n".join(far)


@pytest.mark.parametrize("size", list(SIZES))
def test_notifications_without_a_device_say_so_in_words(contexts, browser_app, size):
    """Notifications showed a table's header with no rows and no words; with no device the
    page says none is registered and how to add one, and shows no empty table."""
    page = open_page(contexts[size], browser_app.url, "/settings/notifications")
    try:
        empty = page.locator("[data-push-empty]")
        expect(empty).to_have_text(
            "No device gets pushes yet. Press “Get pushes on this device” on each phone or "
            "computer that should get them."
        )
        expect(empty).to_be_visible()
        expect(page.locator("[data-push-devices] table")).to_be_hidden()
        html = page.request.get(f"{browser_app.url}/settings/notifications").text()
        assert "data-push-empty>" in html, "said by the server, before any script"
        no_serious_violation(page, f"{size} /settings/notifications (no device)")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_risk_opens_on_the_whole_portfolio(contexts, browser_app, size):
    """/risk opened its what-if graph on QQQ (the first underlying with options); it opens
    on the whole portfolio β-weighted to SPY, and ?u=SPY still opens on SPY."""
    page = open_page(contexts[size], browser_app.url, "/risk")
    try:
        card = page.locator("[data-risk-graph]")
        expect(card).to_have_attribute("data-underlying", "portfolio")
        expect(page.locator("[data-risk-choice]")).to_have_value("portfolio")
        expect(card).to_have_attribute("data-state", "live", timeout=LIVE_MS)
        no_serious_violation(page, f"{size} /risk")
        page.goto(f"{browser_app.url}/risk?u=SPY")
        expect(page.locator("[data-risk-graph]")).to_have_attribute("data-underlying", "SPY")
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


# ------------------------------------------------------------------ one named time zone


def label(at: dt.datetime, zone: ZoneInfo) -> str:
    """The zone's name at `at` as Chromium's Intl names it in en-US: New York's by its
    abbreviation (EST, EDT), London's as GMT or GMT+1."""
    local = at.astimezone(zone)
    if zone is LONDON:
        return "GMT" if not local.utcoffset() else "GMT+1"
    return local.tzname() or ""


def named(at: dt.datetime, zone: ZoneInfo, pattern: str) -> str:
    """`at` in `zone` as the pages write it (`pattern`'s `{day}`: the day without a 0)."""
    local = at.astimezone(zone)
    return f"{local.strftime(pattern)} {label(at, zone)}".replace("{day}", str(local.day))


def from_ms(ms: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def set_zone_in_display_settings(page: Page, url: str, zone: str) -> None:
    page.goto(f"{url}/settings/display")
    page.select_option("select[name=time_zone]", zone)
    page.click("#display-settings button[type=submit]")
    expect(page.locator("#display-settings .flash")).to_contain_text("saved")
    expect(page.locator("select[name=time_zone]")).to_have_value(zone)


def expect_times_in(page: Page, url: str, zone: ZoneInfo, name: str, order: str) -> None:
    """Each place shows `zone`'s time of its own known instant, named."""
    # the orders panel (the browser's), and the CSV links' zone
    page.goto(f"{url}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=LIVE_MS)
    cell = page.locator(f'#orders [data-order$=":{order}"] [data-field=updated_at]')
    expect(cell).to_be_attached(timeout=LIVE_MS)
    updated = page.evaluate(
        "(id) => Object.values(window.streamdesk.state().orders).find((o) => String(o.id) === id)"
        ".updated_at",
        order,
    )
    expect(cell).to_have_text(named(from_ms(updated), zone, "%H:%M:%S"))
    href = page.locator('#exports a[data-export="fills"]').first.get_attribute("href") or ""
    assert parse_qs(urlparse(href).query)["tz"] == [name], href

    # an alert's expiry: the server's first paint, then the browser's
    expiry = named(EXPIRY_UTC, zone, "%b {day}, %H:%M:%S")
    assert expiry in page.request.get(f"{url}/alerts").text()
    page.goto(f"{url}/alerts")
    expect(page.locator("#alert-rows [data-field=expires]").first).to_have_text(expiry)
    expect(page.locator("#alert-form")).to_contain_text(f"Expires ({name})")

    # a token's creation (server-rendered only)
    page.goto(f"{url}/settings/tokens")
    created = page.locator("#token-list time[data-field=created]").first
    at = dt.datetime.fromisoformat(created.get_attribute("datetime") or "")
    expect(created).to_have_text(named(at, zone, "%b {day}, %Y, %H:%M"))

    # the chart: its note names the zone; the forming candle's label is in it
    page.goto(f"{url}/chart/SPY?tf=5m")
    chart = page.locator("[data-chart]")
    expect(chart).to_have_attribute("data-state", "live", timeout=LIVE_MS)
    now = dt.datetime.now(dt.UTC)
    expect(page.locator(".chart-note")).to_contain_text(f"Times in {name} ({label(now, zone)})")
    forming = from_ms(float(chart.get_attribute("data-forming-t") or 0))
    candle = named(forming, zone, "%a %b {day}, %H:%M")
    expect(page.locator(".chart-status")).to_contain_text(f"the {candle} candle is forming")

    # the P&L page names the zone it shows
    page.goto(f"{url}/pnl")
    now = dt.datetime.now(dt.UTC)
    expect(page.locator("[data-pnl-zone]")).to_have_text(f"{name} ({label(now, zone)})")


def test_times_are_new_york_by_default_and_follow_display_settings(
    contexts, browser_app, browser_sandbox
):
    """Lists and P&L showed UTC, charts New York, "Trading is on until 20:20:31" no zone.
    Now: New York's time, named (EST/EDT), in the orders panel, an alert's expiry (typed
    in New York's time, shown by the server and the browser), a token's creation, the
    chart's note and forming candle, the P&L page and the CSV links; Europe/London chosen
    in Display settings moves every one of them to London's time, named GMT."""
    page = open_page(contexts["desktop"], browser_app.url, "/")
    control = browser_sandbox.control()
    try:
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=LIVE_MS)
        far_below = {
            "time-in-force": "GTC",
            "order-type": "Limit",
            "price": 1.0,
            "price-effect": "Debit",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "KO",
                    "action": "Buy to Open",
                    "quantity": 1,
                }
            ],
        }
        order = str(control.place_order(tastytrade_account(page), far_below)["order"]["id"])
        # an alert expiring at a known instant, typed in the zone shown (New York's)
        page.goto(f"{browser_app.url}/alerts")
        form = page.locator("#alert-form")
        form.locator("input[name=symbol]").fill("SPY")
        form.locator("select[name=condition]").select_option("above")
        form.locator("input[name=level]").fill("9999")
        form.locator("input[name=expires]").fill("2027-01-15T10:04")
        form.locator("[data-submit]").click()
        expect(page.locator("#alert-rows tr")).to_have_count(1)
        # a token, created now
        page.goto(f"{browser_app.url}/settings/tokens")
        page.get_by_label("Name").fill("zone check")
        page.get_by_role("button", name="Create token").click()
        expect(page.locator("#new-token")).to_be_visible()

        expect_times_in(page, browser_app.url, NEW_YORK, "America/New_York", order)
        set_zone_in_display_settings(page, browser_app.url, "Europe/London")
        expect_times_in(page, browser_app.url, LONDON, "Europe/London", order)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        set_zone_in_display_settings(page, browser_app.url, "America/New_York")
        alerts = page.request.get(f"{browser_app.url}/api/alerts").json()["alerts"]
        token = next(c["value"] for c in contexts["desktop"].cookies() if c["name"] == "csrftoken")
        for alert in alerts:
            page.request.delete(
                f"{browser_app.url}/api/alerts/{alert['id']}",
                headers={"X-CSRFToken": token, "Origin": browser_app.url},
            )
        control.close()
        page.close()


def test_the_zone_is_chosen_by_name_not_the_browsers(contexts, browser_app):
    """Display settings offer New York's zone first (chosen until another is), every IANA
    zone by name, and no "browser's time zone" (the server could not name it)."""
    page = open_page(contexts["desktop"], browser_app.url, "/settings/display")
    try:
        select = page.locator("select[name=time_zone]")
        expect(select).to_have_value("America/New_York")
        options = select.locator("option")
        expect(options.first).to_have_attribute("value", "America/New_York")
        assert not [t for t in options.all_text_contents() if re.search("browser", t, re.I)]
    finally:
        page.close()
