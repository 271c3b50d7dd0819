"""`GET /api/orders` and the CSV exports at a real daphne against the sandbox (the demo
user's six accounts at tastytrade, Tradier and Alpaca): pages that cross from the
stream's newest orders to the brokers' own history, per account and for all, exact
decimals, auth (session, API token, anonymous), bad input, another user's account, and a
broker whose history fails (docs/streaming-contract.md "Orders", "CSV exports")."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from streaming.order_list import ORDERS_KEPT, order_key
from tests.support.chains import chain_users
from tests.support.live import DEMO_USER, LiveApp
from tests.support.orders import market_buy
from tests.support.wait import poll_until

#: How long the stream may take to show what the sandbox did (its order step is 1 s,
#: Tradier is polled every 2 s; margin for a loaded box).
SEEN_WITHIN = 30.0
#: Quotes unchanged this long mean the market stands still (the flush is 0.15 s, a
#: sandbox tick at the test's rate 0.1 s; margin for a loaded box).
STILL_FOR = 1.5
#: A polling tab id: each snapshot read holds the user's stream 10 s (not restarted between reads).
TAB = "orders-e2e-tab"


def snapshot(client: httpx.Client) -> dict:
    response = client.get("/api/snapshot", params={"tab": TAB})
    assert response.status_code == 200
    return response.json()


def rows(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.fixture(scope="module")
def demo(live_app: LiveApp) -> httpx.Client:
    client = live_app.login(*DEMO_USER)
    client.timeout = httpx.Timeout(30)
    poll_until(
        lambda: len(snapshot(client)["accounts"]) == 6,
        within=SEEN_WITHIN,
        what="the demo user's six accounts in the stream",
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def accounts(demo) -> dict[str, list[str]]:
    """broker -> the demo user's account numbers there."""
    found: dict[str, list[str]] = {}
    for a in snapshot(demo)["accounts"]:
        found.setdefault(a["broker"], []).append(a["number"])
    return found


def test_anonymous_gets_403_json_and_bad_input_a_sentence(live_app, demo):
    with httpx.Client(base_url=live_app.url, timeout=10) as anonymous:
        for path in ("/api/orders", "/api/exports/orders.csv", "/api/exports/positions.csv"):
            response = anonymous.get(path)
            assert (response.status_code, response.json()["error"]) == (403, "not_authenticated")
    bad = {
        "/api/orders?status=open": (400, "status must be one of all, working, filled, ended"),
        "/api/orders?limit=500": (400, "limit must be a whole number from 1 to 200"),
        "/api/orders?before=yesterday": (400, "before must be a cursor"),
        "/api/orders?page=2": (400, "unknown parameter 'page'"),
        "/api/orders?account=5WT%3Bx": (400, "account must be one of your account numbers"),
        "/api/orders?account=NOPE123": (404, "No account NOPE123 is linked to you."),
        "/api/exports/trades.csv": (404, "No export 'trades'"),
        "/api/exports/orders.csv?tz=Mars/Olympus": (400, "unknown time zone 'Mars/Olympus'"),
        "/api/exports/fills.csv?since=1": (400, "unknown parameter 'since'"),
        "/api/exports/positions.csv?account=NOPE123": (404, "No account NOPE123 is linked to you."),
    }
    for path, (status, sentence) in bad.items():
        response = demo.get(path)
        assert response.status_code == status, path
        assert sentence in response.json()["error"], (path, response.json())


def test_another_users_account_is_404_both_ways(live_app, demo, accounts):
    other = chain_users(live_app, "tradier", 1, "ordx")[0]
    with httpx.Client(base_url=live_app.url, timeout=30) as client:
        client.cookies.set("sessionid", other["sessionid"])
        theirs = poll_until(
            lambda: [a["number"] for a in snapshot(client)["accounts"]],
            within=SEEN_WITHIN,
            what="the other user's accounts",
        )
        assert not set(theirs) & {n for ns in accounts.values() for n in ns}
        mine = accounts["tastytrade"][0]
        for path in (f"/api/orders?account={mine}", f"/api/exports/positions.csv?account={mine}"):
            response = client.get(path)
            assert response.status_code == 404
            assert response.json()["error"] == f"No account {mine} is linked to you."
        assert client.get(f"/api/orders?account={theirs[0]}").status_code == 200
    for path in (f"/api/orders?account={theirs[0]}", f"/api/exports/fills.csv?account={theirs[0]}"):
        response = demo.get(path)
        assert response.status_code == 404
        assert response.json() == {
            "error": f"No account {theirs[0]} is linked to you.",
            "code": "not_found",
            "message": f"No account {theirs[0]} is linked to you.",
        }


