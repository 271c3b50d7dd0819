"""Alpaca's orders as real accounts hold them → the contract's order (issue 39).

Every case is built from an example Alpaca documents; the source is named on each. Short
names used below:

- ENTITY: the Order entity example of the Broker API, alpacahq/alpaca-docs
  content/api-references/broker-api/trading/orders.md ("Order Entity"; a notional buy of
  $500 of AAPL, `qty` null). Cases start from it and change what their own example says.
- ORDERS_MD: alpacahq/alpaca-docs content/trading/orders.md (order types, bracket, OCO,
  OTO, trailing stop, time in force, extended hours).
- EVENTS_MD: alpacahq/alpaca-docs content/api-references/broker-api/events.md (the
  trade-event sample).

Pure unit tests: no sandbox, no network.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from httpx_sse import ServerSentEvent

from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.wire import linked_members, order_payload, position_payload
from streaming.brokers.base import MemoryCheckpoint
from streaming.brokers.values import time_ms
from tests.support.recording import RecordingSink

#: ENTITY, as documented (alpaca-docs broker-api/trading/orders.md, "Order Entity").
ENTITY: dict[str, Any] = {
    "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
    "client_order_id": "eb9e2aaa-f71a-4f51-b5b4-52a6c565dad4",
    "created_at": "2021-03-16T18:38:01.942282Z",
    "updated_at": "2021-03-16T18:38:01.942282Z",
    "submitted_at": "2021-03-16T18:38:01.937734Z",
    "filled_at": None,
    "expired_at": None,
    "canceled_at": None,
    "failed_at": None,
    "replaced_at": None,
    "replaced_by": None,
    "replaces": None,
    "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
    "symbol": "AAPL",
    "asset_class": "us_equity",
    "notional": "500",
    "qty": None,
    "filled_qty": "0",
    "filled_avg_price": None,
    "order_class": "",
    "order_type": "market",
    "type": "market",
    "side": "buy",
    "time_in_force": "day",
    "limit_price": None,
    "stop_price": None,
    "status": "accepted",
    "extended_hours": False,
    "legs": None,
    "trail_percent": None,
    "trail_price": None,
    "hwm": None,
    "commission": 1.25,
}


def order(**fields: Any) -> dict[str, Any]:
    """ENTITY with what another documented example says instead."""
    return {**ENTITY, **fields}


def spy(**fields: Any) -> dict[str, Any]:
    """ORDERS_MD's SPY examples share these: 100 shares, a quantity order (no notional)."""
    return order(**{"symbol": "SPY", "qty": "100", "notional": None, **fields})


# --------------------------------------------------------------------------- single orders


def test_a_notional_market_order_has_no_quantity_and_every_contract_key():
    """ENTITY as documented: `qty` null and `notional` "500" → Notional Market, quantity
    and remaining quantity null (never 0)."""
    assert order_payload(ENTITY, []) == {
        "id": "61e69015-8549-4bfd-b9c3-01e75843f47d",
        "status": "accepted",
        "order_type": "Notional Market",
        "broker_type": "market",
        "time_in_force": "Day",
        "good_till": None,
        "extended_hours": False,
        "price": None,
        "price_effect": None,
        "stop_price": None,
        "trail": None,
        "notional": 500,
        "order_class": "simple",
        "group": None,
        "underlying": "AAPL",
        "legs": [
            {
                "symbol": "AAPL",
                "instrument_type": "Equity",
                "action": "buy",
                "quantity": None,
                "remaining_quantity": None,
                "fills": [],
            }
        ],
        "received_at": time_ms("2021-03-16T18:38:01.937734Z"),
        "updated_at": time_ms("2021-03-16T18:38:01.942282Z"),
        "unsupported": None,
    }


#: ORDERS_MD, "Bracket Orders": a stop-loss with only `stop_price` (sell 100 SPY, 299, gtc).
STOP = spy(type="stop", order_type="stop", side="sell", stop_price="299", time_in_force="gtc")


