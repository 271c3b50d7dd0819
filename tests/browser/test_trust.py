"""Trust under faults, in a real browser: the page follows docs/streaming-contract.md when
the stream misbehaves. The stream is played by the test (tests/browser/fake_stream.py);
the page, its scripts and styles are the real ones, logged in against the live app."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.fake_stream import (
    FakeStream,
    account,
    account_frame,
    balance,
    link,
    log_in,
    open_desk,
    position,
    quote,
    snapshot,
    wait_until,
)

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts"))


def since_of(url: str) -> str | None:
    values = parse_qs(urlparse(url).query).get("since")
    return values[0] if values else None


def net_liq(page: Page, number: str):
    return page.locator(f'[data-account="{number}"] [data-field=net_liquidating_value]')


# ---------------------------------------------------------------- 1. positions are epoch:seq


def test_positions_are_epoch_and_seq(page: Page, browser_app):
    """The first socket resumes from the page's embedded `<epoch>:<seq>`; frames of the
    snapshot's epoch apply in seq order (a duplicate is ignored); a frame of another epoch
    is not applied and the page reconnects without a position for a fresh snapshot; a
    later resume sends `since=<epoch>:<seq>` and `resumed` (with its epoch) replays."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    first = fake.socket(1)
    embedded = json.loads(page.locator("#snapshot").text_content())
    assert embedded["epoch"], "the page embeds its snapshot's epoch"
    assert since_of(first.url) == f"{embedded['epoch']}:{embedded['seq']}"
    assert page.locator("#dashboard").get_attribute("data-position") == (
        f"{embedded['epoch']}:{embedded['seq']}"
    )

    now = fake.now_ms()
    links = [link(1, now)]
    fake.go_live(
        snapshot(now, epoch="E1", seq=5, accounts=[account("T1", 1, 100.0)], links=links), n=1
    )
    expect(net_liq(page, "T1")).to_have_text("100.00")
    expect(page.locator("#dashboard")).to_have_attribute("data-position", "E1:5")

    fake.send(account_frame("balance", "E1", 6, "T1", 1, balance(101.0), now))
    expect(net_liq(page, "T1")).to_have_text("101.00")
    fake.send(account_frame("balance", "E1", 6, "T1", 1, balance(999.0), now))  # duplicate
    fake.send(account_frame("balance", "E1", 7, "T1", 1, balance(102.0), now))
    expect(net_liq(page, "T1")).to_have_text("102.00")
    assert fake.state()["position"] == "E1:7"

    # Another epoch: not applied; a fresh snapshot (no position) on a new socket.
    fake.send(account_frame("balance", "E2", 1, "T1", 1, balance(555.0), now))
    second = fake.socket(2)
    assert since_of(second.url) is None
    expect(net_liq(page, "T1")).to_have_text("102.00")
    fake.go_live(
        snapshot(now, epoch="E2", seq=1, accounts=[account("T1", 1, 200.0)], links=links), n=2
    )
    expect(net_liq(page, "T1")).to_have_text("200.00")
    expect(page.locator("#dashboard")).to_have_attribute("data-position", "E2:1")

    # A resume: since=E2:1, `resumed` of that epoch, then the missed frame.
    fake.close(4408)
    third = fake.socket(3)
    assert since_of(third.url) == "E2:1"
    fake.send(
        {"type": "hello", "user": "demo", "epoch": "E2", "seq": 2, "server_time": now},
        {"type": "resumed", "epoch": "E2", "from": 1, "count": 1},
        account_frame("balance", "E2", 2, "T1", 1, balance(201.0), now),
        ws=third,
    )
    expect(net_liq(page, "T1")).to_have_text("201.00")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")
    assert fake.state()["position"] == "E2:2"

    # A `resumed` of another epoch than ours cannot be: take a fresh snapshot.
    fake.close(1012, ws=third)
    fourth = fake.socket(4)
    assert since_of(fourth.url) == "E2:2"
    fake.send(
        {"type": "hello", "user": "demo", "epoch": "E3", "seq": 0, "server_time": now},
        {"type": "resumed", "epoch": "E3", "from": 2, "count": 0},
        ws=fourth,
    )
    fifth = fake.socket(5)
    assert since_of(fifth.url) is None
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "resumes", "at_once"),
    [(4408, True, True), (1012, True, True), (4409, False, True), (4503, True, False)],
)
def test_close_codes(page: Page, browser_app, code: int, resumes: bool, at_once: bool):
    """4408 and 1012 reconnect at once with the position, 4409 at once without it (a
    fresh snapshot), 4503 after a backoff delay, with the position."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    fake.go_live(snapshot(now, epoch="Ab3", seq=42, links=[link(1, now)]), n=1)
    fake.close(code)
    second = fake.socket(2)
    assert since_of(second.url) == ("Ab3:42" if resumes else None)
    retry = fake.state()["lastRetry"]
    assert retry["code"] == code
    if at_once:
        assert retry["delay"] == 0
    else:
        assert retry["delay"] >= 350  # 0.5 s ± 30 %: never at once
        assert fake.opened_at[1] - fake.closed_at[0] >= 0.3
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "reconnecting")
    fake.go_live(snapshot(now, epoch="Ab3", seq=42, links=[link(1, now)]), n=2)


def test_close_4401_goes_to_login(page: Page, browser_app):
    """4401 (not logged in, or the session ended): to the login page, no retry."""
    fake = open_desk(page, browser_app.url, snapshot(0, links=[]))
    fake.close(4401)
    page.wait_for_url(re.compile(r"/login/\?next=%2F"))
    assert len(fake.sockets) == 1


# ---------------------------------------------------------------- 2. orders: the whole state


def order(order_id: str, status: str, fills: list[tuple[str, float, float]], qty: float = 3):
    filled = sum(f[1] for f in fills)
    return {
        "id": order_id,
        "status": status,
        "order_type": "Limit",
        "time_in_force": "Day",
        "price": 10.0,
        "price_effect": "Debit",
        "underlying": "SPY",
        "legs": [
            {
                "symbol": "SPY",
                "instrument_type": "Equity",
                "action": "Buy to Open",
                "quantity": qty,
                "remaining_quantity": qty - filled,
                "fills": [
                    {"id": fid, "quantity": q, "price": p, "at": None} for fid, q, p in fills
                ],
            }
        ],
        "updated_at": None,
    }


def test_order_frames_replace_the_order(page: Page, browser_app):
    """An order frame is the order's whole state: the stored order keyed (link, id) is
    replaced (fill lists are never merged), so a frame applied twice or a fill list the
    broker rewrote never shows a fill twice; the same id on another link is another order."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    snap_order = {**order("77", "Live", [("77:1", 1, 10.0)]), "link": 1, "account": "T1"}
    fake.go_live(
        snapshot(
            now,
            seq=10,
            accounts=[account("T1", 1), account("A9", 2)],
            links=[link(1, now), link(2, now, broker="alpaca", quotes="idle")],
            orders=[snap_order],
        ),
        n=1,
    )
    mine = page.locator('#orders > li[data-order="1:77"]')
    expect(mine.locator("[data-fill]")).to_have_count(1)

    fake.send(
        account_frame(
            "order",
            "E1",
            11,
            "T1",
            1,
            order("77", "Partially Filled", [("77:1", 1, 10.0), ("77:2", 1, 10.1)]),
            now,
        )
    )
    expect(mine.locator("[data-fill]")).to_have_count(2)
    expect(mine).to_have_attribute("data-status", "Partially Filled")
    # the broker's whole state now lists one fill of 2 (a corrected execution): replaced
    fake.send(
        account_frame(
            "order", "E1", 12, "T1", 1, order("77", "Filled", [("77:2", 2, 10.05)], qty=2), now
        )
    )
    expect(mine).to_have_attribute("data-status", "Filled")
    expect(mine.locator("[data-fill]")).to_have_count(1)
    expect(mine.locator('[data-fill="77:2"]')).to_contain_text("filled 2 @ 10.05")
    # the same frame again (a replay): nothing changes
    fake.send(
        account_frame(
            "order", "E1", 12, "T1", 1, order("77", "Filled", [("77:2", 2, 10.05)], qty=2), now
        )
    )
    # the same broker id on another link is another order
    fake.send(account_frame("order", "E1", 13, "A9", 2, order("77", "Live", []), now))
    expect(page.locator('#orders > li[data-order="2:77"]')).to_have_attribute("data-status", "Live")
    expect(mine.locator("[data-fill]")).to_have_count(1)
    orders = [o for o in fake.state()["orders"] if o["id"] == "77"]
    assert len(orders) == 2
    assert [f["id"] for o in orders for leg in o["legs"] for f in leg["fills"]] == ["77:2"]


