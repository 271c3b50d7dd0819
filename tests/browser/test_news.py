"""News in a real Chromium in two non-UTC time zones: an article published at a known UTC
instant shows exactly the wall time of the zone the trader chose in Display settings,
whatever the browser's own (Kolkata +05:30 catches whole-hour mistakes, Los Angeles the
other side of UTC; each browser sits in the other zone), appears live without a reload,
and its update replaces it in place; a second browser reads it server-rendered, already
updated. The dashboard's panel and the watchlist rows link to the symbol's page."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_all_day import put_preferences
from tests.support.chains import chain_users
from tests.support.wait import poll_until

ROOT = Path(__file__).resolve().parents[2]
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "news.png"
SYMBOL = "NWSB"
#: 2026-03-02 14:30:00 UTC = 20:00 in Kolkata (+05:30) = 06:30 in Los Angeles (-08:00).
PUBLISHED = "2026-03-02T14:30:00Z"
#: As the app shows every time (the trader's zone, named).
LOCAL = {"Asia/Kolkata": "Mar 2, 20:00 GMT+5:30", "America/Los_Angeles": "Mar 2, 06:30 PST"}
ITEMS = "[data-news-list] li.news-item"
#: An article published at the sandbox reaches the page through the app's news socket, its
#: store and the user's stream: well under a second on a quiet box; the rest is a loaded
#: box's margin (5 s, Playwright's default, was once too little).
ARRIVES_MS = 15_000


@pytest.fixture(scope="module")
def news_user(browser_app) -> dict:
    return chain_users(browser_app, "alpaca", 1, "nwsb")[0]


def open_in(browser: Browser, app, user: dict, tz: str, path: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id=tz)
    context.add_cookies([{"name": "sessionid", "value": user["sessionid"], "url": app.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app.url}{path}")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    return page


def feed_follows(control, symbol: str) -> bool:
    return any(
        symbol in s["news"]
        for c in control.state()["credentials"].values()
        for s in c.get("alpaca-news", [])
    )


def days_ago(iso: str) -> str:
    published = dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return f"{int((time.time() - published) // 86400)} days ago"


def prefer(page: Page, zone: str) -> None:
    """Choose `zone` in the trader's display preferences, and show the page in it."""
    assert put_preferences(page, {"time_zone": zone})["time_zone"] == zone
    page.reload()
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)