def test_a_stop_order_is_a_market_order_armed_at_its_stop_price():
    """ORDERS_MD, "Bracket Orders": a stop-loss with only `stop_price` "is queued as a stop
    order" — sell 100 SPY, stop 299, gtc."""
    payload = order_payload(STOP, [])
    assert (payload["order_type"], payload["broker_type"]) == ("Stop", "stop")
    assert (payload["stop_price"], payload["price"], payload["price_effect"]) == (299, None, None)
    assert (payload["time_in_force"], payload["trail"]) == ("GTC", None)


#: ORDERS_MD, "Bracket Orders": the stop-loss with a stop and a limit (sell 100 SPY, gtc).
STOP_LIMIT = spy(
    type="stop_limit",
    order_type="stop_limit",
    side="sell",
    stop_price="299",
    limit_price="298.5",
    time_in_force="gtc",
)


def test_a_stop_limit_order_has_its_limit_and_its_stop():
    """ORDERS_MD, "Bracket Orders": the stop-loss `{"stop_price": "299", "limit_price":
    "298.5"}` "is queued as a stop-limit order" — sell 100 SPY, gtc."""
    payload = order_payload(STOP_LIMIT, [])
    assert (payload["order_type"], payload["broker_type"]) == ("Stop Limit", "stop_limit")
    assert (payload["price"], payload["price_effect"], payload["stop_price"]) == (
        298.5,
        "Credit",
        299,
    )


#: ORDERS_MD, "Trailing Stop Orders": a $6.15 trail, just accepted (no hwm or stop yet).
TRAILING_DOLLARS = spy(type="trailing_stop", order_type="trailing_stop", side="sell",
                       trail_price="6.15", status="new")  # fmt: skip
#: ORDERS_MD, "Trailing Stop Orders": a 1.0% trail at an hwm of 300, its stop at 297.
TRAILING_PERCENT = spy(type="trailing_stop", order_type="trailing_stop", side="sell",
                       trail_percent="1.0", hwm="300", stop_price="297", status="new")  # fmt: skip


def test_a_trailing_stop_in_dollars_before_alpaca_set_its_high_water_mark():
    """ORDERS_MD, "Trailing Stop Orders": `{"side": "sell", "symbol": "SPY", "type":
    "trailing_stop", "qty": "100", "time_in_force": "day", "trail_price": "6.15"}`, just
    accepted ("the order status becomes new"): no hwm or stop yet."""
    payload = order_payload(TRAILING_DOLLARS, [])
    assert (payload["order_type"], payload["broker_type"]) == ("Trailing Stop", "trailing_stop")
    assert payload["trail"] == {"amount": 6.15, "percent": None, "high_water_mark": None}
    assert (payload["stop_price"], payload["status"]) == (None, "new")


def test_a_trailing_stop_in_percent_carries_its_high_water_mark_and_current_stop():
    """ORDERS_MD, "Trailing Stop Orders": `trail_percent` 1.0 on a sell puts the stop at
    `hwm * 0.99`, and the order's `stop_price` is that stop, "continuously updated as hwm
    changes" — at an hwm of 300 it stands at 297."""
    payload = order_payload(TRAILING_PERCENT, [])
    assert payload["order_type"] == "Trailing Stop"
    assert payload["trail"] == {"amount": None, "percent": 1.0, "high_water_mark": 300}
    assert payload["stop_price"] == 297


#: alpaca-docs broker-api/trading/orders.md, "Passing Commissions": 4.125 AAPL at market.
FRACTIONAL = order(qty="4.125", notional=None)


def test_a_fractional_quantity_is_exact():
    """alpaca-docs broker-api/trading/orders.md, "Passing Commissions": `{"symbol":
    "AAPL", "qty": "4.125", "side": "buy", "type": "market", "time_in_force": "day"}`."""
    payload = order_payload(FRACTIONAL, [])
    assert payload["order_type"] == "Market" and payload["notional"] is None
    assert payload["legs"][0]["quantity"] == 4.125
    assert payload["legs"][0]["remaining_quantity"] == 4.125