# ---------------------------------------------------------------- 3. the watchlist is the user's


def test_watchlist_is_the_users(page: Page, browser_app):
    """The snapshot's `watchlist {symbols, version}` is shown; a `watchlist` frame replaces
    it only when newer; edits POST `{"add": […]}` / `{"remove": […]}` with the CSRF token,
    and the tab sends no subscribe of its own for the watchlist (now or after a reconnect)."""
    posts: list[dict] = []
    server_list = {"symbols": ["SPY", "AAPL"], "version": 4}

    def watchlist_api(route: Route) -> None:
        request = route.request
        body = json.loads(request.post_data or "{}")
        posts.append({"body": body, "csrf": request.headers.get("x-csrftoken", "")})
        symbols = list(server_list["symbols"])
        for s in body.get("add", []):
            if s not in symbols:
                symbols.append(s)
        symbols = [s for s in symbols if s not in body.get("remove", [])]
        server_list.update(symbols=symbols, version=server_list["version"] + 1)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(server_list))

    page.route(re.compile(r".*/watchlist$"), watchlist_api)
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    fake.go_live(snapshot(now, links=[link(1, now)], watchlist=["SPY", "QQQ"], version=3), n=1)
    rows = page.locator("#watchlist-rows tr[data-quote]")
    expect(rows).to_have_count(2)

    fake.send({"type": "watchlist", "symbols": ["OLD"], "version": 2})  # older: ignored
    fake.send({"type": "watchlist", "symbols": ["SPY", "AAPL"], "version": 4})
    expect(page.locator('tr[data-quote="AAPL"]')).to_be_visible()
    expect(page.locator('tr[data-quote="QQQ"]')).to_have_count(0)
    expect(page.locator('tr[data-quote="OLD"]')).to_have_count(0)

    page.fill('#watchlist-form input[name="symbol"]', "amd")
    page.press('#watchlist-form input[name="symbol"]', "Enter")
    expect(page.locator('tr[data-quote="AMD"]')).to_be_visible()
    page.click('[data-remove="SPY"]')
    expect(page.locator('tr[data-quote="SPY"]')).to_have_count(0)
    assert [p["body"] for p in posts] == [{"add": ["AMD"]}, {"remove": ["SPY"]}]
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    form_token = page.locator('#watchlist-form input[name="csrfmiddlewaretoken"]').input_value()
    assert all(p["csrf"] in (cookie, form_token) and p["csrf"] for p in posts)
    # the answer is version 6; the same list arriving as a frame changes nothing
    fake.send({"type": "watchlist", "symbols": ["AAPL", "AMD"], "version": 6})
    expect(rows).to_have_count(2)

    fake.close(1012)
    fake.go_live(snapshot(now, links=[link(1, now)], watchlist=["AAPL", "AMD"], version=6), n=2)
    # the only symbols the tab subscribes are its own: the market strip's list (the page
    # names it), once per socket; the watchlist never (the owner streams it for the user)
    strip = page.evaluate("JSON.parse(document.getElementById('overview-symbols').textContent)")
    assert strip == ["SPY", "QQQ", "IWM", "DIA", "VIX", "GLD", "TLT", "EEM", "XLF", "XLE"]
    own = {"type": "subscribe", "symbols": strip}
    for socket in fake.received:
        assert [m for m in socket if m.get("type") in ("subscribe", "unsubscribe")] == [own]
    assert fake.state()["watchlist"] == {"symbols": ["AAPL", "AMD"], "version": 6}

    # symbols the tab shows beyond the user's (e.g. a chain) are its own: sent, and re-sent
    # on the next socket with the strip's
    page.evaluate("window.streamdesk.subscribe(['SPY   260918C00590000'])")
    chain = {"type": "subscribe", "symbols": [".SPY260918C590"]}
    wait_until(page, lambda: chain in fake.received[1], "the tab's subscribe")
    fake.close(1012)
    fake.go_live(snapshot(now, links=[link(1, now)], watchlist=["AAPL", "AMD"], version=6), n=3)
    resent = {"type": "subscribe", "symbols": [*strip, ".SPY260918C590"]}
    wait_until(page, lambda: resent in fake.received[2], "the subscribe on the new socket")
    assert [m for m in fake.received[2] if m.get("type") == "subscribe"] == [resent]


