"""The forced fallbacks in a real browser (`?transport=sse|poll`): no WebSocket, and the
page stays live over SSE, or by polling /api/snapshot every 2 s. And a busy server's
thinned quotes, said in words (docs/streaming-contract.md, "Under load").

This module's app counts any loop lag as saturation (STREAM_LOOP_LAG_SATURATED 2 µs,
below any real wake-up's lateness), so every socket's quotes are thinned to the
1-s maximum: what is checked here (quotes move, over each transport) holds at one
update a second, and the page must say it is being thinned. Other modules' apps are not
paced: their flashes and redraws are measured at the full rate."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from tests.browser.test_dashboard import log_in
from tests.support.live import LiveApp

#: What the page says once the saturated process has raised every socket's floor to 1 s.
BUSY = "Quotes thinned to 1 per 1 s: server busy"


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        browser_sandbox.url,
        tmp_path_factory.mktemp("busy"),
        STREAM_LOOP_LAG_SATURATED="0.000002",
        STREAM_LOOP_LAG_CALM="0.000001",
    ).start()
    yield app
    app.stop()


def test_a_busy_server_says_in_words_that_it_thins_quotes(page: Page, browser_app):
    """Over the WebSocket: beside the data badge, a status line (role=status, words, not
    a colour) says how often quotes come and why; quotes still move, each with its age."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    pace = page.get_by_role("status").filter(has_text="Quotes thinned")
    # the floor doubles once per interval (150 → 300 → 600 → 1,000 ms): ~2 s, plus a margin
    expect(pace).to_have_text(BUSY, timeout=10_000)
    expect(pace).to_be_visible()
    expect(pace).to_have_attribute("data-cause", "server")
    bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
    expect(bid).not_to_have_text(re.compile(r"^—$"), timeout=10_000)
    expect(bid).not_to_have_text(bid.inner_text(), timeout=10_000)
    # on the narrowest phone (360 px) the words keep the status bar to two lines, as every
    # page's is (a busy CI box paced a dashboard test's socket: longer words made it three)
    page.set_viewport_size({"width": 360, "height": 800})
    expect(pace).to_be_visible()
    assert page.locator("#status-bar").bounding_box()["height"] <= 64  # type: ignore[index]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(("transport", "state"), [("sse", "sse"), ("poll", "polling")])
def test_forced_fallback_stays_live(page: Page, browser_app, transport: str, state: str):
    """With ?transport=sse the page streams over SSE, with ?transport=poll it polls; either
    way quotes move, the market strip's own symbols arrive, and no WebSocket is opened."""
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/?transport={transport}")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", state, timeout=10_000)
    bid = page.locator('tr[data-quote="SPY"] [data-field=bid]')
    expect(bid).not_to_have_text(re.compile(r"^—$"), timeout=10_000)
    first = bid.inner_text()
    expect(bid).not_to_have_text(first, timeout=10_000)
    # the market strip's symbols beyond the watchlist (XLE) stream over the fallback too
    xle = page.locator("[data-overview] [data-tile=XLE] [data-field=last]")
    expect(xle).not_to_have_attribute("data-value", re.compile(r"^$"), timeout=15_000)
    expect(xle).not_to_have_attribute("data-value", xle.get_attribute("data-value"), timeout=15_000)
    # SSE carries the server's word like the WebSocket; a poll has no socket to thin
    expect(page.locator("#quote-pace")).to_have_text(BUSY if transport == "sse" else "")
    page_state = page.evaluate("window.streamdesk.state()")
    assert page_state["fallback"] == transport
    assert page_state["connects"] == 0, "no WebSocket"
    assert page.errors == []  # type: ignore[attr-defined]