#: alpacahq/alpaca-py tests/broker/broker_client/test_trading_routes.py,
#: test_close_all_positions_for_account: the BTC/USD order in its answer.
CRYPTO = {
    "id": "e6419d12-56e4-4d67-a61b-f6e464e1f8a8",
    "client_order_id": "c6814ede-8c93-4480-9a27-7a00853d9881",
    "created_at": "2022-07-27T08:12:33.66897767Z",
    "updated_at": "2022-07-27T08:12:33.66902729Z",
    "submitted_at": "2022-07-27T08:12:33.667750101Z",
    "filled_at": None, "expired_at": None, "canceled_at": None, "failed_at": None,
    "replaced_at": None, "replaced_by": None, "replaces": None,
    "asset_id": "276e2673-764b-4ab6-a611-caf665ca6340",
    "symbol": "BTC/USD", "asset_class": "crypto", "notional": None, "qty": "0.0283",
    "filled_qty": "0", "filled_avg_price": None, "order_class": "", "order_type": "market",
    "type": "market", "side": "sell", "time_in_force": "gtc", "limit_price": None,
    "stop_price": None, "status": "pending_new", "extended_hours": False, "legs": None,
    "trail_percent": None, "trail_price": None, "hwm": None,
    "position_intent": "buy_to_open", "subtag": None, "source": None,
}  # fmt: skip


def test_a_crypto_order():
    """alpacahq/alpaca-py tests/broker/broker_client/test_trading_routes.py,
    test_close_all_positions_for_account: the BTC/USD order in its answer."""
    crypto = CRYPTO
    payload = order_payload(crypto, [])
    assert (payload["order_type"], payload["time_in_force"]) == ("Market", "GTC")
    assert (payload["underlying"], payload["status"]) == ("BTC/USD", "pending_new")
    assert payload["legs"] == [
        {
            "symbol": "BTC/USD",
            "instrument_type": "Cryptocurrency",
            "action": "sell",
            "quantity": 0.0283,
            "remaining_quantity": 0.0283,
            "fills": [],
        }
    ]
    assert payload["received_at"] == time_ms("2022-07-27T08:12:33.667750101Z")


#: alpacahq/alpaca-docs data/webapi/entities/position-crypto.yaml, its example.
CRYPTO_POSITION = {
    "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
    "symbol": "BTCUSD",
    "exchange": "FTXU",
    "asset_class": "crypto",
    "avg_entry_price": "19660.5738784516887649",
    "qty": "2.61937",
    "qty_available": "2.61937",
    "side": "long",
    "market_value": "50931.03028",
    "cost_basis": "51498.3174",
    "unrealized_pl": "-567.28712",
    "unrealized_plpc": "-0.0110156437848977",
    "unrealized_intraday_pl": "-514.790552088631999405963",
    "unrealized_intraday_plpc": "-0.0100064600731871",
    "current_price": "19444",
    "lastday_price": "19358",
    "change_today": "0.0044426077074078",
}


def test_a_crypto_position_is_a_cryptocurrency():
    """alpacahq/alpaca-docs data/webapi/entities/position-crypto.yaml (its example):
    a position says `BTCUSD`, not `BTC/USD`. It keeps the symbol Alpaca sent; its
    underlying is the pair as Alpaca's orders spell it, and its streamer symbol the coin on
    tastytrade's crypto venue (`BTC/USD:CXTALP`, developer.tastytrade.com instruments), so
    the user's quote feed can mark it."""
    position = CRYPTO_POSITION
    payload = position_payload(position)
    assert (payload["symbol"], payload["streamer_symbol"], payload["underlying"]) == (
        "BTCUSD",
        "BTC/USD:CXTALP",
        "BTC/USD",
    )
    assert (payload["instrument_type"], payload["multiplier"]) == ("Cryptocurrency", 1)
    assert (payload["quantity"], payload["direction"]) == (2.61937, "Long")