# ---------------------------------------------------------------- 4. per-kind link chips, DELAYED


def test_link_chips_per_kind_and_delayed(page: Page, browser_app):
    """Each link chip carries data-quotes-state / data-account-state and shows each kind in
    use (an idle one is not shown); a delayed link has a DELAYED badge, and so has every
    value fed by it (a quote with `delayed: true`, a position valued from it)."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    links = [
        link(1, now, quotes="idle", account="stale", quote_source=False),
        link(2, now, broker="tradier", quotes="live", account="live", delayed=True),
    ]
    quotes = {"SPY": quote(now - 1000, 500, 501, delayed=True), "QQQ": quote(now - 1000, 400, 401)}
    acct = account("T1", 2, positions=[position("SPY", 10, 490, 495)])
    fake.go_live(snapshot(now, links=links, accounts=[acct], quotes=quotes), n=1)

    one = page.locator('[data-link="1"]')
    expect(one).to_have_attribute("data-quotes-state", "idle")
    expect(one).to_have_attribute("data-account-state", "stale")
    expect(one.locator('[data-kind="account"]')).to_have_text("account stale")
    expect(one.locator('[data-kind="quotes"]')).to_be_hidden()
    expect(one.locator('[data-badge="delayed"]')).to_be_hidden()
    two = page.locator('[data-link="2"]')
    expect(two).to_have_attribute("data-quotes-state", "live")
    expect(two).to_have_attribute("data-account-state", "live")
    expect(two.locator('[data-kind="quotes"]')).to_have_text("quotes live")
    expect(two.locator('[data-kind="account"]')).to_have_text("account live")
    expect(two.locator('[data-badge="delayed"]')).to_have_text("DELAYED")
    expect(two).to_have_attribute("data-delayed", "true")

    spy = page.locator('tr[data-quote="SPY"]')
    expect(spy).to_have_attribute("data-delayed", "true")
    expect(spy.locator('[data-badge="delayed"]')).to_be_visible()
    expect(page.locator('tr[data-quote="QQQ"] [data-badge="delayed"]')).to_have_count(0)
    pos = page.locator('tr[data-position="T1|SPY"]')
    expect(pos.locator('[data-badge="delayed"]')).to_be_visible()
    expect(pos.locator("[data-field=mark]")).to_have_class(re.compile(r"\bis-delayed\b"))

    # a status frame moves one kind without the other
    fake.send(
        {"type": "status", "link": link(2, now, quotes="reconnecting", account="live"), "t": now}
    )
    expect(two).to_have_attribute("data-quotes-state", "reconnecting")
    expect(two).to_have_attribute("data-account-state", "live")
    expect(two).to_have_attribute("data-state", "reconnecting")
    expect(two.locator('[data-kind="quotes"]')).to_have_text("quotes reconnecting")
    expect(two.locator('[data-badge="delayed"]')).to_be_hidden()
    # a quote from a source that is no longer delayed loses the mark
    fake.send(
        {
            "type": "quotes",
            "quotes": {"SPY": {"bid": 502, "delayed": False, "t": now}},
            "greeks": {},
            "t": now,
        }
    )
    expect(spy).to_have_attribute("data-delayed", "false")
    expect(spy.locator('[data-badge="delayed"]')).to_be_hidden()


# ---------------------------------------------------------------- 5. staleness per value

#: hello's stale_after_ms.quotes as the fake stream sends it (fake_stream.hello's default).
STALE_QUOTES_MS = 10_000
#: The page re-checks values' ages this often without frames (static/js/stream/contract.js).
FRESHNESS_EVERY_MS = 1000
#: How long the checks made while a quote must still be fresh may take: a page going
#: live, a dozen expects and a frame's round trip, each ~0.1 s here; a loaded box has
#: been seen to take seconds over such a run. The quote is made this much younger than
#: the staleness age, and is then awaited crossing it within this plus the re-check.
FRESH_WINDOW_MS = 6_000


def test_quotes_go_stale_on_a_timer(page: Page, browser_app):
    """A quote that names no feed (the age rule) older than hello's stale_after_ms.quotes
    renders stale (class + a title with its age), and so do the position mark and P&L
    valued from it; the data pill is `stale` while a value in view is (the rows and the
    pill agree) — also when one crosses the age with no frame arriving (a timer re-checks)."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    spy_age = STALE_QUOTES_MS - FRESH_WINDOW_MS
    quotes = {"SPY": quote(now - spy_age, 500, 501), "QQQ": quote(now - 20_000, 400, 401)}
    acct = account("T1", 1, positions=[position("SPY", 10, 490, 495), position("QQQ", 5, 390, 395)])
    fake.go_live(snapshot(now, links=[link(1, now)], accounts=[acct], quotes=quotes), n=1)

    qqq = page.locator('tr[data-quote="QQQ"]')
    expect(qqq).to_have_attribute("data-stale", "true")
    expect(qqq).to_have_class(re.compile(r"\bis-stale\b"))
    expect(qqq).to_have_attribute("title", re.compile(r"quote 2\d s old"))
    for field in ("mark", "day_pnl", "open_pnl"):
        cell = page.locator(f'tr[data-position="T1|QQQ"] [data-field={field}]')
        expect(cell).to_have_class(re.compile(r"\bis-stale\b"))
        expect(cell).to_have_attribute("title", re.compile(r"quote 2\d s old"))
    expect(page.locator('[data-account="T1"] [data-field=total_open_pnl]')).to_have_class(
        re.compile(r"\bis-stale\b")
    )

    spy = page.locator('tr[data-quote="SPY"]')
    spy_mark = page.locator('tr[data-position="T1|SPY"] [data-field=mark]')
    pill = page.locator("#data-state")
    expect(spy).to_have_attribute("data-stale", "false")
    expect(spy_mark).not_to_have_class(re.compile(r"\bis-stale\b"))
    # the pill agrees with the rows: QQQ's row and position are stale, so is the data
    expect(pill).to_have_attribute("data-state", "stale")
    expect(pill).to_have_attribute("title", re.compile(r"2 values in view not live"))
    fresh = fake.now_ms()
    fake.send(
        {"type": "quotes", "quotes": {"QQQ": {"bid": 402, "t": fresh}}, "greeks": {}, "t": fresh}
    )
    expect(qqq).to_have_attribute("data-stale", "false")
    expect(pill).to_have_attribute("data-state", "fresh")
    expect(pill).to_have_text("fresh")
    # no frame from here on: SPY crosses 10 s and the timer marks it
    expect(spy).to_have_attribute(
        "data-stale", "true", timeout=FRESH_WINDOW_MS + 2 * FRESHNESS_EVERY_MS
    )
    expect(spy_mark).to_have_class(re.compile(r"\bis-stale\b"))
    expect(pill).to_have_attribute("data-state", "stale")
    expect(pill).to_have_text("stale")
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live")  # separate

    # a fresh quote makes it live again
    fresh = fake.now_ms()
    fake.send(
        {"type": "quotes", "quotes": {"SPY": {"bid": 502, "t": fresh}}, "greeks": {}, "t": fresh}
    )
    expect(spy).to_have_attribute("data-stale", "false")
    expect(spy_mark).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(pill).to_have_attribute("data-state", "fresh")


