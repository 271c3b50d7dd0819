"""The app's Tradier adapter reads an OTOCO from the sandbox's Tradier façade: placed with
Tradier's documented form (docs.tradier.com "Place an OTOCO order": `class=otoco`,
`symbol[index]`, `side[index]`, `quantity[index]`, `type[index]`, `price[index]`,
`stop[index]`, one `duration`), read back by polling `GET /v1/accounts/{id}/orders` (one
parent with `class: "otoco"` and a `leg` array of child orders, reference/response/orders)
and mapped by `streaming/brokers/tradier/wire.py` `order_payloads`: one contract order per
member, each grouped under the parent's id with its role, then Filled / Cancelled as the
entry and the take-profit fill and the stop-loss is cancelled.
"""

from __future__ import annotations

from streaming.trading.owner import cancel_every
from tests.support.recording import RecordingSink
from tests.support.tradier import tradier_client
from tests.support.tradier_adapter import SYMBOL


def latest(sink: RecordingSink, order_id: int) -> dict | None:
    """The last frame emitted for an order id."""
    seen = [p for k, _, _, p in sink.events if k == "order" and str(p["id"]) == str(order_id)]
    return seen[-1] if seen else None


def members(sink: RecordingSink, ids: list[int], wanted: list[str]) -> list[dict] | None:
    """The members' last frames once their statuses are `wanted`."""
    frames = [latest(sink, i) for i in ids]
    if any(f is None for f in frames):
        return None
    if [f["status"] for f in frames if f is not None] != wanted:
        return None
    return [f for f in frames if f is not None]


async def test_an_otocos_members_are_shown_grouped_then_filled_and_cancelled(
    broker_at_sandbox, control, tradier_streaming
):
    _, sink, token, account = tradier_streaming
    form = {"class": "otoco", "duration": "gtc",
            "symbol[0]": SYMBOL, "side[0]": "buy", "quantity[0]": "3", "type[0]": "limit",
            "price[0]": "195.00",
            "symbol[1]": SYMBOL, "side[1]": "sell", "quantity[1]": "3", "type[1]": "limit",
            "price[1]": "205.00",
            "symbol[2]": SYMBOL, "side[2]": "sell", "quantity[2]": "3", "type[2]": "stop",
            "stop[2]": "190.00"}  # fmt: skip
    with tradier_client(broker_at_sandbox, token) as api:
        placed = api.post(f"/v1/accounts/{account}/orders", data=form)
        assert placed.status_code == 200, placed.text
        group_id = placed.json()["order"]["id"]
        parent = api.get(f"/v1/accounts/{account}/orders/{group_id}").json()["order"]
    ids = [leg["id"] for leg in parent["leg"]]
    control.step()  # the entry works; the mark (200) is above its limit

    waiting = await sink.wait_for(lambda: members(sink, ids, ["Live", "Received", "Received"]))
    assert latest(sink, group_id) is None  # the parent is no order of its own
    expected = [
        {"id": str(group_id), "class": "otoco", "role": role}
        for role in ("trigger", "take_profit", "stop_loss")
    ]
    assert [f["group"] for f in waiting] == expected
    assert {f["order_class"] for f in waiting} == {"otoco"}
    entry, profit, loss = waiting
    assert (entry["order_type"], entry["price"], entry["legs"][0]["action"]) == (
        "Limit", 195.0, "buy",
    )  # fmt: skip
    assert (profit["order_type"], profit["price"], profit["stop_price"]) == ("Limit", 205.0, None)
    assert (loss["order_type"], loss["price"], loss["stop_price"]) == ("Stop", None, 190.0)
    assert all(f["time_in_force"] == "GTC" and f["unsupported"] is None for f in waiting)
    assert [f["legs"][0]["quantity"] for f in waiting] == [3, 3, 3]

    control.set_price(SYMBOL, 194.0)  # the entry fills; the exits start working
    control.step()
    control.step()
    await sink.wait_for(lambda: members(sink, ids, ["Filled", "Live", "Live"]))

    control.set_price(SYMBOL, 206.0)  # the take-profit fills and cancels the stop-loss
    control.step()
    done = await sink.wait_for(lambda: members(sink, ids, ["Filled", "Filled", "Cancelled"]))
    assert [f["group"] for f in done] == expected
    (fill,) = done[1]["legs"][0]["fills"]
    assert fill["quantity"] == 3 and fill["price"] >= 205.0
    assert done[2]["legs"][0]["fills"] == []


async def test_cancelling_a_member_cancels_the_parent_and_names_the_others(
    broker_at_sandbox, control, tradier_streaming
):
    """Tradier lists an OTOCO as one parent; cancelling any member from the screen cancels
    the parent (DELETE of its id), and the answer names the members that went with it;
    cancel-all lists every waiting member and cancels the group once."""
    adapter, sink, token, account = tradier_streaming
    form = {"class": "otoco", "duration": "gtc",
            "symbol[0]": SYMBOL, "side[0]": "buy", "quantity[0]": "3", "type[0]": "limit",
            "price[0]": "150.00",
            "symbol[1]": SYMBOL, "side[1]": "sell", "quantity[1]": "3", "type[1]": "limit",
            "price[1]": "205.00",
            "symbol[2]": SYMBOL, "side[2]": "sell", "quantity[2]": "3", "type[2]": "stop",
            "stop[2]": "140.00"}  # fmt: skip
    with tradier_client(broker_at_sandbox, token) as api:
        placed = api.post(f"/v1/accounts/{account}/orders", data=form)
        assert placed.status_code == 200, placed.text
        group_id = placed.json()["order"]["id"]
        parent = api.get(f"/v1/accounts/{account}/orders/{group_id}").json()["order"]
    ids = [str(leg["id"]) for leg in parent["leg"]]
    assert sorted(await adapter.working_orders(account)) == sorted(ids)
    result = await cancel_every(adapter, [account])
    assert (sorted(result["cancelled"]), result["failed"], result["error"]) == (
        sorted(ids),
        [],
        None,
    )
    assert len(result["cancelled"]) == 3
    await sink.wait_for(lambda: members(sink, ids, ["Cancelled"] * 3))
    assert await adapter.working_orders(account) == []
