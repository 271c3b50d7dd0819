"""Trading over real HTTP (a real daphne, the sandbox's three brokers): preview then
confirm at each broker, the order arriving over the stream as a working order, a resent
confirm answered with the same ticket, cancels, cancel-all and the kill switch, and every
refusal with its code (docs/streaming-contract.md "Trading").

Needs the adapters' `SupportsOrders` (streaming/brokers/*/orders.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from sandbox.server import SandboxServer
from streaming.api.errors import as_sentence
from tests.support.live import LiveApp, read_json
from tests.support.trading_http import (
    ORDERS_REST_FAR,
    WORKING,
    Trader,
    demo_python,
    enable_demo_trading,
)
from tests.support.wait import poll_until

BROKERS = ("tastytrade", "tradier", "alpaca")
#: A preview lives this long here (s): long enough for a confirm right after it on a
#: loaded box, short enough to wait out.
PREVIEW_TTL = 4


@pytest.fixture(scope="module")
def live_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        live_sandbox.url,
        tmp_path_factory.mktemp("trading"),
        TRADING_PREVIEW_TTL=str(PREVIEW_TTL),
        # this module places more orders a minute than a trader's limits let through; the
        # limits themselves: tests/streaming/test_trading_tickets.py
        TRADING_RATE_PER_MINUTE="1000",
        TRADING_MAX_ORDERS_PER_MINUTE="1000",
        **ORDERS_REST_FAR,
    ).start()
    enable_demo_trading(app)
    yield app
    app.stop()


@pytest.fixture(scope="module")
def trader(live_app: LiveApp) -> Iterator[Trader]:
    trader = Trader(live_app)
    yield trader
    trader.client.close()


@pytest.fixture(scope="module")
def accounts(trader: Trader) -> dict[str, dict]:
    found = trader.accounts()
    assert set(found) >= set(BROKERS), found.keys()
    return found


@pytest.mark.parametrize("broker", BROKERS)
def test_preview_confirm_and_the_order_works_at_the_broker(trader, accounts, broker):
    account = accounts[broker]
    preview = trader.preview(trader.order(account))
    assert preview.status_code == 200, preview.text
    shown = preview.json()["preview"]
    assert shown["words"].startswith("Buy 1 AAPL at 1.00 limit, day")
    assert (shown["broker"], shown["account"], shown["simulated"]) == (
        broker,
        account["number"],
        True,
    )
    key = uuid.uuid4().hex
    confirmed = trader.confirm(shown["id"], key)
    assert confirmed.status_code == 201, confirmed.text
    ticket = confirmed.json()["ticket"]
    assert (ticket["id"], ticket["state"]) == (shown["id"], "placed")
    assert trader.wait_status(account["number"], ticket["order_id"], WORKING) in WORKING
    # sent again: the same ticket, nothing new
    again = trader.confirm(shown["id"], key)
    assert (again.status_code, again.json()["ticket"]) == (200, ticket)
    read = trader.client.get(f"/api/orders/tickets/{ticket['id']}")
    assert read.json()["ticket"] == ticket
    # and cancelled
    cancel = trader.client.delete(
        f"/api/orders/{ticket['order_id']}",
        params={"link": account["link"], "account": account["number"]},
        headers=trader.headers(),
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["cancel"]["order_id"] == ticket["order_id"]
    trader.wait_status(account["number"], ticket["order_id"], frozenset({"Cancelled"}))


def test_another_key_is_already_confirmed(trader, accounts):
    preview = trader.preview(trader.order(accounts["tastytrade"])).json()["preview"]
    assert trader.confirm(preview["id"]).status_code == 201
    other = trader.confirm(preview["id"])
    assert (other.status_code, other.json()["code"]) == (409, "already_confirmed")


def test_an_expired_preview_is_refused(trader, accounts):
    preview = trader.preview(trader.order(accounts["tradier"])).json()["preview"]
    poll_until(
        lambda: time.time() * 1000 > preview["expires_at"],
        within=PREVIEW_TTL + 5,
        what="the preview's expiry",
    )
    answer = trader.confirm(preview["id"])
    assert (answer.status_code, answer.json()["code"]) == (409, "preview_expired")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        (
            {"legs": [{"symbol": "AAPL", "action": "Buy to Open", "quantity": 0}]},
            400,
            "bad_quantity",
        ),
        ({"price": "1.005"}, 400, "bad_price"),
        ({"order_type": "Market"}, 400, "bad_price"),
        (
            {"legs": [{"symbol": "AA PL!", "action": "Buy to Open", "quantity": 1}]},
            400,
            "unknown_symbol",
        ),
        ({"time_in_force": "GTD"}, 400, "bad_order"),
        ({"time_in_force": "IOC"}, 400, "unsupported"),  # Alpaca's stock: Day or GTC
        ({"colour": "red"}, 400, "bad_body"),
        ({"account": "NOT-MINE"}, 404, "not_found"),
    ],
)
def test_bad_input_is_refused_with_its_code(trader, accounts, changes, status, code):
    answer = trader.preview(trader.order(accounts["alpaca"], **changes))
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.json()["error"].endswith(".")


def test_what_a_broker_does_not_take_is_unsupported(trader, accounts):
    spread = [
        {"symbol": ".SPY270115C590", "action": "Buy to Open", "quantity": 1},
        {"symbol": ".SPY270115C600", "action": "Sell to Open", "quantity": 1},
    ]
    answer = trader.preview(trader.order(accounts["alpaca"], legs=spread, price="1.20"))
    assert answer.json() == {
        "error": "Alpaca does not take multi-leg orders here.",
        "code": "unsupported",
        "message": "Alpaca does not take multi-leg orders here.",
    }


def oco(trader: Trader, where: dict, stop: str) -> dict:
    """Protect 1 AAPL: a take-profit at 900.00 and a stop-loss at `stop`."""
    exit_ = {"legs": [{"symbol": "AAPL", "action": "Sell to Close", "quantity": 1}]}
    entry = trader.order(where)
    return {
        "link": entry["link"],
        "account": entry["account"],
        "complex": "OCO",
        "trigger": None,
        "orders": [
            {**exit_, "order_type": "Limit", "price": "900.00", "time_in_force": "GTC"},
            {**exit_, "order_type": "Stop", "stop_price": stop, "time_in_force": "GTC"},
        ],
    }


def test_bad_linked_and_stop_orders_get_a_sentence_and_the_stream_goes_on(
    trader, live_app, accounts
):
    """The issue's examples, each refused in words at the preview (no broker call), while
    the trader's socket is open: a stop on the wrong side, a trail at a broker without
    trailing stops, an OCO with one member, more legs than any broker takes. Then the
    socket still answers and a good group is previewed."""
    tt = accounts["tastytrade"]
    wrong_side = oco(trader, tt, stop="950.00")
    one_member = {**wrong_side, "orders": wrong_side["orders"][:1]}
    trail = trader.order(
        accounts["tradier"],
        legs=[{"symbol": "AAPL", "action": "Sell to Close", "quantity": 1}],
        order_type="Trailing Stop",
        price=None,
        trail={"amount": "5.00"},
    )
    legs = [
        {"symbol": f".SPY270115C{strike}", "action": "Buy to Open", "quantity": 1}
        for strike in (580, 590, 600, 610, 620)
    ]
    cases = [
        (
            wrong_side,
            "bad_order",
            "A take-profit that sells is above its stop-loss: 900.00 is not above the 950.00 stop.",
        ),
        (trail, "unsupported", "Tradier takes no trailing stops; use a Stop."),
        (one_member, "bad_order", "An OCO has 2 orders in `orders`."),
        (trader.order(tt, legs=legs, price="5.00"), "bad_order", "An order has from 1 to 4 legs."),
    ]
    headers = {"Cookie": live_app.cookie_header(trader.client), "Origin": live_app.url}
    with connect(live_app.ws_url, additional_headers=headers, max_size=None) as ws:

        def frames() -> list[dict]:  # a message is a frame or a list of them
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            return message if isinstance(message, list) else [message]

        deadline = time.monotonic() + 15  # the socket's loaded-box margin
        assert frames()[0]["type"] == "hello"
        for body, code, says in cases:
            answer = trader.preview(body)
            body = {"error": says, "code": code, "message": as_sentence(says)}
            assert (answer.status_code, answer.json()) == (400, body)
        ws.send(json.dumps({"type": "ping", "id": "after-bad-input"}))
        deadline = time.monotonic() + 15
        pongs: list[dict] = []
        while not pongs:
            pongs = [f for f in frames() if f.get("type") == "pong"]
        assert [f.get("id") for f in pongs] == ["after-bad-input"]
    # a good group: a bracket on a buy far below the market (no position needed)
    bracket = {**wrong_side, "complex": "OTOCO", "trigger": trader.order(tt)}
    for key in ("link", "account"):
        del bracket["trigger"][key]
    bracket["orders"][1] = {**bracket["orders"][1], "stop_price": "0.50"}
    good = trader.preview(bracket)
    assert good.status_code == 200, good.text
    assert good.json()["preview"]["words"].startswith("Bracket: Buy 1 AAPL at 1.00 limit")


def test_parts_of_a_share_and_dollar_amounts_where_the_broker_takes_them(trader, accounts):
    """Alpaca: half a share at a limit, as sent and shown, and 25 dollars of AAPL at market,
    sized by Alpaca at its fill. tastytrade: a dollar amount goes to its dry run, which the
    sandbox refuses in tastytrade's words (no stock of its is fractional-quantity
    eligible). Tradier: neither, refused naming the broker before any broker call."""
    alpaca = accounts["alpaca"]
    half = trader.order(
        alpaca, legs=[{"symbol": "AAPL", "action": "Buy to Open", "quantity": "0.5"}]
    )
    preview = trader.preview(half)
    assert preview.status_code == 200, preview.text
    shown = preview.json()["preview"]
    assert shown["words"].startswith("Buy 0.5 AAPL at 1.00 limit, day: debit 0.50")
    assert shown["order"]["legs"][0]["quantity"] == "0.5"
    ticket = trader.confirm(shown["id"]).json()["ticket"]
    trader.wait_status(alpaca["number"], ticket["order_id"], WORKING)
    listed = read_json(trader.client, "/api/orders", account=alpaca["number"], limit="200")
    held = next(o for o in listed["orders"] if str(o["id"]) == str(ticket["order_id"]))
    assert held["legs"][0]["quantity"] == 0.5
    cancel = trader.client.delete(
        f"/api/orders/{ticket['order_id']}",
        params={"link": alpaca["link"], "account": alpaca["number"]},
        headers=trader.headers(),
    )
    assert cancel.status_code == 200, cancel.text
    dollars = trader.order(
        alpaca,
        legs=[{"symbol": "AAPL", "action": "Buy to Open"}],
        order_type="Notional Market",
        price=None,
        notional="25",
    )
    preview = trader.preview(dollars)
    assert preview.status_code == 200, preview.text
    shown = preview.json()["preview"]
    assert shown["words"].startswith("Buy $25.00 of AAPL at market, day: debit about 25.00")
    assert shown["order"]["notional"] == "25.00"
    ticket = trader.confirm(shown["id"]).json()["ticket"]
    trader.wait_status(alpaca["number"], ticket["order_id"], frozenset({"Filled"}))
    listed = read_json(trader.client, "/api/orders", account=alpaca["number"], limit="200")
    filled = next(o for o in listed["orders"] if str(o["id"]) == str(ticket["order_id"]))
    assert (filled["order_type"], filled["notional"]) == ("Notional Market", 25.0)
    shares = sum(f["quantity"] for f in filled["legs"][0]["fills"])
    price = filled["legs"][0]["fills"][0]["price"]
    assert 0 < shares < 1 and shares * price == pytest.approx(25, abs=0.01)
    tt_dollars = {**dollars, "link": accounts["tastytrade"]["link"],
                  "account": accounts["tastytrade"]["number"]}  # fmt: skip
    refused = trader.preview(tt_dollars)
    assert (refused.status_code, refused.json()) == (
        400,
        {
            "code": "rejected",
            "error": "tastytrade refused the order: A Notional Market order trades a "
            "cryptocurrency here (no equity is fractional-quantity eligible).",
            "message": "tastytrade refused the order: A Notional Market order trades a "
            "cryptocurrency here (no equity is fractional-quantity eligible).",
        },
    )
    tradier = accounts["tradier"]
    for body, says in (
        ({**half, "link": tradier["link"], "account": tradier["number"]},
         "Tradier takes whole shares only."),
        ({**dollars, "link": tradier["link"], "account": tradier["number"]},
         "Tradier takes no dollar amounts; give a number of shares."),
    ):  # fmt: skip
        answer = trader.preview(body)
        body = {"error": says, "code": "unsupported", "message": as_sentence(says)}
        assert (answer.status_code, answer.json()) == (400, body)


def group_members(trader: Trader, account: str, group_id: str) -> dict[str, dict]:
    """The group's members as the stream lists them, by role (once both exits are there)."""

    def found() -> dict[str, dict] | None:
        page = read_json(trader.client, "/api/orders", account=account, limit="200")
        members = {
            o["group"]["role"]: o
            for o in page["orders"]
            if (o.get("group") or {}).get("id") == group_id and o["status"] != "Replaced"
        }
        return members if {"take_profit", "stop_loss"} <= members.keys() else None

    return poll_until(found, within=30, what=f"the exits of group {group_id}")


