"""Tradier's advanced orders (`class=oto|oco|otoco`) at the sandbox, over real sockets with
httpx, in the form Tradier documents.

Sources: Tradier's "Place an OTO order", "Place an OCO order" and "Place an OTOCO order"
pages (docs.tradier.com, Trading API: `POST /v1/accounts/{account_id}/orders` with
`class`, `duration` and per order `symbol[index]`, `quantity[index]`, `type[index]`,
`side[index]`, `option_symbol[index]`, `price[index]`, `stop[index]`, `duration[index]`
when the top-level duration is omitted). OTO: 2 orders, the first limit/stop/stop_limit,
the second market/limit/stop/stop_limit; OCO: 2 orders, different types, one symbol and
option symbol, one duration; OTOCO: 3 orders, each limit/stop/stop_limit, the second and
third of one symbol, different types, one duration. The GET order object of an advanced
order is a parent with `class`, `num_legs` and a `leg` array of child orders with their
own ids and statuses; an OCO parent leaves many fields empty (reference/response/orders;
lumibot's Tradier broker reads them from the legs).

A member waiting for its trigger shows `pending`: Tradier documents no status for a
waiting leg; `pending` is its word for an order not working yet (a guess, docs/sandbox.md).
`control.step()` runs the matching once, so nothing here waits on a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

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


def indexed(*orders: dict[str, str], **top: str) -> dict[str, str]:
    """Tradier's advanced-order form: each order's fields as `field[index]`."""
    form = dict(top)
    for index, fields in enumerate(orders):
        form.update({f"{key}[{index}]": value for key, value in fields.items()})
    return form


def equity(side: str, kind: str, qty: str = "2", **terms: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "quantity": qty, "type": kind, **terms}


def otoco(**top: str) -> dict[str, str]:
    """Buy 2 at 195 (under the market: it waits), then take profit at 205 or stop the
    loss at 190, as Tradier's OTOCO page spells one."""
    return indexed(
        equity("buy", "limit", price="195.00"),
        equity("sell", "limit", price="205.00"),
        equity("sell", "stop", stop="190.00"),
        **{"class": "otoco", "duration": "gtc", **top},
    )


def place(api: httpx.Client, account: str, form: dict[str, str]) -> int:
    placed = api.post(f"/v1/accounts/{account}/orders", data=form)
    assert placed.status_code == 200, placed.text
    assert placed.json()["order"]["status"] == "ok"
    return placed.json()["order"]["id"]


def order(api: httpx.Client, account: str, order_id: int) -> dict:
    return api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]


def statuses(item: dict) -> list[str]:
    return [leg["status"] for leg in item["leg"]]


def step_until(control, read: Callable[[], dict], done: Callable[[dict], bool]) -> dict:
    """Step the matching until `done(read())`, at most 10 steps (no clock involved)."""
    for _ in range(10):
        control.step()
        item = read()
        if done(item):
            return item
    raise AssertionError(f"not reached after 10 steps: {item}")


def test_an_otoco_waits_for_its_entry_then_the_take_profit_cancels_the_stop_loss(api, control):
    account = account_of(api)
    group_id = place(api, account, otoco(tag="bracket-1"))
    control.step()  # the entry works; the mark (200) is above its limit
    listed = api.get(f"/v1/accounts/{account}/orders", params={"includeTags": "true"})
    parent = listed.json()["orders"]["order"]  # one item: the members are not listed again
    assert (parent["id"], parent["class"], parent["status"], parent["num_legs"]) == (
        group_id, "otoco", "open", 3,
    )  # fmt: skip
    assert (parent["type"], parent["side"], parent["price"]) == ("limit", "buy", 195.0)
    assert parent["tag"] == "bracket-1" and parent["duration"] == "gtc"
    entry, profit, loss = parent["leg"]
    assert len({group_id, entry["id"], profit["id"], loss["id"]}) == 4
    assert [(leg["type"], leg["side"], leg["quantity"]) for leg in parent["leg"]] == [
        ("limit", "buy", 2.0), ("limit", "sell", 2.0), ("stop", "sell", 2.0),
    ]  # fmt: skip
    assert (entry["price"], profit["price"], loss["stop_price"]) == (195.0, 205.0, 190.0)
    assert "price" not in loss and "stop_price" not in profit
    assert {leg["class"] for leg in parent["leg"]} == {"equity"}
    assert statuses(parent) == ["open", "pending", "pending"]  # the exits wait
    one = api.get(f"/v1/accounts/{account}/orders/{group_id}", params={"includeTags": "true"})
    assert one.json()["order"] == parent  # GET one answers the same parent
    assert order(api, account, profit["id"])["status"] == "pending"  # a member by its id

    control.set_price(SYMBOL, 194.0)  # the ask crosses the entry's limit
    opened = step_until(
        control, lambda: order(api, account, group_id), lambda o: statuses(o)[1:] == ["open"] * 2
    )
    assert statuses(opened)[0] == "filled" and opened["status"] == "open"
    assert opened["leg"][0]["exec_quantity"] == 2.0 and opened["leg"][0]["avg_fill_price"] <= 195

    control.set_price(SYMBOL, 206.0)  # the bid crosses the take-profit's limit
    done = step_until(
        control, lambda: order(api, account, group_id), lambda o: o["status"] != "open"
    )
    assert statuses(done) == ["filled", "filled", "canceled"]
    assert done["status"] == "filled"  # the entry and one exit filled
    taken = done["leg"][1]
    assert taken["exec_quantity"] == 2.0 and taken["avg_fill_price"] >= 205.0
    assert done["leg"][2]["exec_quantity"] == 0


