"""Accessibility in a real Chromium against the sandbox: axe-core (pinned in package.json as a
devDependency, injected into the page by the test, never served) reports no serious or
critical violation on any page, at desktop (1280x800) and phone (390x844) sizes, with live
data flowing: quotes tick, values flash (`flash-up` / `flash-down`: their colours must read
on every background they can sit on), a fill raises a toast.

Flash colours are judged as the static classes: the page's fading background animation
(Element.animate) is turned off here so axe reads the same colours on every run; the
flashed classes are also forced onto every value at once to judge each background.

Also: the alerts table's headers sit over their columns, each form has one current error
(the next replaces it), and toasts live in the dock whose height the page reserves, so they
never cover data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.test_dashboard import log_in, tastytrade_account

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
#: Every page a trader opens (the admin and the staff-only stream health are Django's/ops').
PAGES = [
    "/",
    "/market",
    "/chain/SPY",
    "/chart/SPY",
    "/alerts",
    "/news/SPY",
    "/settings/tokens",
    "/pnl",
]
#: Pages whose values tick and flash (a flashed cell is on screen before axe runs).
FLASHING = {"/", "/market", "/chain/SPY"}
#: Pages without a value cell to flash.
NO_VALUES = {"/news/SPY", "/settings/tokens", "/pnl"}
#: Pages that open no stream (no connection state to wait for).
NO_STREAM = {"/settings/tokens", "/pnl"}
#: The fading background of a flash is an animation (static/js/stream/render/dom.js); the colours
#: under test are the classes', so the animation is turned off (fade() then skips it).
NO_ANIMATE = "Object.defineProperty(Element.prototype, 'animate', {value: undefined});"

RUN_AXE = """async (options) => {
  const r = await axe.run(document, options);
  const why = (n) => (n.any[0] || n.all[0] || {}).message || n.failureSummary;
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${why(n)}`)}));
}"""
#: Every value cell flashed at once, up or down; returns how many.
FORCE_FLASH = """(dir) => {
  const cells = document.querySelectorAll('main [data-value], main .num');
  for (const c of cells) {
    c.classList.remove('flash-up', 'flash-down');
    c.classList.add(`flash-${dir}`);
  }
  return cells.length;
}"""


def axe_source() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` (scripts/bootstrap.sh does)")
    return AXE_JS.read_text()


def serious(page: Page, options: dict | None = None) -> list[dict]:
    """axe's serious and critical violations on the page as it is now, once its stylesheets
    are in (`load`): a page's elements can be laid out before a slow stylesheet arrives,
    and axe would judge the browser's default colours (a loaded run once saw the dark
    scheme's default link blue, #9e9eff, on white)."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    return page.evaluate(RUN_AXE, options or {"resultTypes": ["violations"]})


def report(where: str, violations: list[dict]) -> str:
    lines = [f"{where}: {len(violations)} serious/critical axe violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"      {n}" for n in v["nodes"][:12])
    text = "\n".join(lines)
    print(text)
    return text


def logged_in_contexts(
    browser: Browser, url: str, sizes: dict[str, dict]
) -> Iterator[dict[str, BrowserContext]]:
    """The demo trader logged in, one context per size (a login per test would only add
    time), flashes' fading animation off; closed after."""
    made = {}
    for size, options in sizes.items():
        context = browser.new_context(**options)
        context.add_init_script(NO_ANIMATE)
        log_in(context.new_page(), url)
        made[size] = context
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def contexts(browser: Browser, browser_app) -> Iterator[dict[str, BrowserContext]]:
    yield from logged_in_contexts(browser, browser_app.url, SIZES)


def watched_page(context: BrowserContext) -> Page:
    """A new page whose script errors are kept in `page.errors`."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def open_page(context: BrowserContext, url: str, path: str) -> Page:
    page = watched_page(context)
    page.goto(url + path)
    if path not in NO_STREAM:
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    if path == "/pnl":  # the chart drawn, the view reported
        expect(page.locator("#pnl-page")).to_have_attribute("data-view", re.compile("span"))
    if path == "/chain/SPY":
        expect(page.locator("#chain-table tbody tr").first).to_be_visible()
    if path == "/chart/SPY":
        expect(page.locator("[data-chart]")).to_have_attribute("data-state", "live", timeout=15_000)
    if path in FLASHING:
        expect(page.locator("main :is(.flash-up, .flash-down)").first).to_be_attached(
            timeout=10_000
        )
    return page


def check(page: Page, where: str, values: bool = True) -> None:
    """No serious or critical violation as the page is, then (a page with values) with
    every value flashed up, then down (colour contrast only: the rest did not change)."""
    found = serious(page)
    assert not found, report(where, found)
    if not values:
        return
    for direction in ("up", "down"):
        assert page.evaluate(FORCE_FLASH, direction) > 0
        page.evaluate("window.streamdesk && window.streamdesk.flush && window.streamdesk.flush()")
        found = serious(page, {"runOnly": ["color-contrast"], "resultTypes": ["violations"]})
        assert not found, report(f"{where} (every value flash-{direction})", found)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("size", list(SIZES))
def test_axe_finds_no_serious_violation(contexts, browser_app, size, path):
    """axe-core: 0 serious or critical violations on the page, live, at this size."""
    page = open_page(contexts[size], browser_app.url, path)
    try:
        assert_no_axe_loaded(page, path)  # before the test injects it
        if path == "/" and size == "phone":
            # the phone dashboard shows one panel at a time: each is checked
            for view in ("positions", "watchlist", "orders"):
                page.click(f'[data-switch="view"] [data-value="{view}"]')
                expect(page.locator("#dashboard")).to_have_attribute("data-view", view)
                check(page, f"{size} {path} ({view})")
                page.reload()
                expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
        else:
            check(page, f"{size} {path}", values=path not in NO_VALUES)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.close()


def _wrong_login(page: Page) -> str:
    """Send the demo trader's name with a wrong password; the alert's words once the
    answer is shown (a failure may wait seconds before it is answered)."""
    page.fill("input[name=username]", "demo")
    page.fill("input[name=password]", "wrong")
    with page.expect_navigation(timeout=15_000):
        page.click("button[type=submit]")
    alert = page.locator("[role=alert]")
    expect(alert).to_be_visible()
    return alert.inner_text()


def test_login_page_has_no_serious_violation(browser: Browser, browser_app):
    """The login page (logged out), at both sizes; then, as a person meets the login
    throttle: the tries left, then the lock in words (announced), no serious violation."""
    try:
        for size, options in SIZES.items():
            context = browser.new_context(**options)
            try:
                page = context.new_page()
                page.goto(f"{browser_app.url}/login/")
                found = serious(page)
                assert not found, report(f"{size} /login/", found)
                _wrong_login(page)
                found = serious(page)
                assert not found, report(f"{size} /login/ (refused)", found)
            finally:
                context.close()
        context = browser.new_context(**SIZES["phone"])
        try:
            page = context.new_page()
            page.goto(f"{browser_app.url}/login/")
            assert "2 more wrong tries lock logging in for 15 minutes." in _wrong_login(page)
            assert "1 more wrong try locks logging in for 15 minutes." in _wrong_login(page)
            locked = _wrong_login(page)  # the fifth failure (two above, at both sizes)
            assert locked.startswith("Too many failed logins for this account or from your")
            assert "logging in is locked for 15 minutes" in locked
            found = serious(page)
            assert not found, report("phone /login/ (locked)", found)
        finally:
            context.close()
    finally:
        browser_app.manage("axes_reset_username", "demo")  # the module's other logins


@pytest.mark.parametrize("size", list(SIZES))
def test_fill_toast_is_in_the_dock_and_never_covers_data(
    contexts, browser_app, browser_sandbox, size
):
    """A fill's toast shows in the dock: fixed at the bottom, its height reserved below the
    page's content (scrolled to the end, nothing is under it) and unchanged by the toast;
    axe has nothing serious to say with the toast up."""
    page = open_page(contexts[size], browser_app.url, "/")
    try:
        if size == "phone":
            page.click('[data-switch="view"] [data-value="orders"]')
        dock = page.locator("#dock")
        expect(dock).to_be_visible()
        before = dock.bounding_box()
        control = browser_sandbox.control()
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "SPY",
                    "action": "Buy to Open",
                    "quantity": 1,
                }
            ],
        }
        order_id = control.place_order(tastytrade_account(page), order)["order"]["id"]
        for _ in range(3):
            control.step()
        control.close()
        toast = page.locator("#notify-toasts .toast").first
        expect(toast).to_be_visible(timeout=10_000)
        expect(toast).to_contain_text("Filled: SPY")
        expect(page.locator(f'#orders [data-order$=":{order_id}"]')).to_contain_text("Filled")

        viewport = page.viewport_size
        assert viewport is not None
        box, after = toast.bounding_box(), dock.bounding_box()
        assert after == before, "the dock keeps its size with a toast in it"
        assert after["y"] + after["height"] == pytest.approx(viewport["height"], abs=1)
        assert (
            box["y"] >= after["y"] - 0.5
            and box["y"] + box["height"] <= after["y"] + after["height"] + 0.5
        )
        assert dock.evaluate("el => getComputedStyle(el).position") == "fixed"
        # scrolled to the end, the page's last content ends above the dock
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_function(
            "() => window.scrollY + innerHeight >= document.documentElement.scrollHeight - 1"
        )
        bottoms = page.evaluate(
            """() => [...document.querySelectorAll('main .card, main table, main section')]
                .filter((e) => !e.closest('#dock') && e.getClientRects().length)
                .map((e) => e.getBoundingClientRect().bottom)"""
        )
        dock_top = dock.bounding_box()["y"]
        assert bottoms and max(bottoms) <= dock_top + 0.5, (max(bottoms), dock_top)
        found = serious(page)
        assert not found, report(f"{size} / (a fill toast up)", found)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"toast-{size}.png"))
    finally:
        page.close()


def test_alerts_table_headers_sit_over_their_columns(contexts, browser_app):
    """Each header of the active alerts is aligned as its column's values (text left,
    numbers right) and its edge meets theirs."""
    page = open_page(contexts["desktop"], browser_app.url, "/alerts")
    try:
        form = page.locator("#alert-form")
        form.locator("input[name=symbol]").fill("SPY")
        form.locator("select[name=condition]").select_option("above")
        form.locator("input[name=level]").fill("9999")
        form.locator("[data-submit]").click()
        row = page.locator("#alert-rows tr").first
        expect(row).to_contain_text("SPY")
        cells = row.locator(":scope > *")
        heads = page.locator(".alerts thead th")
        assert heads.count() == cells.count() == 7
        for i in range(7):
            head, cell = heads.nth(i), cells.nth(i)
            align = head.evaluate("el => getComputedStyle(el).textAlign")
            assert align == cell.evaluate("el => getComputedStyle(el).textAlign"), i
            hb, cb = head.bounding_box(), cell.bounding_box()
            assert hb["x"] == pytest.approx(cb["x"], abs=1) and hb["width"] == pytest.approx(
                cb["width"], abs=1
            )
        for field in ("price", "distance"):
            assert row.locator(f"[data-field={field}]").evaluate(
                "el => getComputedStyle(el).textAlign"
            ) in ("right", "end")
        row.locator("[data-delete]").click()
        expect(page.locator("#alert-rows tr")).to_have_count(0)
    finally:
        page.close()


def test_each_form_has_one_current_error(contexts, browser_app):
    """The next error replaces the last (the watchlist form, the alert form, a row's alert
    form), and a keystroke clears it; page messages show one at a time."""
    page = open_page(contexts["desktop"], browser_app.url, "/")
    try:
        line = page.locator("#watchlist-form [data-form-error]")
        symbol = page.locator('#watchlist-form input[name="symbol"]')
        symbol.fill("NOT VALID")
        symbol.press("Enter")
        expect(line).to_have_text(
            '"NOT VALID" is not a valid symbol (examples: AAPL, BRK/B, /ESZ26, .SPY250221C590).'
        )
        symbol.fill("SPY")
        expect(line).to_have_text("")  # typing clears it
        symbol.press("Enter")
        expect(line).to_have_text("SPY is already on the watchlist.")
        expect(page.locator("#watchlist-form [data-form-error]")).to_have_count(1)
        expect(page.locator("#messages .msg")).to_have_count(0)

        # a row's alert form: its one error line, replaced
        page.locator('tr[data-quote="SPY"] [data-row-menu]').click()
        page.locator("[data-menu-alert]").click()
        row_form = page.locator("[data-row-alert-form]")
        row_form.locator("input[name=level]").fill("-5")
        row_form.locator("button[type=submit]").click()
        expect(row_form.locator("[data-alert-error]")).not_to_have_text("")
        first = row_form.locator("[data-alert-error]").inner_text()
        row_form.locator("input[name=level]").fill("abc")
        row_form.locator("button[type=submit]").click()
        expect(row_form.locator("[data-alert-error]")).not_to_have_text(first)
        expect(row_form.locator("[data-alert-error]")).to_have_count(1)
        page.keyboard.press("Escape")
    finally:
        page.close()

    page = open_page(contexts["desktop"], browser_app.url, "/alerts")
    try:
        form = page.locator("#alert-form")
        error = form.locator("[data-alert-error]")
        form.locator("input[name=symbol]").fill("SPY")
        form.locator("input[name=level]").fill("-1")
        form.locator("[data-submit]").click()
        expect(error).not_to_have_text("")
        first = error.inner_text()
        form.locator("input[name=level]").fill("1")
        expect(error).to_have_text("")  # typing clears it
        form.locator("input[name=symbol]").fill("$$$")
        form.locator("[data-submit]").click()
        expect(error).not_to_have_text("")
        assert error.inner_text() != first
        expect(form.locator("[role=alert]")).to_have_count(1)
        # page messages: several arrive, one shows (the newest)
        for text in ("first message", "second message"):
            frame = {"type": "error", "code": "x", "message": text}
            page.evaluate("(f) => window.streamdesk.applyFrame(f)", frame)
        visible = page.locator("#messages .msg:visible")
        expect(visible).to_have_count(1)
        expect(visible).to_contain_text("second message")
    finally:
        page.close()


#: How an axe-core build begins (axe.js, axe.min.js): a copy is known by it under any name.
AXE_BANNER = b"/*! axe v"
#: Where axe would be if the app served it as it serves its npm libraries
#: (operations/vendor_static.py: `vendor/<package>/<file>`).
AXE_URLS = ("/static/vendor/axe-core/axe.min.js", "/static/vendor/axe-core/axe.js")
#: The pages' resources (scripts as loaded, dynamic imports included) and the axe global.
LOADED = """() => ({
  axe: typeof window.axe,
  urls: [...performance.getEntriesByType('resource').map((e) => e.name),
         ...[...document.scripts].map((s) => s.src).filter(Boolean)],
})"""


def static_files_holding_axe() -> list[str]:
    """The static files the app's finders give (what the development server serves and
    `collectstatic` copies for production) that are axe-core, whatever their name."""
    from django.contrib.staticfiles import finders

    found = []
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            with storage.open(path) as f:
                body = f.read()
            prefix = getattr(storage, "prefix", None)  # a finder's URL prefix (vendor/…)
            name = f"{prefix}/{path}" if prefix else path
            if AXE_BANNER in body or "axe-core" in name:
                found.append(name)
    return found


def assert_no_axe_loaded(page: Page, path: str) -> None:
    """The page as a trader opens it loads no axe (no axe global, no resource or script
    tag naming it): checked on every page the axe test opens, before it injects axe."""
    loaded = page.evaluate(LOADED)
    assert loaded["urls"], path
    assert loaded["axe"] == "undefined", path
    assert [u for u in loaded["urls"] if "axe" in u.lower()] == [], path


def test_axe_is_served_to_the_test_only(contexts, browser_app):
    """axe-core is a devDependency the test injects (node_modules/axe-core): no static file
    the app finds, serves or collects is axe, and its vendor URL is a 404. No page a trader
    opens loads it: the axe test checks each of `PAGES` before it injects axe
    (`assert_no_axe_loaded`), and this test the one page it does not open."""
    assert axe_source().encode().startswith(AXE_BANNER), "the test injects axe-core's build"
    assert static_files_holding_axe() == []
    request = contexts["desktop"].request
    for path in AXE_URLS:
        assert request.get(browser_app.url + path).status == 404, path
    page = open_page(contexts["desktop"], browser_app.url, "/risk?u=SPY")
    try:
        assert_no_axe_loaded(page, "/risk?u=SPY")
    finally:
        page.close()