def test_a_brackets_stop_is_moved_where_the_broker_allows_it(trader, accounts):
    """Replace… of a bracket's stop-loss by its stop price: at Alpaca the new stop takes the
    old one's place in the group (the old one Replaced); a change of its quantity is refused
    in words before anything is sent. tastytrade replaces no member of a complex order: its
    refusal, in its words, and the group stays as it was."""
    for broker in ("alpaca", "tastytrade"):
        where = accounts[broker]
        exit_ = {"legs": [{"symbol": "AAPL", "action": "Sell to Close", "quantity": 1}]}
        bracket = {
            "link": where["link"],
            "account": where["number"],
            "complex": "OTOCO",
            "trigger": {**trader.order(where, time_in_force="GTC"), "replaces": None},
            "orders": [
                {**exit_, "order_type": "Limit", "price": "900.00", "time_in_force": "GTC"},
                {**exit_, "order_type": "Stop", "stop_price": "0.50", "time_in_force": "GTC"},
            ],
        }
        for key in ("link", "account", "replaces"):
            del bracket["trigger"][key]
        group_id = str(trader.place(bracket)["order_id"])
        stop = group_members(trader, where["number"], group_id)["stop_loss"]
        moved = trader.order(
            where,
            legs=exit_["legs"],
            order_type="Stop",
            price=None,
            stop_price="0.60",
            time_in_force="GTC",
            replaces=str(stop["id"]),
        )
        if broker == "alpaca":
            more = {**moved, "legs": [{**exit_["legs"][0], "quantity": 2}]}
            preview = trader.preview(more).json()["preview"]
            refused = trader.confirm(preview["id"])
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"].startswith(
                "Alpaca changes a linked order's take-profit or stop-loss by its price only"
            )
            ticket = trader.place(moved)
            exits = group_members(trader, where["number"], group_id)
            assert str(exits["stop_loss"]["id"]) == str(ticket["order_id"]) != str(stop["id"])
            assert exits["stop_loss"]["stop_price"] == 0.6
            assert trader.order_status(where["number"], str(stop["id"])) == "Replaced"
        else:
            preview = trader.preview(moved).json()["preview"]
            refused = trader.confirm(preview["id"])
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"].startswith("tastytrade refused the order: ")
            assert "cannot be replaced on its own" in refused.json()["error"]
            assert group_members(trader, where["number"], group_id)["stop_loss"]["id"] == stop["id"]
        take = group_members(trader, where["number"], group_id)["take_profit"]
        cancel = trader.client.delete(  # a member cancels its group
            f"/api/orders/{take['id']}",
            params={"link": where["link"], "account": where["number"]},
            headers=trader.headers(),
        )
        assert cancel.status_code == 200, cancel.text