def test_account_data_not_live_is_as_of(page: Page, browser_app):
    """Balances and positions of an account whose link's `account` kind is not live render
    stale, "as of" the kind's last_ok; the data pill says stale; back to live clears it."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    quotes = {"SPY": quote(now, 500, 501)}
    acct = account("T1", 1, positions=[position("SPY", 10, 490, 495)])
    fake.go_live(snapshot(now, links=[link(1, now)], accounts=[acct], quotes=quotes), n=1)
    card = page.locator('[data-account="T1"]')
    nlv = card.locator("[data-field=net_liquidating_value]")
    expect(card).to_have_attribute("data-fresh", "true")
    expect(nlv).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.locator("#data-state")).to_have_attribute("data-state", "fresh")

    last_ok = now - 95_000
    # the page's times are New York's (the market's clock) unless the trader chose a zone
    as_of = dt.datetime.fromtimestamp(last_ok / 1000, ZoneInfo("America/New_York")).strftime(
        "%H:%M:%S"
    )
    stale_link = link(
        1, now, account="stale", account_last_ok=last_ok, account_reason="no heartbeat"
    )
    fake.send({"type": "status", "link": stale_link, "t": now})
    expect(card).to_have_attribute("data-fresh", "false")
    expect(card).to_have_attribute("data-account-state", "stale")
    warn = card.locator("[data-field=link_state]")
    expect(warn).to_be_visible()
    expect(warn).to_contain_text(f"as of {as_of}")
    for cell in (nlv, card.locator("[data-field=buying_power]")):
        expect(cell).to_have_class(re.compile(r"\bis-stale\b"))
        expect(cell).to_have_attribute("title", re.compile(f"as of {as_of}"))
    qty = page.locator('tr[data-position="T1|SPY"] [data-field=quantity]')
    expect(qty).to_have_class(re.compile(r"\bis-stale\b"))
    expect(page.locator('tr[data-position="T1|SPY"] [data-field=open_pnl]')).to_have_class(
        re.compile(r"\bis-stale\b")
    )
    expect(page.locator("#data-state")).to_have_attribute("data-state", "stale")

    fake.send({"type": "status", "link": link(1, fake.now_ms()), "t": now})
    expect(card).to_have_attribute("data-fresh", "true")
    expect(nlv).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(warn).to_be_hidden()


def test_data_age_counts_only_live_quotes(page: Page, browser_app):
    """The data age is the age of the newest quote that is not delayed: a newer delayed
    quote and account frames do not reset it; a delayed source makes the pill `delayed`."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    quotes = {"SPY": quote(now - 4_000, 500, 501)}
    fake.go_live(
        snapshot(now, links=[link(1, now)], accounts=[account("T1", 1)], quotes=quotes), n=1
    )
    age = page.locator("#data-age")

    def age_ms() -> int:
        return int(age.get_attribute("data-age-ms") or -1)

    expect(age).to_have_attribute("data-age-ms", re.compile(r"^\d{4,}$"))
    assert 4_000 <= age_ms() < 9_000
    t = fake.now_ms()
    fake.send(
        {
            "type": "quotes",
            "quotes": {"QQQ": quote(t, 400, 401, delayed=True)},
            "greeks": {},
            "t": t,
        }
    )
    fake.send(account_frame("balance", "E1", 6, "T1", 1, balance(123.0), t))
    expect(net_liq(page, "T1")).to_have_text("123.00")
    expect(page.locator('tr[data-quote="QQQ"]')).to_have_attribute("data-delayed", "true")
    assert age_ms() >= 4_000, "neither a delayed quote nor an account frame resets the age"
    assert fake.state()["newestQuoteT"] == now - 4_000

    # the quote source's market data is delayed: the pill says so (not fresh)
    fake.send({"type": "status", "link": link(1, t, delayed=True), "t": t})
    pill = page.locator("#data-state")
    expect(pill).to_have_attribute("data-state", "delayed")
    expect(pill).to_have_text("delayed")
    t = fake.now_ms()
    fake.send({"type": "quotes", "quotes": {"SPY": {"bid": 502, "t": t}}, "greeks": {}, "t": t})
    expect(age).to_have_attribute("data-age-ms", re.compile(r"^\d{1,3}$|^[1-2]\d{3}$"))