#: ORDERS_MD, "Time in Force": opg (market on open), cls (market on close), ioc, fok.
TIMES_IN_FORCE = [("opg", "OPG"), ("cls", "CLS"), ("ioc", "IOC"), ("fok", "FOK")]


def timed(time_in_force: str) -> dict[str, Any]:
    """ENTITY as a 100-share order (no notional) with the time in force `time_in_force`."""
    return order(qty="100", notional=None, time_in_force=time_in_force)


@pytest.mark.parametrize(("alpaca", "contract"), TIMES_IN_FORCE)
def test_auction_and_immediate_times_in_force(alpaca, contract):
    """ORDERS_MD, "Time in Force": opg (market on open), cls (market on close), ioc, fok."""
    payload = order_payload(timed(alpaca), [])
    assert (payload["time_in_force"], payload["unsupported"]) == (contract, None)


#: ORDERS_MD, "Submitting an Extended Hours Eligible Order": limit 301, day, extended hours.
EXTENDED_LIMIT = spy(type="limit", order_type="limit", limit_price="301", extended_hours=True)


def test_an_extended_hours_limit_day_order():
    """ORDERS_MD, "Submitting an Extended Hours Eligible Order": only `limit` + `day`,
    with `extended_hours` true. The limit is ORDERS_MD's take-profit price (301)."""
    payload = order_payload(EXTENDED_LIMIT, [])
    assert (payload["order_type"], payload["time_in_force"]) == ("Limit", "Day")
    assert (payload["extended_hours"], payload["price"], payload["price_effect"]) == (
        True,
        301,
        "Debit",
    )


#: ORDERS_MD's trailing-stop request body (with an id): no `extended_hours`.
TRAILING_REQUEST = {"side": "sell", "symbol": "SPY", "type": "trailing_stop", "qty": "100",
                    "time_in_force": "day", "trail_price": "6.15", "id": "trail-1"}  # fmt: skip


def test_an_order_without_extended_hours_is_regular_hours():
    """ORDERS_MD's trailing-stop request body has no `extended_hours`: False, not null."""
    assert order_payload(TRAILING_REQUEST, [])["extended_hours"] is False


#: alpacahq/alpaca-py alpaca/trading/models.py (`Order`) and tests/trading/test_trading_models.py:
#: an mleg put spread, limit 1.
MLEG = order(
    symbol="", side="", asset_class="", asset_id="", notional=None, qty="1",
    type="limit", order_type="limit", limit_price="1", order_class="mleg",
    legs=[
        {"id": "leg-1", "symbol": "AAPL250117P00200000", "asset_class": "us_option",
         "side": "buy", "ratio_qty": "1", "qty": "1", "filled_qty": "0", "status": "new"},
        {"id": "leg-2", "symbol": "AAPL250117P00250000", "asset_class": "us_option",
         "side": "sell", "ratio_qty": "1", "qty": "1", "filled_qty": "0", "status": "new"},
    ],
)  # fmt: skip


def test_a_multileg_option_order_reads_its_legs():
    """alpacahq/alpaca-py alpaca/trading/models.py (`Order`): an mleg order's top-level
    `symbol`, `side` and `asset_class` are "" and its legs carry no `type`; the legs are
    tests/trading/test_trading_models.py's (AAPL250117P00200000 buy, AAPL250117P00250000
    sell, ratio 1, qty 1, limit 1)."""
    mleg = MLEG
    payload = order_payload(mleg, [])
    assert (payload["order_class"], payload["order_type"], payload["group"]) == (
        "multileg",
        "Limit",
        None,
    )
    assert payload["underlying"] == "AAPL"
    assert [
        (leg["symbol"], leg["instrument_type"], leg["action"], leg["quantity"])
        for leg in payload["legs"]
    ] == [
        ("AAPL250117P00200000", "Equity Option", "buy", 1),
        ("AAPL250117P00250000", "Equity Option", "sell", 1),
    ]
    assert linked_members(mleg) == []


