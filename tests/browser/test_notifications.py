"""Notifications in a real Chromium against daphne + the sandbox: fills made while a tab
is disconnected (at tastytrade and at Alpaca) notify after the resume, exactly once (one
desktop notification, one toast each), a reload does not repeat them, two tabs of one
browser raise one desktop notification per fill; desktop permission is asked for only on
the button's click; a user who turns fills off gets none; and (the stream faked) a
partial fill, a rejection and a triggered alert each raise a toast, history and a beep.

Desktop notifications are observed by wrapping `window.Notification` in an init script
that records each call and then calls the real constructor (the permission is granted to
the context, so the real one runs too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.browser.fake_stream import FakeStream, account_frame, link, snapshot
from tests.browser.test_dashboard import ARTIFACTS, log_in
from tests.support.browsers import shared
from tests.support.orders import market_buy
from tests.support.wait import poll_until


@pytest.fixture(scope="module")
def browser() -> Browser:
    """The full browser: Chromium's headless shell denies web notifications without
    asking, and these tests are about asking."""
    return shared.get(full=True)


ROOT = Path(__file__).resolve().parents[2]
#: The README's picture: written only with UPDATE_DOCS_IMAGES=1.
DOCS_IMAGE = ROOT / "docs" / "img" / "notifications.png"

RECORD_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  window.__notified = [];
  window.__permissionAsked = 0;
  if (!Real) return;
  function Recording(title, options) {
    window.__notified.push({ title, body: options && options.body, tag: options && options.tag });
    return new Real(title, options);
  }
  Recording.prototype = Real.prototype;
  Object.defineProperty(Recording, 'permission', { get: () => Real.permission });
  Recording.requestPermission = (...args) => {
    window.__permissionAsked += 1;
    return Real.requestPermission(...args);
  };
  window.Notification = Recording;
})();"""
NOTIFIED = "() => window.__notified"
RESTORE_FILLS = """() => fetch('/api/notifications/settings', {
  method: 'PUT',
  headers: {
    'Content-Type': 'application/json',
    'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1],
  },
  body: JSON.stringify({ fills: true }),
}).then((r) => r.json())"""
RAISED = "() => window.streamdesk.notifications()"
#: The keys this browser claimed (static/js/stream/io/claims.js's IndexedDB record).
CLAIMED = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('streamdesk.notified.demo', 1);
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const keys = open.result.transaction('claims').objectStore('claims').getAllKeys();
    keys.onsuccess = () => { open.result.close(); resolve(keys.result); };
    keys.onerror = () => reject(keys.error);
  };
})"""


def account_at(page: Page, broker: str) -> tuple[str, str]:
    """(account number, link id) of the page's first account at `broker`."""
    card = page.locator("[data-account]").filter(
        has=page.locator("[data-field=broker]", has_text=re.compile(f"^{broker}$"))
    )
    return card.first.get_attribute("data-account"), card.first.get_attribute("data-account-link")


