"""Tradier order preview and cancel over real sockets, with httpx calls as Tradier's
documentation shows them; both go through the shared brokerage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.support.tradier import tradier_client


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as c:
        yield c


def account_of(api: httpx.Client, kind: str = "margin") -> str:
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    return next(a for a in accounts if a["type"] == kind)["account_number"]


def resting_buy(api: httpx.Client, account: str) -> int:
    """A limit buy far below the market: it stays open until cancelled."""
    placed = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "5",
              "type": "limit", "duration": "gtc", "price": "1.00"},
    )  # fmt: skip
    assert placed.status_code == 200, placed.text
    return placed.json()["order"]["id"]


def test_preview_checks_and_prices_the_order_but_places_nothing(api, control):
    control.configure(tick_rate=0.0)  # equity quotes hold still between the calls
    account = account_of(api)
    quote = api.get("/v1/markets/quotes", params={"symbols": "AAPL"}).json()["quotes"]["quote"]
    preview = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "10",
              "type": "limit", "duration": "day", "price": "100.00", "preview": "true"},
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    order = preview.json()["order"]
    assert {"status", "commission", "cost", "fees", "symbol", "quantity", "side", "type",
            "duration", "result", "order_cost", "margin_change", "request_date",
            "extended_hours", "class", "strategy", "day_trades"} <= set(order)  # fmt: skip
    assert order["status"] == "ok" and order["result"] is True and "id" not in order
    assert (order["symbol"], order["side"], order["type"], order["class"]) == (
        "AAPL", "buy", "limit", "equity",
    )  # fmt: skip
    assert order["order_cost"] == 1000.0 and order["commission"] == 0.0
    assert order["cost"] == 1000.0 and quote["ask"] > 0
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}

    option = api.get("/v1/markets/options/chains", params={
        "symbol": "SPY",
        "expiration": api.get("/v1/markets/options/expirations", params={"symbol": "SPY"})
        .json()["expirations"]["date"][-1],
    }).json()["options"]["option"][0]  # fmt: skip
    answer = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "option", "symbol": "SPY", "option_symbol": option["symbol"],
              "side": "buy_to_open", "quantity": "2", "type": "limit", "price": "3.10",
              "duration": "day", "preview": "true"},
    )  # fmt: skip
    assert answer.status_code == 200 and "order" in answer.json(), (option, answer.text)
    option_preview = answer.json()["order"]
    assert option_preview["commission"] == 2.0  # one dollar a contract
    assert option_preview["option_symbol"] == option["symbol"]
    assert option_preview["order_cost"] == 620.0  # 3.10 x 2 contracts x 100
    assert option_preview["cost"] == 622.0 and option_preview["class"] == "option"
    market_buy = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "3",
              "type": "market", "duration": "day", "preview": "true"},
    ).json()["order"]  # fmt: skip
    assert market_buy["order_cost"] == round(quote["ask"] * 3, 4)  # at the far side

    too_big = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "10000000",
              "type": "market", "duration": "day", "preview": "true"},
    )  # fmt: skip
    assert too_big.status_code == 400
    assert too_big.json() == {
        "errors": {"error": ["This order exceeds the account's buying power."]}
    }


def test_cancel_an_open_order(api, control):
    account = account_of(api)
    order_id = resting_buy(api, account)
    control.step()  # Received -> Live
    assert api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]["status"] == "open"
    cancelled = api.delete(f"/v1/accounts/{account}/orders/{order_id}")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"order": {"id": order_id, "status": "ok"}}
    assert int(cancelled.headers["x-ratelimit-allowed"]) == 60  # the trading group
    after = api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]
    assert after["status"] == "canceled" and after["remaining_quantity"] == 5.0
    again = api.delete(f"/v1/accounts/{account}/orders/{order_id}")
    assert again.status_code == 400
    assert again.json() == {
        "errors": {"error": [f"Order {order_id} is canceled and cannot be canceled"]}
    }


def test_cancel_refuses_filled_unknown_and_foreign_orders(sandbox, api, control):
    account = account_of(api)
    filled = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "1",
              "type": "market", "duration": "day"},
    ).json()["order"]["id"]  # fmt: skip
    control.step()
    control.step()
    assert api.get(f"/v1/accounts/{account}/orders/{filled}").json()["order"]["status"] == "filled"
    refused = api.delete(f"/v1/accounts/{account}/orders/{filled}")
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {"error": [f"Order {filled} is filled and cannot be canceled"]}
    }
    unknown = api.delete(f"/v1/accounts/{account}/orders/999")
    assert unknown.status_code == 404 and unknown.json() == {
        "errors": {"error": ["Order 999 not found"]}
    }
    assert api.delete(f"/v1/accounts/{account}/orders/abc").status_code == 404
    with tradier_client(sandbox) as other:
        theirs = resting_buy(other, account_of(other))
        foreign = api.delete(f"/v1/accounts/{account}/orders/{theirs}")
        assert foreign.status_code == 404  # the same answer as an unknown id
        wrong_account = api.delete(f"/v1/accounts/{account_of(other)}/orders/{theirs}")
        assert wrong_account.status_code == 400
        assert wrong_account.json()["errors"]["error"] == [
            f"Invalid account number {account_of(other)}"
        ]
        mine = other.get(f"/v1/accounts/{account_of(other)}/orders/{theirs}").json()["order"]
        assert mine["status"] != "canceled"  # untouched by the refused cancels


def order_events(sandbox) -> list:
    """Every account event the sandbox publishes from now on (what account streams push)."""
    seen: list = []
    sandbox.sandbox.account_listeners.append(seen.append)
    return seen


def test_modify_changes_the_order_in_place(sandbox, api, control):
    account = account_of(api)
    order_id = resting_buy(api, account)
    control.step()  # Received -> Live
    events = order_events(sandbox)
    answer = api.put(f"/v1/accounts/{account}/orders/{order_id}", data={"price": "2.50"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"order": {"id": order_id, "status": "ok"}}
    assert int(answer.headers["x-ratelimit-allowed"]) == 60  # the trading group
    order = api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]
    assert (order["price"], order["type"], order["duration"], order["status"]) == (
        2.5, "limit", "gtc", "open",
    )  # fmt: skip
    (event,) = [e for e in events if e.kind == "Order"]
    assert event.account_number == account and event.record.id == order_id
    assert event.record.price == Decimal("-2.50") and event.record.edited

    api.put(f"/v1/accounts/{account}/orders/{order_id}", data={"duration": "day"})
    assert api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]["duration"] == "day"
    priced = api.put(
        f"/v1/accounts/{account}/orders/{order_id}", data={"type": "market", "price": "3"}
    )
    assert priced.status_code == 400
    assert priced.json() == {"errors": {"error": ["Invalid price 3: a market order takes none"]}}
    to_market = api.put(f"/v1/accounts/{account}/orders/{order_id}", data={"type": "market"})
    assert to_market.status_code == 200, to_market.text
    control.step()  # a market order fills on its next step
    filled = api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]
    assert filled["status"] == "filled" and filled["type"] == "market" and "price" not in filled


def test_modify_refuses_in_tradier_shape(sandbox, api, control):
    account = account_of(api)
    order_id = resting_buy(api, account)
    url = f"/v1/accounts/{account}/orders/{order_id}"
    for form, message in (
        ({"price": "abc"}, "Invalid price abc"),
        ({"price": "-1"}, "Invalid price -1"),
        ({"price": "0"}, "Invalid price 0"),
        (
            {"type": "stop", "stop": "1.00"},
            "Order type stop cannot replace limit in place: "
            "cancel the order and place a stop order",
        ),
        ({"type": "debit"}, "Order type debit is not supported"),
        (
            {"stop": "1.00"},
            "Invalid stop 1.00: a limit order takes none (stop is for stop and stop_limit orders)",
        ),
        ({"type": "bogus"}, "Invalid order type bogus"),
        ({"duration": "forever"}, "Invalid duration forever"),
        ({}, "Nothing to change: send type, duration, price or stop"),
    ):
        refused = api.put(url, data=form)
        assert refused.status_code == 400, (form, refused.text)
        assert refused.json() == {"errors": {"error": [message]}}, form
    unchanged = api.get(url).json()["order"]
    assert (unchanged["price"], unchanged["type"], unchanged["duration"]) == (1.0, "limit", "gtc")

    too_expensive = api.put(url, data={"price": "1000000"})
    assert too_expensive.status_code == 400
    assert too_expensive.json() == {
        "errors": {"error": ["This order exceeds the account's buying power."]}
    }
    api.delete(url)
    cancelled = api.put(url, data={"price": "2.00"})
    assert cancelled.status_code == 400
    assert cancelled.json() == {
        "errors": {"error": [f"Order {order_id} is canceled and cannot be changed"]}
    }
    filled = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "1",
              "type": "market", "duration": "day"},
    ).json()["order"]["id"]  # fmt: skip
    control.step()
    control.step()
    done = api.put(f"/v1/accounts/{account}/orders/{filled}", data={"type": "limit", "price": "1"})
    assert done.status_code == 400
    assert done.json() == {"errors": {"error": [f"Order {filled} is filled and cannot be changed"]}}
    unknown = api.put(f"/v1/accounts/{account}/orders/999", data={"price": "2.00"})
    assert unknown.status_code == 404
    assert unknown.json() == {"errors": {"error": ["Order 999 not found"]}}
    with tradier_client(sandbox) as other:
        theirs = resting_buy(other, account_of(other))
        foreign = api.put(f"/v1/accounts/{account}/orders/{theirs}", data={"price": "2.00"})
        assert foreign.status_code == 404  # the same answer as an unknown id
        price = other.get(f"/v1/accounts/{account_of(other)}/orders/{theirs}").json()["order"]
        assert price["price"] == 1.0


def test_order_list_tags_and_pages(api, control):
    account = account_of(api)
    first = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "5",
              "type": "limit", "duration": "gtc", "price": "1.00", "tag": "my-tag-1"},
    ).json()["order"]["id"]  # fmt: skip
    second, third = resting_buy(api, account), resting_buy(api, account)
    plain = api.get(f"/v1/accounts/{account}/orders").json()["orders"]["order"]
    assert [o["id"] for o in plain] == [first, second, third]
    assert all("tag" not in o for o in plain)
    tagged = api.get(f"/v1/accounts/{account}/orders", params={"includeTags": "true"}).json()
    assert tagged["orders"]["order"][0]["tag"] == "my-tag-1"
    assert "tag" not in tagged["orders"]["order"][1]  # placed without one
    one = api.get(f"/v1/accounts/{account}/orders/{first}", params={"includeTags": "true"})
    assert one.json()["order"]["tag"] == "my-tag-1"
    assert "tag" not in api.get(f"/v1/accounts/{account}/orders/{first}").json()["order"]

    page1 = api.get(f"/v1/accounts/{account}/orders", params={"page": 1, "limit": 2}).json()
    assert [o["id"] for o in page1["orders"]["order"]] == [first, second]
    page2 = api.get(f"/v1/accounts/{account}/orders", params={"page": 2, "limit": 2}).json()
    assert page2["orders"]["order"]["id"] == third  # one element: a bare object
    page3 = api.get(f"/v1/accounts/{account}/orders", params={"page": 3, "limit": 2}).json()
    assert page3 == {"orders": "null"}
    every = api.get(f"/v1/accounts/{account}/orders", params={"filter": "all"}).json()
    assert [o["id"] for o in every["orders"]["order"]] == [first, second, third]
    today = dt.datetime.now(dt.UTC).date()
    dated = api.get(f"/v1/accounts/{account}/orders",
                    params={"date": (today - dt.timedelta(days=2)).isoformat()})  # fmt: skip
    assert dated.json() == {"orders": "null"}
    for bad in ({"page": "0"}, {"limit": "x"}, {"filter": "week"}, {"date": "2020-13-01"}):
        refused = api.get(f"/v1/accounts/{account}/orders", params=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["errors"]["error"]


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("pre", "Duration pre is not supported"),
        ("post", "Duration post is not supported"),
        ("forever", "Invalid duration forever"),
        ("ioc", "Invalid duration ioc"),  # Tradier has no immediate-or-cancel duration
        ("DAY", "Invalid duration DAY"),
    ],
)
def test_placing_validates_duration_as_modify_does(api, duration, message):
    """Placing (and its preview) refuses a duration the brokerage cannot do, in Tradier's
    error shape and with modify's words; nothing is placed."""
    account = account_of(api)
    form = {"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "5",
            "type": "limit", "duration": duration, "price": "1.00"}  # fmt: skip
    for extra in ({}, {"preview": "true"}):
        refused = api.post(f"/v1/accounts/{account}/orders", data={**form, **extra})
        assert refused.status_code == 400, (extra, refused.text)
        assert refused.json() == {"errors": {"error": [message]}}, extra
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}
    order_id = resting_buy(api, account)
    modified = api.put(f"/v1/accounts/{account}/orders/{order_id}", data={"duration": duration})
    assert modified.status_code == 400
    assert modified.json() == {"errors": {"error": [message]}}  # the same words


def test_placing_needs_a_duration(api):
    """`duration` is required when placing (Tradier's docs mark it so); blank is missing."""
    account = account_of(api)
    form = {"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "5",
            "type": "limit", "price": "1.00"}  # fmt: skip
    for extra in ({}, {"duration": ""}, {"duration": "", "preview": "true"}):
        refused = api.post(f"/v1/accounts/{account}/orders", data={**form, **extra})
        assert refused.status_code == 400, (extra, refused.text)
        assert refused.json() == {"errors": {"error": ["Missing duration: one of day, gtc"]}}
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}
    placed = api.post(f"/v1/accounts/{account}/orders", data={**form, "duration": "gtc"})
    assert placed.status_code == 200, placed.text
    order = api.get(f"/v1/accounts/{account}/orders/{placed.json()['order']['id']}").json()
    assert order["order"]["duration"] == "gtc"
