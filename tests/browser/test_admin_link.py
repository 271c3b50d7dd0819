"""Linking an account in the admin, in a real Chromium: switching the broker shows only
that broker's secrets and its help (static/js/admin/broker-link-form.js); a value typed
into another broker's box before switching is not stored; without JavaScript every
broker's section is shown and the page still links an account."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.live import LiveApp

ADMIN = ("admin", "admin-sandbox")
ADD_PATH = "/admin/accounts/brokerlink/add/"
BROKERS = ("tastytrade", "tradier", "alpaca")
#: A secret input of each broker, and words of its help only that broker's section has.
FIELD = {"tastytrade": "refresh_token", "tradier": "access_token", "alpaca": "secret_key"}
HELP_WORDS = {
    "tastytrade": "Manage → Create Grant",
    "tradier": "Sandbox Account Access",
    "alpaca": "Alpaca shows it once",
}


def admin_page(browser: Browser, app: LiveApp, *, javascript: bool = True) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{app.url}/admin/login/?next={ADD_PATH}")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("input[type=submit]")
    page.wait_for_url(f"{app.url}{ADD_PATH}")
    yield page
    assert errors == []
    context.close()


@pytest.fixture
def page(browser: Browser, browser_app: LiveApp) -> Iterator[Page]:
    yield from admin_page(browser, browser_app)


@pytest.fixture
def page_without_js(browser: Browser, browser_app: LiveApp) -> Iterator[Page]:
    yield from admin_page(browser, browser_app, javascript=False)


def section(page: Page, broker: str):
    return page.locator(f"fieldset.broker-{broker}")


def expect_only(page: Page, chosen: str) -> None:
    """The chosen broker's section, secrets and help are shown; no other broker's."""
    for broker in BROKERS:
        box = page.locator(f"#id_{FIELD[broker]}")
        words = page.get_by_text(HELP_WORDS[broker], exact=False)
        if broker == chosen:
            expect(section(page, broker)).to_be_visible()
            expect(box).to_be_visible()
            expect(box).to_be_enabled()
            expect(words.first).to_be_visible()
        else:
            expect(section(page, broker)).to_be_hidden()
            expect(box).to_be_hidden()
            expect(box).to_be_disabled()
            expect(words.first).to_be_hidden()
    alpaca_api = page.locator("#id_alpaca_api")
    if chosen == "alpaca":
        expect(alpaca_api).to_be_visible()
    else:
        expect(alpaca_api).to_be_hidden()


def stored_secret_names(app: LiveApp, label: str) -> dict:
    """The broker and the names (never the values) of a link's stored secrets."""
    out = app.python(
        "import json\n"
        "from accounts.models import BrokerLink\n"
        f"link = BrokerLink.objects.get(label={label!r})\n"
        "print(json.dumps({'broker': link.broker, 'alpaca_api': link.alpaca_api,"
        " 'secrets': sorted(link.secrets())}))",
    )
    return json.loads(out.strip().splitlines()[-1])


def test_switching_the_broker_shows_only_its_fields_and_help(page: Page):
    expect(page.locator("#id_broker")).to_have_value("tastytrade")
    expect(page.locator(".broker-env-help")).to_contain_text("BROKER_ENV=sandbox")
    expect_only(page, "tastytrade")
    for broker in ("tradier", "alpaca", "tastytrade", "tradier"):
        page.select_option("#id_broker", broker)
        expect_only(page, broker)
    expect(section(page, "tradier")).to_contain_text("Environment.")
    expect(section(page, "tradier")).to_contain_text("This server (BROKER_ENV=sandbox)")


def test_a_link_saves_only_what_its_broker_shows(page: Page, browser_app: LiveApp):
    """A refresh token typed while tastytrade was chosen, then the broker switched to
    Tradier: the link stores Tradier's token only."""
    page.fill("#id_refresh_token", "typed-before-switching")
    page.select_option("#id_broker", "tradier")
    expect_only(page, "tradier")
    page.select_option("#id_user", label="demo")
    page.fill("#id_label", "browser tradier")
    page.fill("#id_access_token", "browser-tradier-token")
    page.locator("input[name=_save]").first.click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert stored_secret_names(browser_app, "browser tradier") == {
        "broker": "tradier",
        "alpaca_api": "broker",
        "secrets": ["access_token"],
    }


def test_a_missing_secret_is_an_error_beside_its_box(page: Page):
    page.select_option("#id_broker", "alpaca")
    page.select_option("#id_user", label="demo")
    page.fill("#id_label", "half an alpaca")
    page.fill("#id_key_id", "PKHALF")
    page.locator("input[name=_save]").first.click()
    expect(page.locator(".errornote")).to_be_visible()
    expect_only(page, "alpaca")  # the page comes back on the broker it was sent with
    expect(section(page, "alpaca").locator(".errorlist")).to_have_text(
        ["Required for Alpaca links."]
    )


def test_without_javascript_every_section_is_shown_and_a_link_is_added(
    page_without_js: Page, browser_app: LiveApp
):
    page = page_without_js
    for broker in BROKERS:
        expect(section(page, broker)).to_be_visible()
        expect(page.locator(f"#id_{FIELD[broker]}")).to_be_visible()
    expect(page.locator("#id_alpaca_api")).to_be_visible()
    page.select_option("#id_broker", "alpaca")
    page.select_option("#id_user", label="demo")
    page.fill("#id_label", "no-js alpaca")
    page.select_option("#id_alpaca_api", "paper")
    page.fill("#id_key_id", "PKNOJS")
    page.fill("#id_secret_key", "no-js-secret")
    page.fill("#id_access_token", "stray-tradier-token")  # another broker's box
    page.locator("input[name=_save]").first.click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert stored_secret_names(browser_app, "no-js alpaca") == {
        "broker": "alpaca",
        "alpaca_api": "paper",
        "secrets": ["key_id", "secret_key"],
    }