def new_context(browser: Browser, app_url: str, *, grant: bool) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if grant:
        context.grant_permissions(["notifications"], origin=app_url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    return context


def open_tab(context: BrowserContext, app_url: str) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    if not context.cookies():
        log_in(page, app_url)
    else:
        page.goto(f"{app_url}/")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
    return page


class Network:
    """A tab's `/ws/stream/` sockets through the test: passed to the server while the
    network is up (every server frame recorded, per socket); `down()` drops the socket
    and takes the browser offline (new sockets fail), `up()` brings it back (the page's
    `online` handler reconnects at once, with its position)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.is_up = True
        self.sockets: list[list[dict]] = []
        self._routes: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r".*/ws/stream/.*"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if not self.is_up:
            ws.close(code=1006)
            return
        frames: list[dict] = []
        self.sockets.append(frames)
        self._routes.append(ws)
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            frames.append(json.loads(message))
            ws.send(message)

        server.on_message(from_server)

    def down(self) -> None:
        self.is_up = False
        self.page.context.set_offline(True)
        for ws in self._routes:
            ws.close(code=1006)
        self._routes.clear()
        expect(self.page.locator("#conn-state")).to_have_attribute("data-state", "offline")

    def up(self) -> None:
        self.is_up = True
        self.page.context.set_offline(False)
        expect(self.page.locator("#conn-state")).to_have_attribute(
            "data-state", "live", timeout=15_000
        )


def server_snapshot(app_url: str, context: BrowserContext) -> dict:
    """The user's snapshot as the server has it now (with the tab's session). As a polling
    tab's request it also holds the user's stream for 10 s, as production's 30 s idle
    grace would over a short outage (the test app's grace is 2 s)."""
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    return httpx.get(
        f"{app_url}/api/snapshot", params={"tab": "notify-test-holder"}, cookies=cookies, timeout=10
    ).json()


def order_key(order: dict) -> str:
    return f"{order['link']}:{order['id']}"


def test_fills_while_disconnected_notify_once_after_resume(
    browser: Browser, browser_app, browser_sandbox
):
    """Tab offline; a tastytrade and an Alpaca order fill meanwhile; back online the tab
    resumes (`resumed` + the missed frames, no snapshot) and raises one desktop
    notification and one toast per fill; a reload repeats nothing; with two tabs open a
    new fill raises one desktop notification in all, a toast in each."""
    context = new_context(browser, browser_app.url, grant=True)
    control = browser_sandbox.control()
    try:
        tab = open_tab(context, browser_app.url)
        assert tab.evaluate(RAISED)["settings"]["fills"] is True
        assert tab.evaluate(RAISED)["permission"] == "granted"
        expect(tab.locator("#notify-permission")).to_be_hidden()  # granted: nothing to ask
        tt_account, tt_link = account_at(tab, "tastytrade")
        al_account, al_link = account_at(tab, "alpaca")
        network = Network(tab)
        tab.reload()  # its sockets now go through the test
        expect(tab.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)

        # the snapshot's call holds the stream through the outage
        known = {order_key(o) for o in server_snapshot(browser_app.url, context)["orders"]}
        network.down()
        tt_order = str(control.place_order(tt_account, market_buy("MSFT", 2))["order"]["id"])
        control.place_order(al_account, market_buy("QQQ", 3))  # Alpaca names it by a UUID
        for _ in range(3):
            control.step()

        def new_fills() -> dict[str, str] | None:
            """link → id of the order each account got filled meanwhile, once both are."""
            new = {
                str(o["link"]): str(o["id"])
                for o in server_snapshot(browser_app.url, context)["orders"]
                if order_key(o) not in known and o["status"] == "Filled"
            }
            return new if set(new) == {tt_link, al_link} else None

        fills = poll_until(
            new_fills, within=20, what="both orders filled at the server while the tab is offline"
        )
        assert fills[tt_link] == tt_order
        al_order = fills[al_link]
        assert tab.evaluate(NOTIFIED) == []
        assert tab.evaluate(RAISED)["history"] == []
        network.up()

        tt_key = f"fill:{tt_link}:{tt_order}:"
        al_key = f"fill:{al_link}:{al_order}:"
        tab.wait_for_function(
            "(n) => window.__notified.length >= n", arg=2, timeout=15_000, polling=100
        )
        # the picture for the README: the toasts, and the bell's history opened
        expect(tab.locator("#notify-count")).to_have_text("2")
        tab.click("#notify-bell")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "notifications.png"))
        if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
            shutil.copyfile(ARTIFACTS / "notifications.png", DOCS_IMAGE)
        # the resumed socket carried the fills: `resumed`, never a snapshot
        resumed = network.sockets[-1]
        assert [f["type"] for f in resumed[:2]] == ["hello", "resumed"]
        assert "snapshot" not in [f["type"] for f in resumed]
        notified = tab.evaluate(NOTIFIED)
        by_tag = {n["tag"]: n for n in notified}
        assert len(notified) == len(by_tag) == 2, notified
        (tt_tag,) = [t for t in by_tag if t.startswith(tt_key)]
        (al_tag,) = [t for t in by_tag if t.startswith(al_key)]
        assert by_tag[tt_tag]["title"] == "Filled: MSFT"
        assert re.fullmatch(
            rf"Buy to Open 2 MSFT @ [\d,]+\.\d\d \(2 of 2\) · account {tt_account}",
            by_tag[tt_tag]["body"],
        ), by_tag[tt_tag]["body"]
        assert by_tag[al_tag]["title"] == "Filled: QQQ"
        raised = tab.evaluate(RAISED)
        assert sorted(raised["desktop"]) == sorted([tt_tag, al_tag])
        assert raised["toasts"] == 2 and raised["beeps"] == 0  # sound is off by default
        assert sorted(h["key"] for h in raised["history"]) == sorted([tt_tag, al_tag])
        toasts = tab.locator("#notify-toasts .toast")
        expect(toasts).to_have_count(2)
        expect(tab.locator(f'#notify-toasts [data-key="{tt_tag}"]')).to_contain_text("Filled: MSFT")

        # the bell's history: local time and age
        items = tab.locator("#notify-history > li")
        expect(items).to_have_count(2)
        expect(items.first.locator("[data-field=time]")).to_have_text(
            re.compile(r"^\d\d:\d\d:\d\d [A-Z][A-Za-z0-9+:-]*$")  # labelled with its zone
        )
        expect(items.first.locator("[data-field=age]")).to_have_text(
            re.compile(r"^(just now|\d+ s ago)$")
        )
        expect(tab.locator("#notify-count")).to_be_hidden()
        items.first.locator("[data-dismiss]").click()
        expect(items).to_have_count(1)
        # toasts hide by themselves (8 s); the history keeps what it listed
        expect(toasts).to_have_count(0, timeout=10_000)
        expect(items).to_have_count(1)

        # a reload: the fills are history now (and claimed): nothing again; a second tab
        tab.reload()
        expect(tab.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
        other = open_tab(context, browser_app.url)
        live_order = str(control.place_order(tt_account, market_buy("AAPL", 1))["order"]["id"])
        for _ in range(3):
            control.step()
        live_key = f"fill:{tt_link}:{live_order}:"
        for page in (tab, other):
            page.wait_for_function(
                "(k) => window.streamdesk.notifications().history.some((h) => h.key.startsWith(k))",
                arg=live_key,
                timeout=15_000,
                polling=100,
            )
        # each tab: one toast for the new fill only; one desktop notification between them
        for page in (tab, other):
            history = page.evaluate(RAISED)["history"]
            assert [h["key"][: len(live_key)] for h in history] == [live_key]
        desktop = tab.evaluate(NOTIFIED) + other.evaluate(NOTIFIED)
        assert [n["tag"][: len(live_key)] for n in desktop] == [live_key]
        assert tab.errors == [] and other.errors == []  # type: ignore[attr-defined]
    finally:
        control.close()
        context.close()


def test_permission_only_on_click_and_fills_off_notify_nothing(
    browser: Browser, browser_app, browser_sandbox
):
    """Nothing asks for permission on load; the button does (and the page says what the
    browser answered). With fills turned off in the settings panel (stored: a reload keeps
    it) a fill raises no toast and no desktop notification."""
    context = new_context(browser, browser_app.url, grant=False)
    control = browser_sandbox.control()
    tab = open_tab(context, browser_app.url)
    try:
        assert tab.evaluate("() => window.__permissionAsked") == 0
        expect(tab.locator("#notify-permission")).to_be_hidden()  # inside the closed panel
        tab.click("#notify-bell")
        button = tab.locator("#notify-permission")
        expect(button).to_be_visible()
        state = tab.locator("#notify-permission-state")
        expect(state).to_have_text("Desktop notifications need your permission.")
        assert tab.evaluate("() => window.__permissionAsked") == 0
        button.click()
        tab.wait_for_function("() => window.__permissionAsked === 1")
        answer = tab.evaluate("() => Notification.permission")
        words = {
            "denied": "Desktop notifications are blocked for this site in the browser:"
            " toasts and sound still work.",
            "granted": "Desktop notifications are on.",
            "default": "Desktop notifications need your permission.",
        }
        expect(state).to_have_attribute("data-permission", answer)
        expect(state).to_have_text(words[answer])

        form = tab.locator("#notify-settings")
        with tab.expect_response("**/api/notifications/settings") as saved:
            form.locator("input[name=fills]").uncheck()
        assert saved.value.status == 200
        assert saved.value.json()["fills"] is False
        tab.reload()
        expect(tab.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=15_000)
        assert tab.evaluate(RAISED)["settings"]["fills"] is False
        tab.click("#notify-bell")
        expect(tab.locator("#notify-settings input[name=fills]")).not_to_be_checked()

        account, _ = account_at(tab, "tastytrade")
        order_id = str(control.place_order(account, market_buy("IWM", 1))["order"]["id"])
        for _ in range(3):
            control.step()
        row = tab.locator(f'#orders [data-order$=":{order_id}"]')
        expect(row).to_have_attribute("data-status", "Filled", timeout=10_000)
        # the fill's frame is applied (and every step is observed at once): nothing raised
        raised = tab.evaluate(RAISED)
        assert (raised["history"], raised["toasts"], raised["desktop"]) == ([], 0, [])
        assert tab.evaluate(NOTIFIED) == []
        expect(tab.locator("#notify-toasts .toast")).to_have_count(0)
        assert tab.errors == []  # type: ignore[attr-defined]
    finally:
        # the demo user's settings as they were, for the module's other tests
        restored = tab.evaluate(RESTORE_FILLS)
        control.close()
        context.close()
    assert restored["fills"] is True


def test_partial_fill_rejection_and_alert_frames_on_the_page(page: Page, browser_app):
    """The stream faked (tests/browser/fake_stream.py): a partial fill, a rejected order and
    a triggered price alert (the alerts' account-class frame) each raise a toast, a history
    entry and, with sound on, a beep; the browser's record claims each key once."""
    fake = FakeStream(page)
    page.add_init_script(RECORD_NOTIFICATIONS)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    live = {
        "id": "501",
        "status": "Live",
        "order_type": "Limit",
        "price": 99.5,
        "underlying": "XLF",
        "legs": [{"symbol": "XLF", "action": "Buy to Open", "quantity": 200, "fills": []}],
        "link": 1,
        "account": "T1",
        "updated_at": now,
    }
    fake.go_live(snapshot(now, epoch="E1", seq=5, links=[link(1, now)], orders=[live]), n=1)
    page.click("#notify-bell")
    with page.expect_response("**/api/notifications/settings"):
        page.locator("#notify-settings input[name=sound]").check()
    page.click("#notify-bell")  # closed again: the count shows what arrived meanwhile

    partial = {
        **live,
        "status": "Partially Filled",
        "legs": [
            {
                **live["legs"][0],
                "fills": [{"id": "501:80", "quantity": 80, "price": 99.5, "at": now}],
            }
        ],
    }
    rejected = {
        **live,
        "id": "502",
        "status": "Rejected",
        "reject_reason": "Insufficient buying power",
    }
    trigger = {
        "id": 9001,
        "alert_id": 12,
        "symbol": "SPY",
        "condition": "above",
        "level": 600,
        "price": 600.25,
        "at": now,
        "message": "SPY rose above 600.00 (600.25).",
        "rearm": False,
    }
    alert_frame = {
        "type": "alert",
        "epoch": "E1",
        "seq": 8,
        "t": now,
        "simulated": True,
        "account": "",
        "link": 0,
        "alert": trigger,
    }
    fake.send(
        account_frame("order", "E1", 6, "T1", 1, partial, now),
        account_frame("order", "E1", 7, "T1", 1, rejected, now),
        alert_frame,
    )
    expect(page.locator("#notify-toasts .toast")).to_have_count(3)
    expect(page.locator("#notify-count")).to_have_text("3")
    raised = page.evaluate(RAISED)
    assert [(h["key"], h["title"], h["body"]) for h in raised["history"]] == [
        ("alert:9001", "Alert: SPY", "SPY rose above 600.00 (600.25)."),
        (
            "rejected:1:502",
            "Order rejected: XLF",
            "Buy to Open 200 XLF, Limit 99.50 · account T1: Insufficient buying power",
        ),
        (
            "fill:1:501:501:80",
            "Partial fill: XLF",
            "Buy to Open 80 XLF @ 99.50 (80 of 200) · account T1",
        ),
    ]
    assert raised["permission"] == "default" and raised["desktop"] == []  # never asked
    assert page.evaluate("() => window.__permissionAsked") == 0
    page.wait_for_function("() => window.streamdesk.notifications().beeps === 3")
    assert {"alert:9001", "rejected:1:502", "fill:1:501:501:80"} <= set(page.evaluate(CLAIMED))
    # a replayed frame adds nothing (the next alert, sent after it, is the barrier)
    fake.send(
        account_frame("order", "E1", 7, "T1", 1, rejected, now),
        {**alert_frame, "seq": 9, "alert": {**trigger, "id": 9002}},
    )
    expect(page.locator("#notify-count")).to_have_text("4")
    keys = [h["key"] for h in page.evaluate(RAISED)["history"]]
    assert keys == ["alert:9002", "alert:9001", "rejected:1:502", "fill:1:501:501:80"]
    page.click("#notify-bell")
    with page.expect_response("**/api/notifications/settings") as saved:
        page.locator("#notify-settings input[name=sound]").uncheck()
    assert saved.value.json()["sound"] is False
    assert page.errors == []  # type: ignore[attr-defined]
