"""The staff's stream-health view in a real Chromium: it updates live, filters to failing
links, links to the admin, and is refused to a trader who is not staff."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer
from tests.support.live import DEMO_USER, LiveApp

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1 (so a test run leaves
#: the worktree clean); always into the test artifacts.
DOCS_IMAGE = ROOT / "docs" / "img" / "stream-health.png"
ADMIN = ("admin", "admin-sandbox")
DEMO_TRADIER = credential_id("demo-tradier-token")


@pytest.fixture(scope="module")
def health_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    """One daphne (no Redis: the view reads the process's own agents); Tradier's account
    polled every 2 s so a failing poll shows within seconds."""
    app = LiveApp(
        browser_sandbox.url,
        tmp_path_factory.mktemp("stream-health"),
        STREAM_ACCOUNT_POLL_INTERVAL="2",
    ).start()
    yield app
    app.stop()


def logged_in(browser: Browser, base_url: str, who: tuple[str, str], then: str) -> Page:
    context: BrowserContext = browser.new_context(viewport={"width": 1400, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{base_url}{then}")  # anonymous: sent to the login, and back after it
    page.wait_for_url(f"{base_url}/login/?next={quote(then)}")
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{then}")
    return page


def test_a_trader_who_is_not_staff_is_refused(browser: Browser, health_app: LiveApp):
    page = logged_in(browser, health_app.url, DEMO_USER, "/")
    response = page.goto(f"{health_app.url}/ops/streams/")
    assert response is not None and response.status == 403
    assert page.locator("body").inner_text() == "Staff only."
    page.context.close()


def test_staff_sees_streams_live_and_filters_to_failing(
    browser: Browser, health_app: LiveApp, browser_sandbox: SandboxServer
):
    """The page follows a second tab opening, a link failing (state, last error,
    reconnects) and healing, without a reload; the filter leaves only the failing link;
    each link opens its admin change page."""
    trader = logged_in(browser, health_app.url, DEMO_USER, "/")
    expect(trader.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    staff = logged_in(browser, health_app.url, ADMIN, "/ops/streams/")
    control = browser_sandbox.control()
    try:
        user = staff.locator("tr.ops-user")
        expect(user).to_have_count(1)
        expect(user.locator("strong")).to_have_text("demo")
        expect(user.locator(".ops-owner")).to_contain_text(f"pid {health_app.pid}")
        tabs = user.locator(".ops-tabs")
        expect(tabs).to_have_attribute("data-tabs", "1")
        links = staff.locator("tr.ops-link")
        expect(links).to_have_count(3)
        for row in links.all():
            expect(row).to_have_attribute("data-state", "live", timeout=15_000)
        tradier = staff.locator("tr.ops-link", has_text="tradier")
        expect(tradier.locator(".ops-reconnects")).to_have_text("0")

        # a second tab opens elsewhere (another browser: tabs of one browser share one
        # socket): the count follows without a reload
        logged_in(browser, health_app.url, DEMO_USER, "/")
        expect(tabs).to_have_attribute("data-tabs", "2", timeout=10_000)
        updates = int(staff.locator("#stream-health").get_attribute("data-updates") or 0)
        assert updates >= 1

        control.fault(
            "http_error",
            broker="tradier",
            credential=DEMO_TRADIER,
            status=500,
            path_prefix="/v1/accounts",
            count=None,
        )
        began = time.monotonic()
        expect(tradier).to_have_attribute("data-failing", "true", timeout=20_000)
        print(f"\ntradier failing on the page after {time.monotonic() - began:.1f} s")
        expect(tradier.locator(".ops-err")).to_contain_text("account: ", timeout=5_000)
        expect(tradier.locator(".ops-err")).to_contain_text("500")
        expect(user).to_have_attribute("data-failing", "true")
        expect(tradier.locator(".ops-reconnects")).not_to_have_text("0", timeout=20_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        staff.screenshot(path=str(ARTIFACTS / "stream-health.png"), full_page=True)
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "stream-health.png", DOCS_IMAGE)

        staff.check("#failing-only")
        expect(links).to_have_count(1)
        expect(links.first).to_contain_text("Tradier")
        assert staff.url.endswith("/ops/streams/?failing=1")
        staff.reload()  # the filter survives a reload
        expect(staff.locator("#failing-only")).to_be_checked()
        expect(links).to_have_count(1)

        control.clear_faults()
        expect(links).to_have_count(0, timeout=45_000)  # healed: nothing fails
        expect(staff.locator("#ops-empty")).to_be_visible()
        staff.uncheck("#failing-only")
        expect(links).to_have_count(3)
        expect(tradier).to_have_attribute("data-state", "live")
        expect(tradier.locator(".ops-err")).to_contain_text("500")  # the last error stays

        href = tradier.locator("a.ops-admin").get_attribute("href")
        assert href is not None and href.startswith("/admin/accounts/brokerlink/")
        tradier.locator("a.ops-admin").click()
        staff.wait_for_url(f"{health_app.url}{href}")
        expect(staff.locator("h1, h2").first).to_be_visible()
        assert staff.errors == [] and trader.errors == []  # type: ignore[attr-defined]
    finally:
        control.clear_faults()
        control.close()
        staff.context.close()
        trader.context.close()