def test_pages_cross_from_the_stream_to_the_brokers_history(live_sandbox, demo, accounts):
    """56 filled orders at one Tradier account: the snapshot holds the newest 50 of the
    user's orders; walking pages of 7 lists all 56 exactly once, newest first, the 6 the
    stream no longer holds from Tradier's own history with the adapter's fill ids."""
    account = accounts["tradier"][0]
    control = live_sandbox.control()
    placed = {
        str(control.place_order(account, market_buy("F", 3))["order"]["id"]) for _ in range(56)
    }
    control.close()

    def all_filled_in_stream() -> bool:
        orders = [o for o in snapshot(demo)["orders"] if str(o["id"]) in placed]
        return len(orders) >= ORDERS_KEPT and all(o["status"] == "Filled" for o in orders)

    poll_until(
        all_filled_in_stream, within=SEEN_WITHIN * 2, what="the orders filled, in the stream"
    )
    held = {str(o["id"]): o for o in snapshot(demo)["orders"] if str(o["id"]) in placed}
    assert len(held) == ORDERS_KEPT  # the bound: the oldest 6 are not in the snapshot

    listed: list[dict] = []
    cursor = None
    for _ in range(20):
        params = {"account": account, "limit": "7", **({"before": cursor} if cursor else {})}
        page = demo.get("/api/orders", params=params).json()
        assert page["incomplete"] == [] and page["simulated"] is True
        listed += page["orders"]
        cursor = page["next"]
        if cursor is None:
            break
    assert cursor is None, "the pages end"
    ids = [str(o["id"]) for o in listed]
    assert len(ids) == len(set(ids)) and set(ids) == placed
    keys = [order_key(o) for o in listed]
    assert keys == sorted(keys, reverse=True), "newest first, no order twice"
    for o in listed:
        assert (o["account"], o["broker"], o["status"]) == (account, "tradier", "Filled")
        fills = [f for leg in o["legs"] for f in leg["fills"]]
        # one fill of 3, named as the Tradier adapter names it (`<order id>:<executed>`)
        assert [(f["id"], f["quantity"]) for f in fills] == [(f"{o['id']}:3", 3)], o
        if str(o["id"]) in held:  # the stream's copy is what the page lists
            assert {k: v for k, v in o.items() if k != "broker"} == held[str(o["id"])]
    # status filter: none of these is working or ended
    for status in ("working", "ended"):
        page = demo.get("/api/orders", params={"account": account, "status": status}).json()
        assert [o for o in page["orders"] if str(o["id"]) in placed] == []


def number_cells_equal(cell: str, value: Any) -> bool:
    """A CSV number cell is the JSON number's own spelling (never a float's expansion)."""
    if value is None:
        return cell == ""
    return cell == format(Decimal(str(value)), "f") and Decimal(cell) == Decimal(str(value))


