"""Tabs of one browser share one connection (docs/streaming-contract.md "One connection per
browser"), in a real Chromium against daphne + the sandbox: four tabs of one user (the
dashboard, a chain, a chart, the market page) hold exactly one WebSocket (counted by the
server's /metrics and by Playwright), all stay live with the same quotes and account
frames, each tab's own symbols stream; closing the leader at a fill hands over without
losing or duplicating an account frame and without a full resync; a crashed follower
leaves the leader's members and symbol union; another browser
context gets its own socket; a logout ends every tab of the browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, WebSocket, expect
from playwright.sync_api import Error as PlaywrightError

from sandbox.server import SandboxServer
from streaming.portfolio.page import PAGE_SNAPSHOT_WAIT
from tests.browser.test_dashboard import log_in, tastytrade_account
from tests.support.live import LiveApp
from tests.support.orders import market_buy
from tests.support.wait import poll_until

TOKEN = "shared-tabs-metrics-token"
STATE = "() => window.streamdesk.state()"
#: A follower's snapshot read (io/sharing.js): the server waits for the stream up to
#: PAGE_SNAPSHOT_WAIT, a failed read is tried again 2 s later; plus a loaded box's margin.
SNAPSHOT_READ_S = PAGE_SNAPSHOT_WAIT + 2.0 + 10.0
SOCKETS_RE = re.compile(r'^streamdesk_streams_open\{transport="ws"\} ([0-9.e+]+)$', re.M)


@pytest.fixture(scope="module")
def shared_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        browser_sandbox.url, tmp_path_factory.mktemp("shared-tabs"), METRICS_TOKEN=TOKEN
    ).start()
    yield app
    app.stop()


def server_sockets(app: LiveApp) -> int:
    """WebSockets the server holds open now (its own gauge)."""
    text = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).text
    match = SOCKETS_RE.search(text)
    return int(float(match.group(1))) if match else 0


class Tab:
    """A page of the context with the /ws/stream/ sockets it opened."""

    def __init__(self, context: BrowserContext) -> None:
        self.page = context.new_page()
        self.sockets: list[WebSocket] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "websocket", lambda ws: self.sockets.append(ws) if "/ws/stream/" in ws.url else None
        )

    def open_sockets(self) -> int:
        return sum(1 for ws in self.sockets if not ws.is_closed())

    def state(self) -> dict:
        return self.page.evaluate(STATE)

    def live(self) -> None:
        expect(self.page.locator("#conn-state")).to_have_attribute(
            "data-state", "live", timeout=15_000
        )


def fill_keys(tab: Tab, link: str, order_id: str) -> list[str]:
    prefix = f"fill:{link}:{order_id}:"
    history = tab.page.evaluate("() => window.streamdesk.notifications().history")
    return [n["key"] for n in history if n["key"].startswith(prefix)]


def filled(tab: Tab, link: str, order_id: str) -> bool:
    orders = [o for o in tab.state()["orders"] if o["_key"] == f"{link}:{order_id}"]
    return len(orders) == 1 and orders[0]["status"] == "Filled"


def test_four_tabs_share_one_socket_and_hand_over_without_losing_a_fill(
    browser: Browser, shared_app: LiveApp, browser_sandbox: SandboxServer
):
    control = browser_sandbox.control()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        assert server_sockets(shared_app) == 0
        first = Tab(context)
        log_in(first.page, shared_app.url)
        first.live()
        account = tastytrade_account(first.page)
        link = first.page.locator(f'[data-account="{account}"]').get_attribute("data-account-link")
        chain, chart, market = Tab(context), Tab(context), Tab(context)
        chain.page.goto(f"{shared_app.url}/chain/DIA?strikes=10")
        chart.page.goto(f"{shared_app.url}/chart/KO?tf=1m")
        market.page.goto(f"{shared_app.url}/market")
        tabs = [first, chain, chart, market]
        for tab in tabs:
            tab.live()

        # one socket: the first tab's; the others follow it
        assert [t.state()["share"]["role"] for t in tabs] == ["leader"] + ["follower"] * 3
        assert [len(t.sockets) for t in tabs] == [1, 0, 0, 0]
        assert poll_until(lambda: server_sockets(shared_app) == 1, what="one socket")
        assert sorted(first.state()["share"]["members"]) == sorted(
            t.state()["share"]["tab"] for t in tabs[1:]
        )

        # each tab's own symbols stream through the leader's socket
        options = chain.page.evaluate("() => window.streamdesk.chain()")
        assert len(options) >= 10
        poll_until(
            lambda: all(sym in first.state()["subscriptions"] for sym in [*options, "KO"]),
            what="the leader's socket subscribed every tab's symbols",
        )
        poll_until(lambda: "KO" in chart.state()["quotes"], what="the chart's symbol quoted")
        poll_until(
            lambda: any(sym in chain.state()["quotes"] for sym in options),
            what="the chain's options quoted",
        )
        # the chart's symbol, and (once its chain is read) the call and put at the money its
        # expected-move band reads the IV of: one expiration, one strike
        chart_symbol = poll_until(
            lambda: (
                len(s := chart.page.evaluate("() => window.streamdesk.state().extraSymbols")) == 3
                and s
            ),
            what="the chart's symbol and its band's two options",
        )
        assert chart_symbol[0] == "KO", chart_symbol
        band = [re.match(r"^\.KO(\d{6})([CP])([\d.]+)$", s) for s in chart_symbol[1:]]
        assert all(band) and {m.group(2) for m in band if m} == {"C", "P"}, chart_symbol
        assert len({(m.group(1), m.group(3)) for m in band if m}) == 1, chart_symbol
        assert chain.page.locator("#messages").inner_text() == ""  # no rejection of others'

        # the same quotes everywhere once the market stands still
        control.configure(tick_rate=0)
        control.set_price("SPY", 612.34)

        def same_quotes() -> bool:
            quotes = [t.state()["quotes"] for t in tabs]
            spy = [q.get("SPY", {}).get("last") for q in quotes]
            common = set.intersection(*(set(q) for q in quotes))
            return spy == [612.34] * 4 and all(
                {s: q[s] for s in common} == {s: quotes[0][s] for s in common} for q in quotes
            )

        poll_until(same_quotes, what="every tab's quotes the same")

        # a follower that sees a gap reads a snapshot over HTTP; it opens no socket
        held = market.state()
        market.page.evaluate(
            "([epoch, seq]) => window.streamdesk.applyFrame({type: 'balance', epoch, seq,"
            " account: 'X', link: 0, balance: {}})",
            [held["epoch"], held["seq"] + 5],
        )
        poll_until(
            lambda: (
                market.state()["snapshots"] == held["snapshots"] + 1
                and not market.state()["awaitingSnapshot"]
            ),
            within=SNAPSHOT_READ_S,
            what=f"the follower's snapshot (it held {held['snapshots']})",
        )
        poll_until(lambda: market.state()["position"] == first.state()["position"], what="in step")
        assert len(market.sockets) == 0 and server_sockets(shared_app) == 1

        # a fill appears in all four, once each
        order1 = str(control.place_order(account, market_buy("MSFT", 1))["order"]["id"])
        control.step()
        for tab in tabs:
            poll_until(lambda tab=tab: filled(tab, link, order1), what=f"fill in {tab.page.url}")
            poll_until(lambda tab=tab: len(fill_keys(tab, link, order1)) == 1, what="toast")
        # the frames after the fill (balance, positions) reach each tab in its own moment
        poll_until(lambda: len({t.state()["position"] for t in tabs}) == 1, what="in step")

        # the leader closes at a fill; another fill comes during the handover
        before = {id(t): t.state()["snapshots"] for t in tabs[1:]}
        order2 = str(control.place_order(account, market_buy("MSFT", 2))["order"]["id"])
        control.step()
        first.page.close()
        order3 = str(control.place_order(account, market_buy("AAPL", 3))["order"]["id"])
        control.step()
        rest = tabs[1:]
        leader = poll_until(
            lambda: next((t for t in rest if t.state()["share"]["role"] == "leader"), None),
            what="a new leader",
        )
        leader.live()
        for tab in rest:
            for order in (order2, order3):
                poll_until(lambda tab=tab, order=order: filled(tab, link, order), what="fill")
                poll_until(lambda tab=tab, order=order: fill_keys(tab, link, order), what="toast")
        for tab in rest:
            state = tab.state()
            assert state["snapshots"] == before[id(tab)], "a full resync instead of a resume"
            assert len(fill_keys(tab, link, order2)) == 1
            assert len(fill_keys(tab, link, order3)) == 1
            assert [o["_key"] for o in state["orders"]].count(f"{link}:{order2}") == 1
            assert state["connection"] == "live"
        poll_until(lambda: len({t.state()["position"] for t in rest}) == 1, what="in step")
        assert "since=" in leader.state()["socketUrl"]
        assert sum(t.open_sockets() for t in rest) == 1
        assert poll_until(lambda: server_sockets(shared_app) == 1, what="one socket again")
        assert sorted(leader.state()["share"]["members"]) == sorted(
            t.state()["share"]["tab"] for t in rest if t is not leader
        )

        # a follower that crashes (no pagehide, no message) leaves: its own lock went with it
        crashed = next(t for t in rest if t is not leader)
        crashed_id = crashed.state()["share"]["tab"]
        rest = [t for t in rest if t is not crashed]
        # Chromium's debug URL crashes the renderer where it runs: no navigation, no pagehide
        with suppress(PlaywrightError):
            crashed.page.goto("chrome://crash", timeout=5_000)
        poll_until(
            lambda: crashed_id not in leader.state()["share"]["members"],
            what="the crashed tab dropped",
        )
        assert sorted(leader.state()["share"]["members"]) == sorted(
            t.state()["share"]["tab"] for t in rest if t is not leader
        )
        assert set(leader.state()["share"]["union"]) == {
            sym for t in rest for sym in t.state()["extraSymbols"]
        }

        # another browser: its own socket
        elsewhere = Tab(other)
        log_in(elsewhere.page, shared_app.url)
        elsewhere.live()
        assert elsewhere.state()["share"]["role"] == "leader"
        assert poll_until(lambda: server_sockets(shared_app) == 2, what="two browsers")
        assert [t.errors for t in [*tabs, elsewhere] if t is not crashed] == [[]] * 4

        # logging out in one tab ends the leader's socket (4401): every other tab goes to log in
        follower = next(t for t in rest if t is not leader)
        follower.page.locator("form.logout button").click()
        for tab in rest:
            if tab is not follower:  # that one shows Django's "logged out" page
                expect(tab.page).to_have_url(re.compile(r".*/login/\?next=.*"), timeout=15_000)
        elsewhere.live()  # the other browser's session goes on
    finally:
        control.configure(tick_rate=4)
        control.close()
        other.close()
        context.close()