def test_an_oco_protects_a_held_position_and_the_stop_cancels_the_limit(api, control):
    account = account_of(api)
    held = api.get(f"/v1/accounts/{account}/positions").json()["positions"]["position"]
    shares = next(p for p in held if p["symbol"] == SYMBOL)["quantity"]
    qty = str(int(shares))
    form = indexed(
        equity("sell", "limit", qty, price="215.00", duration="day"),
        equity("sell", "stop", qty, stop="190.00", duration="day"),
        **{"class": "oco"},  # durations per order (`duration[index]`)
    )
    group_id = place(api, account, form)
    control.step()
    parent = order(api, account, group_id)
    assert (parent["class"], parent["status"], parent["num_legs"]) == ("oco", "open", 2)
    assert (parent["symbol"], parent["duration"]) == (SYMBOL, "day")
    for empty in ("type", "side", "quantity", "price", "stop_price", "exec_quantity"):
        assert empty not in parent  # an OCO parent leaves them to its legs
    assert statuses(parent) == ["open", "open"]  # no trigger: both work at once
    assert [leg["type"] for leg in parent["leg"]] == ["limit", "stop"]

    control.set_price(SYMBOL, 189.0)  # the stop triggers and sells at the bid
    done = step_until(
        control, lambda: order(api, account, group_id), lambda o: o["status"] != "open"
    )
    assert statuses(done) == ["canceled", "filled"] and done["status"] == "filled"
    assert done["leg"][1]["exec_quantity"] == shares


def test_an_oto_works_its_second_order_once_the_first_has_filled(api, control):
    account = account_of(api)
    form = indexed(
        equity("buy", "limit", price="195.00"),
        equity("sell", "market"),  # the second may be a market order
        **{"class": "oto", "duration": "day"},
    )
    group_id = place(api, account, form)
    control.step()
    waiting = order(api, account, group_id)
    assert (waiting["class"], waiting["num_legs"], statuses(waiting)) == (
        "oto", 2, ["open", "pending"],
    )  # fmt: skip
    assert waiting["type"] == "limit" and waiting["symbol"] == SYMBOL  # the trigger's terms

    control.set_price(SYMBOL, 194.0)
    done = step_until(
        control, lambda: order(api, account, group_id), lambda o: o["status"] != "open"
    )
    assert statuses(done) == ["filled", "filled"] and done["status"] == "filled"


@pytest.mark.parametrize("by", ["parent", "member"])
def test_delete_cancels_the_whole_linked_order(api, control, by):
    """DELETE with the parent's id cancels every member not done; with a member's id too
    (Tradier does not say what a member's id does: the sandbox cancels the group)."""
    account = account_of(api)
    group_id = place(api, account, otoco())
    control.step()
    member = order(api, account, group_id)["leg"][2]["id"]
    target = group_id if by == "parent" else member
    gone = api.delete(f"/v1/accounts/{account}/orders/{target}")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"order": {"id": group_id, "status": "ok"}}
    parent = order(api, account, group_id)
    assert statuses(parent) == ["canceled"] * 3 and parent["status"] == "canceled"
    again = api.delete(f"/v1/accounts/{account}/orders/{group_id}")
    assert again.status_code == 400
    assert again.json() == {
        "errors": {"error": [f"Order {group_id} is canceled and cannot be canceled"]}
    }