def test_exports_per_account_and_all_with_the_brokers_decimals(live_sandbox, demo, accounts):
    tt = accounts["tastytrade"][0]
    control = live_sandbox.control()
    control.set_price("KO", 61.07)
    order_ids = {str(control.place_order(tt, market_buy("KO", q))["order"]["id"]) for q in (1, 2)}
    poll_until(
        lambda: (
            {str(o["id"]) for o in snapshot(demo)["orders"] if o["status"] == "Filled"} >= order_ids
        ),
        within=SEEN_WITHIN,
        what="the KO orders filled",
    )
    # orders and fills of one account: the same orders, legs and fills as /api/orders
    api = demo.get("/api/orders", params={"account": tt, "limit": "200"}).json()
    zone = "America/New_York"
    response = demo.get("/api/exports/orders.csv", params={"account": tt, "tz": zone})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    day = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="streamdesk-orders-{tt}-{day}.csv"'
    )
    table = rows(response)
    assert f"updated_at (ISO 8601, {zone})" in table[0]
    expected = [(str(o["id"]), i) for o in api["orders"] for i, _ in enumerate(o["legs"], start=1)]
    assert [(r["order_id"], int(r["leg"])) for r in table] == expected
    by_id = {str(o["id"]): o for o in api["orders"]}
    for r in table:
        o = by_id[r["order_id"]]
        leg = o["legs"][int(r["leg"]) - 1]
        assert (r["broker"], r["account"], r["status"]) == ("tastytrade", tt, o["status"])
        assert number_cells_equal(r["price"], o["price"])
        assert number_cells_equal(r["quantity"], leg["quantity"])
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[45]:00", r[f"updated_at (ISO 8601, {zone})"]
        )
    fills = rows(demo.get("/api/exports/fills.csv", params={"account": tt}))
    api_fills = [
        (str(o["id"]), f) for o in api["orders"] for leg in o["legs"] for f in leg["fills"]
    ]
    assert [(r["order_id"], r["fill_id"]) for r in fills] == [
        (i, str(f["id"])) for i, f in api_fills
    ]
    for r, (_, f) in zip(fills, api_fills, strict=True):
        assert number_cells_equal(r["price"], f["price"]) and number_cells_equal(
            r["quantity"], f["quantity"]
        )
    assert {r["order_id"] for r in fills} >= order_ids
    # no ?tz= and no zone chosen: New York's, the market's clock (it was UTC)
    assert "filled_at (ISO 8601, America/New_York)" in fills[0]
    # no ?tz=: the trader's own time zone (display preferences)
    token = demo.cookies.get("csrftoken") or ""
    put = demo.put(
        "/api/preferences", json={"time_zone": "Asia/Tokyo"}, headers={"X-CSRFToken": token}
    )
    assert put.status_code == 200, put.text
    try:
        tokyo = rows(demo.get("/api/exports/fills.csv", params={"account": tt}))
        assert "filled_at (ISO 8601, Asia/Tokyo)" in tokyo[0]
        assert tokyo[0]["filled_at (ISO 8601, Asia/Tokyo)"].endswith("+09:00")
    finally:
        demo.put(
            "/api/preferences",
            json={"time_zone": "America/New_York"},
            headers={"X-CSRFToken": token},
        )
    # all accounts: every account's rows, no more
    everything = rows(demo.get("/api/exports/orders.csv"))
    per_account = [
        r
        for n in sorted(n for numbers in accounts.values() for n in numbers)
        for r in rows(demo.get(f"/api/exports/orders.csv?account={n}"))
    ]
    assert sorted(map(tuple, (r.values() for r in everything))) == sorted(
        map(tuple, (r.values() for r in per_account))
    )


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def cents(value: Decimal) -> str:
    """Money as the exports write it: two decimals, half a cent away from zero."""
    return format(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f")


def test_positions_signed_with_exact_marks_and_pnl(live_sandbox, demo, accounts):
    """The market stands still: each row's mark is the dashboard's (the quote's mid, exact),
    its P&L the dashboard's formulas on the row's own cells in exact decimals, a short's
    quantity negative; all accounts = every account's rows."""
    control = live_sandbox.control()
    control.configure(tick_rate=0)
    try:
        last: dict = {"quotes": None, "since": 0.0}

        def quotes_still() -> dict | None:
            """The snapshot, once its quotes did not change for STILL_FOR s."""
            snap = snapshot(demo)
            if snap["quotes"] != last["quotes"]:
                last.update(quotes=snap["quotes"], since=time.monotonic())
                return None
            return snap if time.monotonic() - last["since"] >= STILL_FOR else None

        snap = poll_until(quotes_still, within=SEEN_WITHIN, what="a market standing still")
        everything = rows(demo.get("/api/exports/positions.csv"))
        per_account = [
            r
            for a in snap["accounts"]
            for r in rows(demo.get(f"/api/exports/positions.csv?account={a['number']}"))
        ]
        assert snapshot(demo)["quotes"] == snap["quotes"], "the market stood still meanwhile"
    finally:
        control.configure(tick_rate=10)
        control.close()
    held = {(a["number"], p["symbol"]): p for a in snap["accounts"] for p in a["positions"]}
    assert [(r["account"], r["symbol"]) for r in everything] == list(held)
    assert len(everything) >= 6
    for r in everything:
        p = held[(r["account"], r["symbol"])]
        sign = -1 if p["direction"] == "Short" else 1
        assert r["quantity"] == format(_d(p["quantity"]) * sign, "f")
        q = snap["quotes"][p["streamer_symbol"]]
        assert r["mark_source"] == "quote"
        assert r["mark"] == format((_d(q["bid"]) + _d(q["ask"])) / 2, "f")
        qty, mark, mult = _d(r["quantity"]), _d(r["mark"]), _d(r["multiplier"] or 1)
        assert r["open_pnl"] == cents((mark - _d(r["average_open_price"])) * qty * mult)
        if r["close_price"]:
            assert r["day_pnl"] == cents((mark - _d(r["close_price"])) * qty * mult)
        assert len(r["mark"].partition(".")[2]) <= 8, r["mark"]  # no float expansion
        for column in ("day_pnl", "open_pnl"):  # money: exactly two decimals, always
            assert re.fullmatch(r"-?\d+\.\d\d", r[column]) or r[column] == "", (column, r[column])
    assert any(r["quantity"].startswith("-") for r in everything), "a short position is negative"
    assert [tuple(r.values()) for r in per_account] == [tuple(r.values()) for r in everything]


def test_an_api_token_reads_orders_and_exports(live_app, live_sandbox, demo, accounts):
    """A read-only API token reads what the session reads: an order filled just now is on
    the token's page of that account's orders (the very page the session gets) and its
    fill in the token's fills file."""
    tt = accounts["tastytrade"][0]
    control = live_sandbox.control()
    try:
        placed = str(control.place_order(tt, market_buy("KO", 4))["order"]["id"])
    finally:
        control.close()
    poll_until(
        lambda: any(
            str(o["id"]) == placed and o["status"] == "Filled" for o in snapshot(demo)["orders"]
        ),
        within=SEEN_WITHIN,
        what="the order filled, in the stream",
    )
    session_page = demo.get("/api/orders", params={"account": tt}).json()
    page = demo.get("/settings/tokens")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    made = demo.post(
        "/settings/tokens",
        data={"name": "orders-e2e", "lifetime_days": "7", "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live_app.url}/settings/tokens"},
    )
    raw = re.search(
        r'id="new-token-value" class="token-value" readonly value="([^"]+)"', made.text
    )[1]
    with httpx.Client(base_url=live_app.url, timeout=30) as script:
        bearer = {"Authorization": f"Bearer {raw}"}
        listed = script.get("/api/orders", params={"account": tt}, headers=bearer)
        assert listed.status_code == 200, listed.text
        mine = [
            (o["account"], o["status"], [(leg["symbol"], leg["quantity"]) for leg in o["legs"]])
            for o in listed.json()["orders"]
            if str(o["id"]) == placed
        ]
        assert mine == [(tt, "Filled", [("KO", 4)])], listed.json()["orders"][:3]
        assert listed.json() == session_page, "the token reads the session's page"
        response = script.get("/api/exports/fills.csv", params={"account": tt}, headers=bearer)
        assert response.status_code == 200 and response.text.startswith("broker,account,")
        filled = [
            (r["account"], r["symbol"], Decimal(r["quantity"]))
            for r in rows(response)
            if r["order_id"] == placed
        ]
        assert filled == [(tt, "KO", 4)], response.text[:500]
        bad = script.get("/api/orders", headers={"Authorization": "Bearer sdt_nope"})
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")


def test_a_broker_whose_history_fails_is_named_and_the_export_refused(live_sandbox, demo, accounts):
    """Tradier's order list answers 503: a page below the stream's orders names the link
    with a sentence and goes on with the others; the account's export is refused (502)
    rather than served incomplete."""
    account = accounts["tradier"][1]
    control = live_sandbox.control()
    control.fault(
        "http_error",
        broker="tradier",
        status=503,
        count=None,
        path_prefix=f"/v1/accounts/{account}/orders",
    )
    try:
        page = demo.get("/api/orders", params={"before": "1:0:0"}).json()  # older than anything
        assert page["orders"] == [] and page["next"] is None
        assert [(i["broker"], i["label"]) for i in page["incomplete"]] == [
            ("tradier", "Tradier sandbox (SIMULATED)")
        ]
        assert (
            "the order history could not be read (broker error: HTTP 503"
            in page["incomplete"][0]["error"]
        )
        response = demo.get(f"/api/exports/orders.csv?account={account}")
        assert response.status_code == 502
        assert response.json()["error"].startswith(
            "The export would be incomplete: Tradier sandbox (SIMULATED): "
            "the order history could not be read"
        )
        other = demo.get(f"/api/exports/orders.csv?account={accounts['alpaca'][0]}")
        assert other.status_code == 200
    finally:
        control.clear_faults()
        control.close()