def test_times_in_the_chosen_zone_live_arrival_and_updates(
    browser, browser_app, browser_sandbox, news_user
):
    """Kolkata, then Los Angeles, chosen in Display settings, each show the UTC instant as
    their own wall time in a browser of the other zone (it followed the browser's); the
    article arrives live, its update replaces it (one row), a new tab reads it updated."""
    control = browser_sandbox.control()
    kolkata = open_in(browser, browser_app, news_user, "America/Los_Angeles", f"/news/{SYMBOL}")
    # a browser in Los Angeles (-08:00 = 480 min), the trader's zone Kolkata
    assert kolkata.evaluate("new Date(Date.UTC(2026, 2, 2)).getTimezoneOffset()") == 480
    prefer(kolkata, "Asia/Kolkata")
    poll_until(lambda: feed_follows(control, SYMBOL), 15, "the feed follows the page's symbol")
    empty = kolkata.locator("[data-news-empty]")
    expect(empty).to_be_visible()
    article = control.publish_news(
        "Sandbox Corp beats estimates", [SYMBOL], created_at=PUBLISHED, source="benzinga"
    )
    row = kolkata.locator(f'{ITEMS}[data-news-id="alpaca:{article["id"]}"]')
    expect(row.locator(".news-headline")).to_have_text(
        "Sandbox Corp beats estimates", timeout=ARRIVES_MS
    )
    expect(row.locator("[data-news-time]")).to_have_text(LOCAL["Asia/Kolkata"])
    expect(row.locator("[data-news-time]")).to_have_attribute(
        "title", "Mar 2, 2026, 20:00:00 GMT+5:30"
    )
    expect(row.locator("[data-news-age]")).to_have_text(days_ago(PUBLISHED))
    expect(empty).to_be_hidden()
    first_cursor = int(row.get_attribute("data-cursor") or 0)

    control.update_news(article["id"], headline="Sandbox Corp beats estimates, raises outlook")
    expect(row.locator(".news-headline")).to_have_text(
        "Sandbox Corp beats estimates, raises outlook", timeout=ARRIVES_MS
    )
    expect(kolkata.locator(ITEMS)).to_have_count(1)
    assert int(row.get_attribute("data-cursor") or 0) > first_cursor
    expect(row.locator("[data-news-time]")).to_have_text(LOCAL["Asia/Kolkata"])  # created_at

    # the zone changed to Los Angeles', read by a second browser in Kolkata: server-rendered
    # from the store, updated
    put_preferences(kolkata, {"time_zone": "America/Los_Angeles"})
    la = open_in(browser, browser_app, news_user, "Asia/Kolkata", f"/news/{SYMBOL}")
    la_row = la.locator(f'{ITEMS}[data-news-id="alpaca:{article["id"]}"]')
    expect(la_row.locator(".news-headline")).to_have_text(
        "Sandbox Corp beats estimates, raises outlook"
    )
    expect(la_row.locator("[data-news-time]")).to_have_text(LOCAL["America/Los_Angeles"])
    expect(la.locator(ITEMS)).to_have_count(1)

    # a live article from now: "HH:MM <zone>" of today and "just now", in each page's zone
    # (the first page keeps the zone it was shown in until it hears of the change)
    fresh = control.publish_news("Fresh headline", [SYMBOL])
    label = {"Asia/Kolkata": re.escape("GMT+5:30"), "America/Los_Angeles": "P[SD]T"}
    for page, tz in ((kolkata, "Asia/Kolkata"), (la, "America/Los_Angeles")):
        fresh_row = page.locator(f'{ITEMS}[data-news-id="alpaca:{fresh["id"]}"]')
        expected = dt.datetime.fromtimestamp(fresh["created_at"], dt.UTC)
        local = expected.astimezone(_zone(tz)).strftime("%H:%M")
        expect(fresh_row.locator("[data-news-time]")).to_have_text(
            re.compile(rf"^{local} {label[tz]}$"), timeout=ARRIVES_MS
        )
        expect(fresh_row.locator("[data-news-age]")).to_have_text("just now")
        expect(page.locator(ITEMS).first).to_have_attribute("data-news-id", f"alpaca:{fresh['id']}")
        assert page.errors == []  # type: ignore[attr-defined]
    put_preferences(la, {"time_zone": "America/New_York"})
    la.context.close()
    kolkata.context.close()


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_dashboard_panel_follows_the_watchlist_and_links_to_the_symbol_page(
    browser, browser_app, browser_sandbox, news_user
):
    """The dashboard's panel shows the watchlist's news, live; rows and the panel link to
    /news/<SYMBOL>; a user without an Alpaca link is told how to get news."""
    control = browser_sandbox.control()
    page = open_in(browser, browser_app, news_user, "Asia/Kolkata", "/")
    page.fill("#watchlist-form input[name=symbol]", "NWSC")
    page.click("#watchlist-form button[type=submit]")
    expect(page.locator('#watchlist-rows tr[data-quote="NWSC"] a.news-link')).to_have_attribute(
        "href", "/news/NWSC"
    )
    poll_until(lambda: feed_follows(control, "NWSC"), 15, "the feed follows the watchlist")
    headlines = [
        ("NWSC to present at an industry conference", 95),
        ("Options activity picks up in NWSC", 40),
        ("NWSC announces share buyback program", 3),
    ]
    now = time.time()
    for headline, minutes in headlines:
        control.publish_news(headline, ["NWSC"], created_at=now - minutes * 60, source="benzinga")
    panel = page.locator("[data-news-panel]")
    expect(panel.locator(ITEMS)).to_have_count(3, timeout=ARRIVES_MS)
    expect(panel.locator(".news-headline")).to_have_text([h for h, _ in reversed(headlines)])
    expect(panel.locator("[data-news-age]")).to_have_text(["3 min ago", "40 min ago", "1 h ago"])
    expect(panel.locator("a.news-sym").first).to_have_attribute("href", "/news/NWSC")
    # today's articles: the time alone, labelled with its zone
    assert re.fullmatch(r"\d\d:\d\d \S+", panel.locator("[data-news-time]").first.inner_text())
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(DOCS_IMAGE))
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
