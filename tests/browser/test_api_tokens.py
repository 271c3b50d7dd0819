"""The API tokens settings page in a real Chromium: create a token, see it once, use it
from a script (httpx), revoke it, see it marked revoked (and the script refused)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.fake_stream import log_in

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))


def test_create_use_and_revoke_a_token(page: Page, browser_app):
    log_in(page, browser_app.url)
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url(f"{browser_app.url}/settings/tokens")
    expect(page.locator(".empty")).to_have_text("No tokens yet.")

    page.get_by_label("Name").fill("price bot")
    page.get_by_label("Expires after").select_option("90")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token-value")
    expect(shown).to_be_visible()
    raw = shown.input_value()
    assert re.fullmatch(r"sdt_[a-z0-9]{10}_[A-Za-z0-9_-]{43}", raw)
    prefix = raw.split("_")[1]
    expect(page.locator("#new-token")).to_contain_text("will not be shown again")
    row = page.locator(f'#token-list tr[data-prefix="{prefix}"]')
    expect(row.locator("td").nth(0)).to_have_text("price bot")
    expect(row.locator("td").nth(1)).to_have_text(f"sdt_{prefix}_…")
    expect(row.locator(".last-used")).to_have_text("never")
    expect(row.locator(".token-state")).to_have_text("active")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-tokens-created.png"))
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing off-screen
    page.screenshot(path=str(ARTIFACTS / "api-tokens-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})

    # seen once: a reload (GET) shows the row, never the secret
    page.goto(f"{browser_app.url}/settings/tokens")
    expect(page.locator("#new-token")).to_have_count(0)
    assert raw.split("_", 2)[2] not in page.content()

    # a script uses it: no cookie, no Origin
    headers = {"Authorization": f"Bearer {raw}"}
    response = httpx.get(f"{browser_app.url}/api/snapshot", headers=headers, timeout=10)
    assert response.status_code == 200 and response.json()["type"] == "snapshot"
    page.reload()
    # in the trader's zone (New York's: none chosen), named
    expect(row.locator(".last-used")).to_have_text(
        re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d E[SD]T$")
    )

    row.get_by_role("button", name="Revoke price bot").click()
    expect(page.locator(".flash")).to_have_text(
        "“price bot” is revoked; its open streams close now."
    )
    expect(row).to_have_attribute("data-state", "revoked")
    expect(row.locator(".token-state")).to_have_text("revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    refused = httpx.get(f"{browser_app.url}/api/snapshot", headers=headers, timeout=10)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    assert page.errors == []
