"""Tradier stop and stop-limit orders at the sandbox, over real sockets with httpx, in the
form Tradier documents.

Sources: Tradier's "Place an equity order" and "Place an option order" pages
(docs.tradier.com, Trading API: `POST /v1/accounts/{account_id}/orders`, `type` one of
market, limit, stop, stop_limit; `price` "required for limit and stop_limit orders",
`stop` "required for stop and stop_limit orders") and "Change an order" (`PUT
/v1/accounts/{account_id}/orders/{order_id}` with `type`, `duration`, `price`, `stop`);
the GET order object reports the trigger as `stop_price` (reference/response/orders).

A stop stays `open` until the mark reaches its trigger (at or above it for a buy), then
works as a market (stop) or limit (stop_limit) order; `control.step()` runs the matching
once, so nothing here waits on a clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.sandbox.test_tradier_multileg import vertical
from tests.support.tradier import tradier_client

SYMBOL = "AAPL"


@pytest.fixture
def api(sandbox, control) -> Iterator[httpx.Client]:
    control.configure(tick_rate=0.0)  # quotes hold still: only set_price moves them
    control.set_price(SYMBOL, 200.0)
    with tradier_client(sandbox) as c:
        yield c


def account_of(api: httpx.Client) -> str:
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    return next(a for a in accounts if a["type"] == "margin")["account_number"]


def stop_form(**terms: str) -> dict[str, str]:
    """Tradier's equity form for a buy stop of 2 shares triggered at 210 (as its docs'
    curl example spells a stop: `type=stop`, `stop=`)."""
    return {"class": "equity", "symbol": SYMBOL, "side": "buy", "quantity": "2",
            "type": "stop", "duration": "gtc", "stop": "210.00", **terms}  # fmt: skip


def place(api: httpx.Client, account: str, form: dict[str, str]) -> int:
    placed = api.post(f"/v1/accounts/{account}/orders", data=form)
    assert placed.status_code == 200, placed.text
    assert placed.json()["order"]["status"] == "ok"
    return placed.json()["order"]["id"]


def order(api: httpx.Client, account: str, order_id: int) -> dict:
    return api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]


def steps(control, n: int = 3) -> None:
    for _ in range(n):
        control.step()


def test_a_buy_stop_waits_under_its_trigger_then_fills_at_the_market(api, control):
    account = account_of(api)
    order_id = place(api, account, stop_form())
    steps(control)  # Received -> open; the mark (200) is under the trigger
    armed = order(api, account, order_id)
    assert (armed["type"], armed["stop_price"], armed["status"]) == ("stop", 210.0, "open")
    assert armed["exec_quantity"] == 0 and "price" not in armed  # a stop has no limit
    assert (armed["class"], armed["side"], armed["quantity"]) == ("equity", "buy", 2.0)
    listed = api.get(f"/v1/accounts/{account}/orders").json()["orders"]["order"]
    assert listed["id"] == order_id and listed["stop_price"] == 210.0

    control.set_price(SYMBOL, 211.0)  # crosses the trigger: from now on a market order
    control.step()
    filled = order(api, account, order_id)
    assert (filled["status"], filled["type"], filled["stop_price"]) == ("filled", "stop", 210.0)
    assert filled["exec_quantity"] == 2.0 and filled["remaining_quantity"] == 0.0
    assert filled["avg_fill_price"] >= 210.0  # at the ask, at or above the trigger


def test_a_stop_limit_triggers_once_then_works_as_its_limit(api, control):
    account = account_of(api)
    order_id = place(api, account, stop_form(type="stop_limit", price="210.50"))
    steps(control)  # the limit is marketable at 200, but the trigger is not reached
    waiting = order(api, account, order_id)
    assert (waiting["type"], waiting["price"], waiting["stop_price"]) == (
        "stop_limit", 210.5, 210.0,
    )  # fmt: skip
    assert waiting["status"] == "open" and waiting["exec_quantity"] == 0

    control.set_price(SYMBOL, 215.0)  # triggered, but the ask is above the limit
    steps(control)
    assert order(api, account, order_id)["status"] == "open"

    control.set_price(SYMBOL, 205.0)  # under the trigger again: triggered stays triggered
    control.step()
    filled = order(api, account, order_id)
    assert filled["status"] == "filled" and filled["exec_quantity"] == 2.0
    assert filled["avg_fill_price"] <= 210.5


def test_an_option_stop_is_placed_and_listed(api, control):
    account = account_of(api)
    option = vertical(api)["option_symbol[0]"]
    form = {"class": "option", "symbol": "SPY", "option_symbol": option,
            "side": "sell_to_open", "quantity": "1", "type": "stop", "duration": "day",
            "stop": "0.01"}  # fmt: skip
    order_id = place(api, account, form)
    control.step()
    listed = order(api, account, order_id)
    assert (listed["class"], listed["option_symbol"], listed["type"]) == ("option", option, "stop")
    assert listed["stop_price"] == 0.01 and listed["status"] == "open"


def test_a_stop_is_previewed_like_any_order(api):
    account = account_of(api)
    preview = api.post(f"/v1/accounts/{account}/orders", data=stop_form(preview="true"))
    assert preview.status_code == 200, preview.text
    item = preview.json()["order"]
    assert (item["status"], item["result"], item["type"]) == ("ok", True, "stop")
    assert item["stop_price"] == 210.0 and "price" not in item
    assert item["order_cost"] == 420.0  # it works as a market order from 210 on: 2 x 210
    limited = api.post(
        f"/v1/accounts/{account}/orders",
        data=stop_form(type="stop_limit", price="212", preview="true"),
    ).json()["order"]
    assert (limited["type"], limited["price"], limited["stop_price"]) == (
        "stop_limit",
        212.0,
        210.0,
    )
    assert limited["order_cost"] == 424.0  # the limit: 2 x 212
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}
    refused = api.post(f"/v1/accounts/{account}/orders", data=stop_form(stop="", preview="true"))
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"error": ["A stop order needs a stop price: send stop"]}}


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"stop": ""}, "A stop order needs a stop price: send stop"),
        ({"type": "stop_limit", "price": "211", "stop": ""},
         "A stop_limit order needs a stop price: send stop"),
        ({"stop": "0"}, "Invalid stop 0: a stop price is above zero"),
        ({"stop": "-5"}, "Invalid stop -5: a stop price is above zero"),
        ({"stop": "abc"}, "Invalid stop abc: a stop price is above zero"),
        ({"type": "stop_limit"}, "A stop_limit order needs a price: send price"),
        ({"type": "market"},
         "Invalid stop 210.00: a market order takes none (stop is for stop and stop_limit orders)"),
        ({"type": "limit", "price": "1.00"},
         "Invalid stop 210.00: a limit order takes none (stop is for stop and stop_limit orders)"),
    ],
)  # fmt: skip
def test_a_bad_stop_is_refused_in_tradiers_error_shape(api, terms, message):
    account = account_of(api)
    refused = api.post(f"/v1/accounts/{account}/orders", data=stop_form(**terms))
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"errors": {"error": [message]}}
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}


def test_a_multileg_order_takes_no_stop(api):
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    with_stop = api.post(url, data=vertical(api, type="debit", price="1.00", stop="5"))
    assert with_stop.status_code == 400
    assert with_stop.json() == {"errors": {"error": [
        "Invalid stop 5: a multileg order takes none (stop and stop_limit orders are class "
        "equity or option)"
    ]}}  # fmt: skip
    stop_type = api.post(url, data=vertical(api, type="stop"))
    assert stop_type.status_code == 400
    assert (
        "a multileg order is one of market, debit, credit, even"
        in (stop_type.json()["errors"]["error"][0])
    )
    assert api.get(url).json() == {"orders": "null"}


def test_modify_moves_the_stop_and_switches_between_stop_kinds(api, control):
    account = account_of(api)
    order_id = place(api, account, stop_form())
    control.step()
    url = f"/v1/accounts/{account}/orders/{order_id}"
    moved = api.put(url, data={"stop": "220"})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"order": {"id": order_id, "status": "ok"}}
    assert (order(api, account, order_id)["stop_price"], order(api, account, order_id)["type"]) == (
        220.0, "stop",
    )  # fmt: skip

    to_limit = api.put(url, data={"type": "stop_limit", "price": "221", "stop": ""})
    assert to_limit.status_code == 200, to_limit.text  # a blank stop is not sent
    now = order(api, account, order_id)
    assert (now["type"], now["price"], now["stop_price"]) == ("stop_limit", 221.0, 220.0)

    for form, text in (
        ({"stop": "0"}, "Invalid stop 0: a stop price is above zero"),
        ({"type": "stop", "price": "5"}, "Invalid price 5: a stop order takes none"),
        ({"type": "limit"},
         "Order type limit cannot replace stop_limit in place: cancel the order and place a "
         "limit order"),
    ):  # fmt: skip
        refused = api.put(url, data=form)
        assert refused.status_code == 400, (form, refused.text)
        assert refused.json() == {"errors": {"error": [text]}}, form
    assert order(api, account, order_id)["stop_price"] == 220.0  # a refusal changes nothing

    back = api.put(url, data={"type": "stop"})
    assert back.status_code == 200, back.text
    market_stop = order(api, account, order_id)
    assert market_stop["type"] == "stop" and "price" not in market_stop

    control.set_price(SYMBOL, 215.0)  # over the first trigger, under the moved one
    steps(control)
    assert order(api, account, order_id)["status"] == "open"
    control.set_price(SYMBOL, 221.0)
    control.step()
    assert order(api, account, order_id)["status"] == "filled"


def test_a_stop_cannot_be_given_to_an_order_that_is_not_a_stop(api, control):
    account = account_of(api)
    limit = place(api, account, stop_form(type="limit", price="1.00", stop=""))
    url = f"/v1/accounts/{account}/orders/{limit}"
    for form, text in (
        ({"stop": "5"},
         "Invalid stop 5: a limit order takes none (stop is for stop and stop_limit orders)"),
        ({"type": "stop", "stop": "5"},
         "Order type stop cannot replace limit in place: cancel the order and place a stop "
         "order"),
    ):  # fmt: skip
        refused = api.put(url, data=form)
        assert refused.status_code == 400, (form, refused.text)
        assert refused.json() == {"errors": {"error": [text]}}, form
    unchanged = order(api, account, limit)
    assert unchanged["type"] == "limit" and "stop_price" not in unchanged