def test_an_entry_filled_then_cancelled_exits_leave_the_parent_canceled(api, control):
    account = account_of(api)
    group_id = place(api, account, otoco())
    control.set_price(SYMBOL, 194.0)
    step_until(
        control,
        lambda: order(api, account, group_id),
        lambda o: statuses(o) == ["filled", "open", "open"],
    )
    entry = order(api, account, group_id)["leg"][0]["id"]
    gone = api.delete(f"/v1/accounts/{account}/orders/{entry}")  # a filled member's id
    assert gone.status_code == 200, gone.text
    parent = order(api, account, group_id)
    assert statuses(parent) == ["filled", "canceled", "canceled"]
    assert parent["status"] == "canceled"


def test_a_linked_order_is_not_changed(api, control):
    account = account_of(api)
    group_id = place(api, account, otoco())
    control.step()
    member = order(api, account, group_id)["leg"][1]["id"]
    whole = api.put(f"/v1/accounts/{account}/orders/{group_id}", data={"price": "196"})
    assert whole.status_code == 400
    assert whole.json()["errors"]["error"] == [
        f"Order {group_id} is a linked order and cannot be changed: cancel the linked order "
        "and place it again"
    ]
    one = api.put(f"/v1/accounts/{account}/orders/{member}", data={"price": "206"})
    assert one.status_code == 400
    assert one.json()["errors"]["error"] == [
        f"Order {member} is part of otoco order {group_id} and cannot be changed: cancel the "
        "linked order and place it again"
    ]
    assert order(api, account, group_id)["leg"][1]["price"] == 205.0


def test_an_otoco_is_previewed_and_nothing_is_placed(api):
    account = account_of(api)
    preview = api.post(f"/v1/accounts/{account}/orders", data=otoco(preview="true"))
    assert preview.status_code == 200, preview.text
    item = preview.json()["order"]
    assert (item["status"], item["result"], item["class"], item["num_legs"]) == (
        "ok", True, "otoco", 3,
    )  # fmt: skip
    assert (item["type"], item["side"], item["price"]) == ("limit", "buy", 195.0)
    assert item["order_cost"] == 390.0  # the entry, what fills first: 2 x 195
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}
    refused = api.post(
        f"/v1/accounts/{account}/orders", data={**otoco(preview="true"), "type[0]": "market"}
    )
    assert refused.status_code == 400


def _exits(**changes: str) -> dict[str, str]:
    return {**otoco(), **changes}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (_exits(**{"type[0]": "market"}),
         "Invalid type[0] 'market': order 0 of an otoco order is one of limit, stop, stop_limit."),
        (_exits(**{"type[2]": "limit", "price[2]": "190", "stop[2]": ""}),
         "Orders 1 and 2 of an otoco order must be of different types, not both limit."),
        (_exits(**{"symbol[2]": "MSFT"}),
         "Orders 1 and 2 of an otoco order must have the same symbol and option_symbol."),
        ({**_exits(duration=""), "duration[0]": "gtc", "duration[1]": "gtc",
          "duration[2]": "day"},
         "Orders 1 and 2 of an otoco order must have the same duration."),
        ({k: v for k, v in otoco().items() if not k.endswith("[2]")},
         "An otoco order is 3 orders (symbol[0] to symbol[2]), not 2."),
        ({k: v for k, v in otoco().items() if not k.endswith("[1]")},
         "Orders must be numbered 0 to 1 (symbol[0], side[0], ...)."),
        (_exits(**{"side[1]": "sideways"}), "Order 1: Unsupported side 'sideways'."),
        (_exits(**{"stop[2]": ""}), "Order 2: A stop order needs a stop price: send stop"),
        (_exits(duration=""), "Order 0: Missing duration: one of day, gtc"),
        (_exits(duration="pre"), "Order 0: Duration pre is not supported"),
        (indexed(equity("buy", "market"), equity("sell", "limit", price="205"),
                 **{"class": "oto", "duration": "day"}),
         "Invalid type[0] 'market': order 0 of an oto order is one of limit, stop, stop_limit."),
        (indexed(equity("sell", "limit", price="215"), equity("sell", "limit", price="216"),
                 **{"class": "oco", "duration": "day"}),
         "Orders 0 and 1 of an oco order must be of different types, not both limit."),
        (indexed(equity("sell", "limit", price="215"),
                 {**equity("sell", "stop", stop="190"), "symbol": "MSFT"},
                 **{"class": "oco", "duration": "day"}),
         "Orders 0 and 1 of an oco order must have the same symbol and option_symbol."),
    ],
)  # fmt: skip
def test_what_tradier_documents_against_is_refused_in_its_error_shape(api, form, message):
    account = account_of(api)
    for preview in ("false", "true"):
        refused = api.post(f"/v1/accounts/{account}/orders", data={**form, "preview": preview})
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"errors": {"error": [message]}}
    assert api.get(f"/v1/accounts/{account}/orders").json() == {"orders": "null"}
