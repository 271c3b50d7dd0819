"""The forced fallbacks in a real browser (`?transport=sse|poll`): no WebSocket, and the
page stays live over SSE, or by polling /api/snapshot every 2 s."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard import log_in


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
    page_state = page.evaluate("window.streamdesk.state()")
    assert page_state["fallback"] == transport
    assert page_state["connects"] == 0, "no WebSocket"
    assert page.errors == []  # type: ignore[attr-defined]