@pytest.mark.parametrize(
    ("limit", "price", "effect"), [("1", 1, "Debit"), ("-0.45", 0.45, "Credit")]
)
def test_a_multileg_net_limit_is_signed_debit_positive(limit, price, effect):
    """An mleg order has no `side`: its net `limit_price` is signed, positive a debit and
    negative a credit (alpacahq/alpaca-mcp-server src/alpaca_mcp_server/overrides.py,
    place_option_order); the contract's price is unsigned with its effect."""
    payload = order_payload({**MLEG, "limit_price": limit}, [])
    assert (payload["price"], payload["price_effect"]) == (price, effect)


#: ENTITY with a `type` alpaca-py's `OrderType` does not list.
PEGGED = order(type="pegged", order_type="pegged")
#: ORDERS_MD's SPY order under the class `otoco`, which Alpaca does not have.
OTOCO_CLASS = spy(order_class="otoco")
#: ORDERS_MD's SPY order with a time in force Alpaca does not have (gtd).
GTD = spy(time_in_force="gtd")


def test_an_unknown_type_is_kept_as_unsupported():
    """ENTITY with a `type` alpaca-py's `OrderType` (alpaca/trading/enums.py: market, limit,
    stop, stop_limit, trailing_stop) does not list: kept, said, with Alpaca's fields."""
    unknown = PEGGED
    payload = order_payload(unknown, [])
    assert (payload["order_type"], payload["broker_type"]) == ("Unsupported", "pegged")
    assert payload["unsupported"] == {"kind": "order_type", "name": "pegged", "fields": unknown}
    assert payload["legs"][0]["symbol"] == "AAPL"


def test_an_unknown_class_is_kept_as_unsupported():
    """ORDERS_MD calls a bracket "a common use case of an OTOCO" order; Alpaca has no
    `otoco` class (alpaca-py `OrderClass`): one that came would be kept and said."""
    unknown = OTOCO_CLASS
    payload = order_payload(unknown, [])
    assert (payload["order_class"], payload["group"]) == ("Unsupported", None)
    assert payload["unsupported"] == {"kind": "order_class", "name": "otoco", "fields": unknown}
    assert linked_members(unknown) == []


def test_an_unknown_time_in_force_is_kept_as_unsupported():
    """Alpaca has no GTD (ORDERS_MD's "Time in Force" lists day, gtc, opg, cls, ioc, fok)."""
    unknown = GTD
    payload = order_payload(unknown, [])
    assert payload["time_in_force"] == "Unsupported"
    assert payload["unsupported"] == {"kind": "time_in_force", "name": "gtd", "fields": unknown}


# --------------------------------------------------------------------------- linked orders
# ORDERS_MD: "Each order of the group is reported as an independent order in GET
# /v2/orders endpoint. But if you specify additional parameter nested=true, the order
# response will nest the result to include child orders under the parent order with an
# array field legs". The ids are this file's own (the examples are request bodies).

PARENT = "9a6e4c61-0000-4000-8000-000000000001"
TAKE_PROFIT = "9a6e4c61-0000-4000-8000-000000000002"
STOP_LOSS = "9a6e4c61-0000-4000-8000-000000000003"


def take_profit(**fields: Any) -> dict[str, Any]:
    """ORDERS_MD's take-profit: "A sell limit order for the same 100 SPY, with limit price
    = 301"; `held` until the entry fills
    (forum.alpaca.markets/t/bracket-order-exit-trades-not-executing/3697)."""
    return spy(
        **{
            "id": TAKE_PROFIT,
            "type": "limit",
            "order_type": "limit",
            "side": "sell",
            "limit_price": "301",
            "time_in_force": "gtc",
            "status": "held",
            **fields,
        }
    )


