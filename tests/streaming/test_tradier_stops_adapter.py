"""The app's Tradier adapter reads a stop order from the sandbox's Tradier façade: the
order placed with Tradier's documented form (docs.tradier.com "Place an equity order":
`type=stop`, `stop=<trigger>`), read back through `GET /v1/accounts/{id}/orders` (its
`type` and `stop_price`, reference/response/orders) and mapped by
`streaming/brokers/tradier/wire.py` `order_payloads`: first Live with its stop price, then,
once the price crosses the trigger, Filled with its fill.
"""

from __future__ import annotations

from tests.support.recording import RecordingSink
from tests.support.tradier import tradier_client
from tests.support.tradier_adapter import SYMBOL


def frames(sink: RecordingSink, order_id: int) -> list[dict]:
    return [p for k, _, _, p in sink.events if k == "order" and str(p["id"]) == str(order_id)]


def latest(sink: RecordingSink, order_id: int, status: str) -> dict | None:
    """The order's last frame if it has `status`."""
    seen = frames(sink, order_id)
    return seen[-1] if seen and seen[-1]["status"] == status else None


async def test_a_stop_is_shown_live_with_its_trigger_then_filled(
    broker_at_sandbox, control, tradier_streaming
):
    _, sink, token, account = tradier_streaming
    with tradier_client(broker_at_sandbox, token) as api:
        placed = api.post(
            f"/v1/accounts/{account}/orders",
            data={"class": "equity", "symbol": SYMBOL, "side": "buy", "quantity": "3",
                  "type": "stop", "duration": "gtc", "stop": "210.00"},
        )  # fmt: skip
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    control.step()  # Received -> open; the mark (200) is under the trigger

    live = await sink.wait_for(lambda: latest(sink, order_id, "Live"))
    assert (live["order_type"], live["broker_type"]) == ("Stop", "stop")
    assert live["stop_price"] == 210.0 and live["price"] is None
    assert live["time_in_force"] == "GTC" and live["order_class"] == "simple"
    (leg,) = live["legs"]
    assert (leg["symbol"], leg["action"], leg["quantity"]) == (SYMBOL, "buy", 3)
    assert leg["fills"] == [] and live["unsupported"] is None

    control.set_price(SYMBOL, 211.0)  # crosses the trigger: now a market order
    control.step()
    filled = await sink.wait_for(lambda: latest(sink, order_id, "Filled"))
    assert filled["order_type"] == "Stop" and filled["stop_price"] == 210.0
    (leg,) = filled["legs"]
    (fill,) = leg["fills"]
    assert fill["quantity"] == 3 and fill["price"] >= 210.0
    assert leg["remaining_quantity"] == 0
