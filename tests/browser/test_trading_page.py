"""The /trading page in a real Chromium against daphne: turn trading on with the
password, watch the countdown to the window's end run, turn it off, and see each step
appear in the audit trail (newest first)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.fake_stream import log_in
from tests.browser.test_a11y import report, serious
from tests.support.live import DEMO_USER


def test_turn_trading_on_with_the_password_and_off_again(page: Page, browser_app):
    log_in(page, browser_app.url)
    page.get_by_role("link", name="Trading", exact=True).click()
    page.wait_for_url(f"{browser_app.url}/trading")
    state = page.locator("[data-trading-state]")
    expect(state).to_have_text("Trading is off.")
    rows = page.locator("[data-audit-rows] tr")
    expect(rows).to_have_text(["Nothing yet."])
    # the demo links are listed with staff's switch (demo_setup turns it on for the
    # SIMULATED links)
    expect(page.locator("[data-link-rows] tr").first).to_contain_text("Enabled by staff")

    # a wrong password: refused in words, and audited
    page.get_by_label("Your password").first.fill("not-the-password")
    page.get_by_role("button", name="Turn trading on").click()
    expect(page.locator("[data-trading-message]")).to_have_text("That password is not right.")
    expect(rows.first.locator("[data-action]")).to_have_text("Refused")
    expect(state).to_have_text("Trading is off.")

    page.get_by_label("Your password").first.fill(DEMO_USER[1])
    page.get_by_role("button", name="Turn trading on").click()
    # "Trading is on until 20:20:31." named no zone: it is New York's time, named
    expect(state).to_have_text(re.compile(r"^Trading is on until \d\d:\d\d:\d\d E[SD]T\.$"))
    until = page.request.get(f"{browser_app.url}/api/trading").json()["trading"]["until"]
    at = dt.datetime.fromtimestamp(until / 1000, ZoneInfo("America/New_York"))
    expect(state).to_have_text(f"Trading is on until {at:%H:%M:%S} {at.tzname()}.")
    left = page.locator("[data-trading-left]")
    expect(left).to_have_text(re.compile(r"^(59:\d\d|1:00:00) left$"))
    first = left.text_content()
    expect(left).not_to_have_text(first or "", timeout=3000)  # it counts down each second
    expect(rows.first.locator("[data-action]")).to_have_text("Trading on")
    expect(rows.first).to_contain_text("on with password")

    page.get_by_role("button", name="Turn trading off").click()
    expect(state).to_have_text("Trading is off.")
    expect(left).to_have_text("")
    expect(rows.locator("[data-action]")).to_have_text(["Trading off", "Trading on", "Refused"])
    # the page says the same after a reload (the server's state, not the page's)
    page.reload()
    expect(state).to_have_text("Trading is off.")
    expect(rows.locator("[data-action]")).to_have_text(["Trading off", "Trading on", "Refused"])
    found = serious(page)
    assert not found, report("desktop /trading", found)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing off-screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    found = serious(page)
    assert not found, report("phone /trading", found)
    assert page.errors == []


#: What a person sees at each size (the desktop the issue names, and a phone).
WIDTHS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", WIDTHS)
def test_the_authenticators_qr_code_renders(page: Page, browser_app, size: str):
    """Setting up an authenticator shows its QR code as an image the browser drew (its
    natural size known: an SVG without its namespace, loaded as an image, draws nothing and
    only the alt text shows), beside the secret to type; no serious axe violation."""
    page.set_viewport_size(WIDTHS[size])
    log_in(page, browser_app.url)
    page.goto(f"{browser_app.url}/trading")
    expect(page.locator("[data-trading-state]")).to_have_text("Trading is off.")
    setup = page.locator("#totp-start")
    setup.get_by_label("Your password").fill(DEMO_USER[1])
    setup.get_by_role("button", name="Set up an authenticator").click()
    shown = page.locator("[data-totp-shown]")
    expect(shown).to_be_visible()
    expect(shown.locator("[data-totp-secret]")).to_have_text(re.compile(r"^[A-Z2-7]+=*$"))
    qr = shown.locator("[data-totp-qr]")
    qr.scroll_into_view_if_needed()
    # the image loaded (`complete`) and decoded to pixels: an image that failed shows its alt
    page.wait_for_function("(img) => img.complete", arg=qr.element_handle())
    assert qr.evaluate("(img) => img.naturalWidth") > 0
    box = qr.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[size]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[size]["width"]
    found = serious(page)
    assert not found, report(f"{size} /trading with the authenticator's set-up", found)
    assert page.errors == []