def stop_loss(**fields: Any) -> dict[str, Any]:
    """ORDERS_MD's stop-loss: "A sell stop-limit order, with stop price = 299 and limit
    price = 298.5"."""
    return spy(
        **{
            "id": STOP_LOSS,
            "type": "stop_limit",
            "order_type": "stop_limit",
            "side": "sell",
            "stop_price": "299",
            "limit_price": "298.5",
            "time_in_force": "gtc",
            "status": "held",
            **fields,
        }
    )


def bracket() -> dict[str, Any]:
    """ORDERS_MD's bracket: `{"side": "buy", "symbol": "SPY", "type": "market", "qty":
    "100", "time_in_force": "gtc", "order_class": "bracket", "take_profit": {...},
    "stop_loss": {...}}`, listed with nested=true."""
    return spy(
        id=PARENT,
        order_class="bracket",
        time_in_force="gtc",
        status="new",
        legs=[take_profit(order_class="bracket"), stop_loss(order_class="bracket")],
    )


def groups(members: list[tuple[dict[str, Any], Any]]) -> list[tuple[str, dict[str, str]]]:
    return [(m["id"], g) for m, g in members]


def test_a_bracket_is_three_orders_with_one_group():
    members = linked_members(bracket())
    assert groups(members) == [
        (PARENT, {"id": PARENT, "class": "bracket", "role": "trigger"}),
        (TAKE_PROFIT, {"id": PARENT, "class": "bracket", "role": "take_profit"}),
        (STOP_LOSS, {"id": PARENT, "class": "bracket", "role": "stop_loss"}),
    ]
    entry, profit, loss = (order_payload(m, [], group=g) for m, g in members)
    # the entry's legs are its own, not its children
    assert [(leg["symbol"], leg["action"], leg["quantity"]) for leg in entry["legs"]] == [
        ("SPY", "buy", 100)
    ]
    assert (entry["order_type"], entry["order_class"], entry["status"]) == (
        "Market",
        "bracket",
        "new",
    )
    assert (profit["order_type"], profit["price"], profit["status"]) == ("Limit", 301, "held")
    assert (loss["order_type"], loss["stop_price"], loss["price"], loss["status"]) == (
        "Stop Limit",
        299,
        298.5,
        "held",
    )


#: ORDERS_MD's OCO, listed with nested=true: the take-profit is the parent.
OCO = take_profit(order_class="oco", status="new", legs=[stop_loss(order_class="oco")])
#: ORDERS_MD's OTO (a market entry and its stop-loss), listed with nested=true.
OTO = spy(id=PARENT, order_class="oto", time_in_force="gtc", status="new",
          legs=[stop_loss(order_class="oto")])  # fmt: skip


def test_an_oco_parent_is_its_take_profit():
    """ORDERS_MD's OCO: `{"side": "sell", "symbol": "SPY", "type": "limit", "qty": "100",
    "time_in_force": "gtc", "order_class": "oco", "take_profit": {"limit_price": "301"},
    "stop_loss": {"stop_price": "299", "limit_price": "298.5"}}`; "the take-profit order
    shows up as the parent order while the stop-loss order appears as a child"."""
    oco = OCO
    assert groups(linked_members(oco)) == [
        (TAKE_PROFIT, {"id": TAKE_PROFIT, "class": "oco", "role": "take_profit"}),
        (STOP_LOSS, {"id": TAKE_PROFIT, "class": "oco", "role": "stop_loss"}),
    ]
    assert order_payload(oco, [])["order_class"] == "oco"


def test_an_oto_is_an_entry_and_one_exit():
    """ORDERS_MD's OTO: `{"side": "buy", "symbol": "SPY", "type": "market", "qty": "100",
    "time_in_force": "gtc", "order_class": "oto", "stop_loss": {"stop_price": "299",
    "limit_price": "298.5"}}`."""
    oto = OTO
    assert groups(linked_members(oto)) == [
        (PARENT, {"id": PARENT, "class": "oto", "role": "trigger"}),
        (STOP_LOSS, {"id": PARENT, "class": "oto", "role": "stop_loss"}),
    ]


# --------------------------------------------------------------------------- the adapter