def test_writes_need_the_csrf_token_and_the_origin(trader, live_app, accounts):
    order = trader.order(accounts["tastytrade"])
    no_csrf = trader.client.post(
        "/api/orders/preview", json=order, headers={"Origin": live_app.url}
    )
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf")
    other_site = trader.client.post(
        "/api/orders/preview",
        json=order,
        headers={**trader.headers(), "Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403


def test_a_read_only_token_can_never_trade(live_app, accounts):
    raw = demo_python(
        live_app,
        "from django.contrib.auth import get_user_model\n"
        "from accounts.tokens import api_token_create\n"
        "print(api_token_create(user=get_user_model().objects.get(pk=uid), name='bot', "
        "lifetime_days=7).raw)\n",
    ).strip()
    with httpx.Client(base_url=live_app.url, timeout=30) as bot:
        bearer = {"Authorization": f"Bearer {raw}"}
        for path in ("/api/orders/preview", "/api/orders", "/api/trading/kill-switch"):
            answer = bot.post(path, json={}, headers=bearer)
            assert (answer.status_code, answer.json()["error"]) == (403, "token_read_only"), path
        assert bot.get("/api/orders", headers=bearer).status_code == 200


def test_a_disabled_link_and_a_missing_second_factor_are_refused(trader, live_app, accounts):
    account = accounts["tradier"]
    demo_python(
        live_app,
        "from accounts.models import BrokerLink\n"
        f"BrokerLink.objects.filter(pk={account['link']}).update(trading_enabled=False)\n",
    )
    answer = trader.preview(trader.order(account))
    assert (answer.status_code, answer.json()["code"]) == (403, "trading_disabled")
    demo_python(
        live_app, "from streaming.trading.grant import trading_disable\ntrading_disable(uid)\n"
    )
    answer = trader.preview(trader.order(accounts["tastytrade"]))
    assert (answer.status_code, answer.json()["code"]) == (403, "second_factor")
    enable_demo_trading(live_app)
    assert trader.preview(trader.order(account)).status_code == 200


def test_cancel_all_cancels_every_working_order_of_the_account(trader, accounts):
    account = accounts["tastytrade"]
    placed = [trader.place(trader.order(account))["order_id"] for _ in range(2)]
    for order_id in placed:
        trader.wait_status(account["number"], order_id, WORKING)
    answer = trader.post(
        "/api/orders/cancel-all", {"link": account["link"], "account": account["number"]}
    )
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert set(placed) <= set(result["cancelled"])
    assert (result["failed"], result["error"]) == ([], None)
    for order_id in placed:
        trader.wait_status(account["number"], order_id, frozenset({"Cancelled"}))


def test_the_kill_switch_cancels_everything_at_every_broker(trader, live_app, accounts):
    placed = {b: trader.place(trader.order(accounts[b]))["order_id"] for b in BROKERS}
    for broker, order_id in placed.items():
        trader.wait_status(accounts[broker]["number"], order_id, WORKING)
    answer = trader.post("/api/trading/kill-switch", {})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    by_link = {r["link"]: r for r in body["results"]}
    for broker, order_id in placed.items():
        result = by_link[accounts[broker]["link"]]
        assert order_id in result["cancelled"], result
        assert (result["failed"], result["error"]) == ([], None)
    assert body["trading"]["on"] is False and body["trading"]["killed_at"] is not None
    for broker, order_id in placed.items():
        trader.wait_status(accounts[broker]["number"], order_id, frozenset({"Cancelled"}))
    refused = trader.preview(trader.order(accounts["tastytrade"]))
    assert (refused.status_code, refused.json()["code"]) == (403, "second_factor")
    audit = live_app.python(
        "from streaming.models import TradingAudit\n"
        "print(TradingAudit.objects.filter(action='kill_switch').count())\n",
    )
    assert audit.strip() == "1"