# ---------------------------------------------------------------- 6. 375 px


def busy_desk(now: int) -> dict:
    links = [
        link(1, now, label="tastytrade sandbox (SIMULATED)", account="stale"),
        link(2, now, broker="tradier", label="Tradier sandbox (SIMULATED)", delayed=True),
        link(3, now, broker="alpaca", label="Alpaca paper (SIMULATED)", quotes="idle"),
    ]
    symbols = ["SPY", "QQQ", "BRK/B", "/ESZ26", ".SPY260918C590", "GOOGL", "NVDA"]
    quotes = {s: quote(now, 12345.67, 12346.89, volume=123456789) for s in symbols}
    quotes["QQQ"] = quote(now - 60_000, 401.25, 401.5)
    quotes["NVDA"] = quote(now, 1234.5, 1234.75, delayed=True)
    positions = [position(s, 100, 12000.5, 12100.25) for s in ("SPY", "QQQ", "NVDA")]
    accounts = [account("5WT00001", 1, 1_234_567.89, positions), account("VA000002", 2, 9_876.5)]
    return snapshot(now, links=links, accounts=accounts, quotes=quotes, watchlist=symbols)


def test_layout_at_375px(browser: Browser, browser_app):
    """At a 375 px viewport nothing is wider than the screen, the sticky top bar is at most
    64 px tall (and sticks), the link chips wrap, and no watchlist column is cut."""
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        fake = FakeStream(page)
        log_in(page, browser_app.url)
        fake.go_live(busy_desk(fake.now_ms()), n=1)
        page.evaluate("window.streamdesk.flush()")
        expect(page.locator('[data-link="2"] [data-badge="delayed"]')).to_be_visible()
        # a phone shows one of positions / watchlist / orders (tests/browser/test_phone.py)
        page.click('[data-switch="view"] [data-value="watchlist"]')
        expect(page.locator('tr[data-quote="NVDA"] [data-badge="delayed"]')).to_be_visible()
        # the pills reach their widest words
        fake.close(4503)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "reconnecting")
        page.evaluate("window.streamdesk.flush()")

        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        bar = page.locator("#status-bar")
        assert bar.evaluate("el => getComputedStyle(el).position") == "sticky"
        assert bar.bounding_box()["height"] <= 64
        page.mouse.wheel(0, 1500)
        wait_until(page, lambda: page.evaluate("window.scrollY") > 300, "the page to scroll")
        assert abs(bar.bounding_box()["y"]) < 1, "the status bar sticks to the top"
        page.evaluate("window.scrollTo(0, 0)")

        chips = page.locator("#links [data-link]")
        boxes = [chips.nth(i).bounding_box() for i in range(chips.count())]
        assert len({round(b["y"]) for b in boxes}) > 1, "chips wrap onto more lines"
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= 375 for b in boxes)

        wrap = page.locator(".watchlist .table-wrap")
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "no hidden columns"
        right = wrap.bounding_box()["x"] + wrap.bounding_box()["width"]
        heads = page.locator(".watchlist thead th")
        for i in range(heads.count()):
            box = heads.nth(i).bounding_box()
            if box and box["width"] > 0:
                assert box["x"] + box["width"] <= right + 0.5
        for field in ("bid", "ask", "change"):
            expect(page.locator(f'tr[data-quote="SPY"] [data-field={field}]')).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "trust-375.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


# ---------------------------------------------------------------- 7. greeks per share


def test_theta_and_vega_are_per_share(page: Page, browser_app):
    """Θ and Vega are labelled per share (what the brokers send), never per contract, in
    the server-rendered page and in accounts the script builds."""
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    expect(page.locator("th[data-col=theta]").first).to_be_attached()  # server-rendered
    now = fake.now_ms()
    fake.go_live(snapshot(now, links=[link(1, now)], accounts=[account("NEW1", 1)]), n=1)
    heads = page.locator("th[data-col=theta], th[data-col=vega]")
    expect(page.locator('[data-account="NEW1"] th[data-col=theta]')).to_have_count(1)
    assert heads.count() >= 2
    for i in range(heads.count()):
        head = heads.nth(i)
        expect(head).to_have_text(re.compile(r"^(Θ|Vega)/sh$"))
        expect(head).to_have_attribute("title", re.compile(r"per share"))
        assert "per contract" not in (head.get_attribute("title") or "")