def adapter() -> AlpacaAdapter:
    """An adapter that is never connected: its order folding is called directly."""
    made = AlpacaAdapter(
        link_id=3,
        key_id="AK-test",
        secret_key="unused",
        api_url="http://127.0.0.1:9",
        checkpoint=MemoryCheckpoint(),
    )
    made.connection.accounts = {"c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4": "A1"}
    return made


def frames(sink: RecordingSink) -> dict[str, dict[str, Any]]:
    """The last order frame of each order id."""
    return {p["id"]: p for kind, _, _, p in sink.events if kind == "order"}


async def test_the_adapter_applies_a_nested_bracket_as_three_orders():
    alpaca, sink = adapter(), RecordingSink()
    await alpaca.book.apply_order(sink, "A1", bracket(), synthesize=True)
    seen = frames(sink)
    assert {oid: (p["group"]["role"], p["status"]) for oid, p in seen.items()} == {
        PARENT: ("trigger", "new"),
        TAKE_PROFIT: ("take_profit", "held"),
        STOP_LOSS: ("stop_loss", "held"),
    }
    assert {p["group"]["id"] for p in seen.values()} == {PARENT}


async def test_a_child_that_comes_alone_keeps_its_group():
    """After the nested REST read, the take-profit's own fill event (EVENTS_MD's sample
    shape; Alpaca's child carries no parent id) and the stop-loss listed alone (a
    non-nested row) still belong to the bracket."""
    alpaca, sink = adapter(), RecordingSink()
    await alpaca.book.apply_order(sink, "A1", bracket(), synthesize=True)
    filled = take_profit(order_class="bracket", status="filled", filled_qty="100",
                         filled_avg_price="301", updated_at="2021-03-16T18:40:00Z")  # fmt: skip
    event = {
        "account_id": "c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4",
        "at": "2021-03-16T18:40:00Z",
        "event": "fill",
        "event_id": 3014424,
        "execution_id": "a829b698-da07-479f-91e6-f204c77573fc",
        "order": filled,
        "price": "301",
        "qty": "100",
        "position_qty": "0",
        "timestamp": "2021-03-16T18:40:00Z",
    }
    await alpaca.account._on_event(sink, ServerSentEvent(data=orjson.dumps(event).decode()))
    cancelled = stop_loss(order_class="bracket", status="canceled",
                          updated_at="2021-03-16T18:40:01Z")  # fmt: skip
    await alpaca.book.apply_order(sink, "A1", cancelled, synthesize=True)
    seen = frames(sink)
    assert seen[TAKE_PROFIT]["group"] == {"id": PARENT, "class": "bracket", "role": "take_profit"}
    assert seen[TAKE_PROFIT]["legs"][0]["fills"] == [
        {"id": f"{TAKE_PROFIT}:100", "quantity": 100, "price": 301,
         "at": time_ms("2021-03-16T18:40:00Z")}
    ]  # fmt: skip
    assert seen[STOP_LOSS]["group"] == {"id": PARENT, "class": "bracket", "role": "stop_loss"}
    assert seen[STOP_LOSS]["status"] == "canceled"
    assert seen[PARENT]["legs"][0]["fills"] == []


async def test_order_polls_ask_for_nested_linked_orders():
    """ORDERS_MD: only `nested=true` puts the children under their parent."""

    class Client:
        def __init__(self) -> None:
            self.asked: list[dict[str, Any]] = []

        async def orders(self, account_id: str, **params: Any) -> list[dict[str, Any]]:
            self.asked.append(params)
            return [bracket()]

    alpaca, sink, client = adapter(), RecordingSink(), Client()
    await alpaca.account._poll_orders(client, sink, "c8f1ef5d-edc0-4f23-9ee4-378f19cb92a4",
                              synthesize=True)  # type: ignore[arg-type]  # fmt: skip
    assert [p["nested"] for p in client.asked] == ["true", "true"]
    assert set(frames(sink)) == {PARENT, TAKE_PROFIT, STOP_LOSS}
