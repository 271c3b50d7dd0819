"""Every documented broker order example, carried from the broker's own words to the page.

tests/streaming/test_orders_real_tastytrade.py, test_orders_real_tradier.py and
test_orders_real_alpaca.py map tastytrade's, Tradier's and Alpaca's documented orders through
each adapter's wire functions into the contract's order objects, and stop there. This module
takes each of those examples (the same example objects, through the same wire function) on:

1. into the stream's state: `UserState.apply_account_event("order", …)`, then
   `snapshot()` (streaming/stream/state.py): the order as every tab first gets it;
2. onto the page: `orders_panel(snapshot)` (streaming/order_list.py) rendered by
   templates/streaming/_orders_panel.html, read back as a trader reads it: each entry's
   status, underlying, terms (`[data-field=terms]`), link (`[data-field=link]`,
   `data-linked`, `data-member`), broker and account, and each leg's words (`.leg-desc`,
   `.leg-filled`, each `.fill`) (docs/streaming-contract.md, "The dashboard's panel").

The expected words are written by hand from what each broker's example says, in the
panel's vocabulary (streaming/order_terms.py, tests/js/order-terms.test.mjs): a stop at 105
good till cancelled is `Stop 105.00 GTC`, a leg the broker sent no quantity for says no
quantity, each leg's instrument by its display name (`SPY 18 Oct 19 295 C`; a one-digit
future year is the one from last year on: `/CLZ2` is `/CL Dec 32`). The browser writes the
same words for every one of these orders: tests/streaming/test_order_terms.py compares them
through node (`documented_orders`).

Each case names its source with the three modules' short names:
- tastytrade (developer.tastytrade.com as copied in tastytrade/tastytrade-mcp @ff4313c,
  tastytrade-llms-txt-docs/docs/): ORDER_SUBMISSION (order-submission.md), ORDER_MANAGEMENT
  (order-management.md), API_OVERVIEW (api-overview.md); the OpenAPI orders spec
  (api-evangelist/tastytrade openapi/_original/orders.json) for `Allocate` and `BLAST`.
- Tradier: GET_ORDERS (documentation.tradier.com/brokerage-api/accounts/get-account-orders),
  LUMIBOT_OCO (Lumiwealth/lumibot tests/test_tradier.py `test_oco_parse_broker_order`) and
  the place-order pages of documentation.tradier.com (place-equity-order, place-oto-order,
  place-otoco-order, place-multileg-order).
- Alpaca: ENTITY (alpacahq/alpaca-docs content/api-references/broker-api/trading/orders.md,
  "Order Entity"), ORDERS_MD (alpacahq/alpaca-docs content/trading/orders.md), and
  alpacahq/alpaca-py (tests/broker/broker_client/test_trading_routes.py,
  alpaca/trading/models.py, tests/trading/test_trading_models.py).

Pure: no network, no database, no sleeps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, cast

import orjson
import pytest
from django.template.loader import render_to_string
from tastytrade.order import PlacedComplexOrder, PlacedOrder

from streaming.brokers.alpaca import wire as alpaca_wire
from streaming.brokers.tastytrade import wire as tastytrade_wire
from streaming.brokers.tradier import wire as tradier_wire
from streaming.brokers.tradier.fills import FillBook
from streaming.order_list import orders_panel
from streaming.stream.state import LinkInfo, UserState
from tests.streaming import test_orders_real_alpaca as alpaca
from tests.streaming import test_orders_real_tastytrade as tastytrade
from tests.streaming import test_orders_real_tradier as tradier

#: The one link of each case's stream, and when its orders arrive.
LINK = 1
NOW_MS = 1_760_000_000_000
#: The link each broker's orders come by: (broker, label, simulated).
LINKS = {
    "tastytrade": ("tastytrade", "Margin", False),
    "tradier": ("tradier", "Brokerage", False),
    "alpaca": ("alpaca", "Paper", True),
}
#: Tradier's and Alpaca's order examples name no account: this module's own numbers.
TRADIER_ACCOUNT = "VA000001"
ALPACA_ACCOUNT = "A1"


# -------------------------------------------------------------------------- the expected page
@dataclass(frozen=True)
class Leg:
    """A leg as the panel says it: `.leg-desc`, `.leg-filled` (its text, with the space that
    parts it from the description) and each `.fill`."""

    desc: str
    filled: str | None = None
    fills: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One `<li class="order">` of the panel, and the order it shows as the state holds it
    (`order_class`, and each leg's `instrument_type`: `kinds`)."""

    key: str
    status: str
    underlying: str
    terms: str
    legs: tuple[Leg, ...]
    kinds: tuple[str, ...]
    order_class: str = "simple"
    link: str | None = None
    linked: str | None = None
    member: bool = False


@dataclass(frozen=True)
class Case:
    """A documented example (`source`), the wire function's orders for it (`payloads`, as
    its module calls it), and the panel's entries for them, in the panel's order."""

    id: str
    source: str
    broker: str
    account: str
    payloads: Callable[[], list[Any]]
    entries: tuple[Entry, ...]


def key(order_id: object) -> str:
    return f"{LINK}:{order_id}"


# -------------------------------------------------------------------------- tastytrade
def tt_placed(body: dict[str, Any], underlying: str, kind: str) -> Callable[[], list[Any]]:
    """The module's path for an ORDER_SUBMISSION body: `placed`, then `order_payload`."""
    return lambda: [tastytrade_wire.order_payload(tastytrade.placed(body, underlying, kind))]


def tt_complex(complex_order: dict[str, Any]) -> Callable[[], list[Any]]:
    """The module's path for a complex order: the SDK's model, `complex_order_payloads`."""
    return lambda: tastytrade_wire.complex_order_payloads(
        PlacedComplexOrder.model_validate(copy.deepcopy(complex_order))
    )


def tt_components(components: list[dict[str, Any]]) -> Callable[[], list[Any]]:
    """The same components listed alone (live orders, an `Order` message): `order_payload`."""
    return lambda: [
        tastytrade_wire.order_payload(PlacedOrder.model_validate(copy.deepcopy(c)))
        for c in components
    ]


TT_ACCOUNT = str(tastytrade.PLACED["account-number"])  # "5WT0001"
TT_ORDER = key(tastytrade.PLACED["id"])  # 771043, status Routed
AAPL = "AAPL"

#: ORDER_MANAGEMENT, "Submit Complex Order", OTOCO: UA, buy 100 at a 6.50 debit, then sell
#: 100 at an 8.00 credit or stop at 6.00, all Day, all Contingent.
TT_OTOCO = (
    Entry(
        key(2002750870), "Contingent", "UA", "Limit 6.50 Debit Day",
        (Leg("Buy to Open 100 UA"),), ("Equity",), "otoco",
        "OTOCO on UA: 3 orders · entry", "2000010530",
    ),
    Entry(
        key(2002750871), "Contingent", "UA", "Limit 8.00 Credit Day",
        (Leg("Sell to Close 100 UA"),), ("Equity",), "otoco",
        "OTOCO on UA: 3 orders · take profit", "2000010530", member=True,
    ),
    Entry(
        key(2002750872), "Contingent", "UA", "Stop 6.00 Day",
        (Leg("Sell to Close 100 UA"),), ("Equity",), "otoco",
        "OTOCO on UA: 3 orders · stop loss", "2000010530", member=True,
    ),
)  # fmt: skip
#: ORDER_MANAGEMENT, "Submit Complex Order", OCO: AAPL, sell 100 at a 200.50 credit or stop
#: at 150.25, GTC.
TT_OCO = (
    Entry(
        key(2002750868), "Contingent", AAPL, "Limit 200.50 Credit GTC",
        (Leg("Sell to Close 100 AAPL"),), ("Equity",), "oco",
        "OCO on AAPL: 2 orders · take profit", "2000010529",
    ),
    Entry(
        key(2002750869), "Contingent", AAPL, "Stop 150.25 GTC",
        (Leg("Sell to Close 100 AAPL"),), ("Equity",), "oco",
        "OCO on AAPL: 2 orders · stop loss", "2000010529", member=True,
    ),
)  # fmt: skip
#: ORDER_MANAGEMENT, "Submit Complex Order", OTO: a two-leg AAPL option trigger at a 1.50
#: debit, then two single-leg market orders (neither a take profit nor a stop loss).
TT_OTO = (
    Entry(
        key(4007362691), "Contingent", AAPL, "Limit 1.50 Debit Day",
        (Leg("Buy to Close 1 AAPL 14 Feb 25 240 C"), Leg("Buy to Close 1 AAPL 14 Feb 25 235 P")),
        ("Equity Option", "Equity Option"), "oto", "OTO on AAPL: 3 orders · entry", "2000054627",
    ),
    Entry(
        key(4007362692), "Contingent", AAPL, "Market Day",
        (Leg("Sell to Close 1 AAPL 14 Feb 25 242.5 C"),), ("Equity Option",), "oto",
        "OTO on AAPL: 3 orders · member", "2000054627", member=True,
    ),
    Entry(
        key(4007362693), "Contingent", AAPL, "Market Day",
        (Leg("Sell to Close 1 AAPL 14 Feb 25 232.5 P"),), ("Equity Option",), "oto",
        "OTO on AAPL: 3 orders · member", "2000054627", member=True,
    ),
)  # fmt: skip


def tt_limit(time_in_force: str) -> Case:
    """ORDER_SUBMISSION, "Limit Order Example" (buy 100 AAPL at a 5.00 debit) in each time
    in force of its "Time In Force" table and IOC: an Ext session is its own words (no
    separate `ext hours`)."""
    return Case(
        f"tastytrade-limit-{time_in_force.lower().replace(' ', '-')}",
        'ORDER_SUBMISSION, "Limit Order Example", "Time In Force"',
        "tastytrade",
        TT_ACCOUNT,
        tt_placed(tastytrade.limit_body(time_in_force), AAPL, "Equity"),
        (
            Entry(
                TT_ORDER, "Routed", AAPL, f"Limit 5.00 Debit {time_in_force}",
                (Leg("Buy to Open 100 AAPL"),), ("Equity",),
            ),
        ),
    )  # fmt: skip


#: The OpenAPI's complex type BLAST (ORDER_MANAGEMENT's OTOCO so typed): each member keeps
#: its own terms, said as unsupported in the broker's name; its link keeps its id and role.
TT_BLAST = (
    Entry(
        key(2002750870), "Contingent", "UA", "unsupported: BLAST Limit 6.50 Debit Day",
        (Leg("Buy to Open 100 UA"),), ("Equity",), "Unsupported",
        "Unsupported on UA: 3 orders · entry", "2000010530",
    ),
    Entry(
        key(2002750871), "Contingent", "UA", "unsupported: BLAST Limit 8.00 Credit Day",
        (Leg("Sell to Close 100 UA"),), ("Equity",), "Unsupported",
        "Unsupported on UA: 3 orders · member", "2000010530", member=True,
    ),
    Entry(
        key(2002750872), "Contingent", "UA", "unsupported: BLAST Stop 6.00 Day",
        (Leg("Sell to Close 100 UA"),), ("Equity",), "Unsupported",
        "Unsupported on UA: 3 orders · member", "2000010530", member=True,
    ),
)  # fmt: skip

TASTYTRADE_CASES = [
    Case(
        "tastytrade-stop",
        'ORDER_SUBMISSION, "Closing Stop Market Order Example": sell 100 AAPL, stop 105, GTC',
        "tastytrade", TT_ACCOUNT, tt_placed(tastytrade.STOP_BODY, AAPL, "Equity"),
        (Entry(TT_ORDER, "Routed", AAPL, "Stop 105.00 GTC",
               (Leg("Sell to Close 100 AAPL"),), ("Equity",)),),
    ),
    Case(
        "tastytrade-stop-limit",
        'ORDER_SUBMISSION, "Stop Limit Order Example": buy 100 AAPL, stop 110, limit 115 Debit',
        "tastytrade", TT_ACCOUNT, tt_placed(tastytrade.STOP_LIMIT_BODY, AAPL, "Equity"),
        (Entry(TT_ORDER, "Routed", AAPL, "Stop 110.00, limit 115.00 Debit GTC",
               (Leg("Buy to Open 100 AAPL"),), ("Equity",)),),
    ),
    Case(
        "tastytrade-notional-crypto",
        'ORDER_SUBMISSION, "Notional Cryptocurrency Order": $10 of BTC/USD, no quantity',
        "tastytrade", TT_ACCOUNT,
        tt_placed(tastytrade.NOTIONAL_CRYPTO_BODY, "BTC/USD", "Cryptocurrency"),
        (Entry(TT_ORDER, "Routed", "BTC/USD", "Notional Market $10.00 GTC",
               (Leg("Buy to Open BTC/USD"),), ("Cryptocurrency",)),),
    ),
    Case(
        "tastytrade-gtd",
        'ORDER_SUBMISSION, "AAPL GTD Order": limit 0.85 Credit, gtc-date 2022-12-01',
        "tastytrade", TT_ACCOUNT, tt_placed(tastytrade.GTD_BODY, AAPL, "Equity"),
        (Entry(TT_ORDER, "Routed", AAPL, "Limit 0.85 Credit GTD 2022-12-01",
               (Leg("Buy to Open 1 AAPL"),), ("Equity",)),),
    ),
    *(tt_limit(time_in_force) for time_in_force, _ in tastytrade.TIMES_IN_FORCE),
    Case(
        "tastytrade-future",
        'ORDER_SUBMISSION, "Short Futures Limit Order": sell 1 /CLZ2 at 90.03 Credit',
        "tastytrade", TT_ACCOUNT, tt_placed(tastytrade.FUTURE_BODY, "/CL", "Future"),
        (Entry(TT_ORDER, "Routed", "/CL", "Limit 90.03 Credit Day",
               (Leg("Sell to Open 1 /CL Dec 32"),), ("Future",)),),
    ),
    Case(
        "tastytrade-future-option",
        "API_OVERVIEW's future option ./CLZ2 LO1X2 221104C91 in ORDER_SUBMISSION's futures "
        "order: buy 2 at 1.25 Debit",
        "tastytrade", TT_ACCOUNT, tt_placed(tastytrade.FUTURE_OPTION_BODY, "/CL", "Future"),
        (Entry(TT_ORDER, "Routed", "/CL", "Limit 1.25 Debit Day",
               (Leg("Buy to Open 2 /CL Dec 22 91 C 4 Nov"),), ("Future Option",)),),
    ),
    Case(
        "tastytrade-crypto-quantity",
        'ORDER_SUBMISSION, "Quantity": buy 0.001 BTC/USD at 95,000.50 Debit, GTC',
        "tastytrade", TT_ACCOUNT,
        tt_placed(tastytrade.CRYPTO_QUANTITY_BODY, "BTC/USD", "Cryptocurrency"),
        (Entry(TT_ORDER, "Routed", "BTC/USD", "Limit 95,000.50 Debit GTC",
               (Leg("Buy to Open 0.001 BTC/USD"),), ("Cryptocurrency",)),),
    ),
    Case(
        "tastytrade-multileg-spread",
        'ORDER_MANAGEMENT, "Submit Order" response: a SPY call spread at 3.00 Credit',
        "tastytrade", TT_ACCOUNT,
        lambda: [tastytrade_wire.order_payload(PlacedOrder.model_validate(
            {**tastytrade.PLACED, **copy.deepcopy(tastytrade.SUBMITTED_SPREAD)}))],
        (Entry(TT_ORDER, "Routed", "SPY", "Limit 3.00 Credit Day",
               (Leg("Sell to Open 1 SPY 18 Oct 19 295 C"),
                Leg("Buy to Open 1 SPY 18 Oct 19 298 C")),
               ("Equity Option", "Equity Option"), "multileg"),),
    ),
    Case(
        "tastytrade-otoco",
        'ORDER_MANAGEMENT, "Submit Complex Order", OTOCO response',
        "tastytrade", "5WT00001", tt_complex(tastytrade.OTOCO), TT_OTOCO,
    ),
    Case(
        "tastytrade-otoco-components",
        'ORDER_MANAGEMENT, "Submit Complex Order", OTOCO response: its components listed alone',
        "tastytrade", "5WT00001",
        tt_components([tastytrade.OTOCO["trigger-order"], *tastytrade.OTOCO["orders"]]),
        TT_OTOCO,
    ),
    Case(
        "tastytrade-oco",
        'ORDER_MANAGEMENT, "Submit Complex Order", OCO response',
        "tastytrade", "5WT00001", tt_complex(tastytrade.OCO), TT_OCO,
    ),
    Case(
        "tastytrade-oco-components",
        'ORDER_MANAGEMENT, "Submit Complex Order", OCO response: its orders listed alone',
        "tastytrade", "5WT00001", tt_components(tastytrade.OCO["orders"]), TT_OCO,
    ),
    Case(
        "tastytrade-oto",
        'ORDER_MANAGEMENT, "Submit Complex Order", OTO response',
        "tastytrade", "5WT05674", tt_complex(tastytrade.OTO), TT_OTO,
    ),
    Case(
        "tastytrade-oto-components",
        'ORDER_MANAGEMENT, "Submit Complex Order", OTO response: its components listed alone',
        "tastytrade", "5WT05674",
        tt_components([tastytrade.OTO["trigger-order"], *tastytrade.OTO["orders"]]), TT_OTO,
    ),
    Case(
        "tastytrade-unsupported-class-pairs",
        "ORDER_MANAGEMENT's OCO limit component tagged PAIRS::order (the SDK's "
        "ComplexOrderType)",
        "tastytrade", "5WT00001", tt_components([tastytrade.PAIRS_COMPONENT]),
        (Entry(key(2002750868), "Contingent", AAPL,
               "unsupported: PAIRS::order Limit 200.50 Credit GTC",
               (Leg("Sell to Close 100 AAPL"),), ("Equity",), "Unsupported",
               "Unsupported on AAPL: 1 order · member", "2000010529"),),
    ),
    Case(
        "tastytrade-unsupported-action-allocate",
        "the OpenAPI orders spec's leg action Allocate, which the SDK cannot read: 100 AAPL at "
        "market, 60 filled at 190.25",
        "tastytrade", TT_ACCOUNT,
        lambda: [tastytrade_wire.order_from_json(copy.deepcopy(tastytrade.ALLOCATE))],
        (Entry(TT_ORDER, "Routed", AAPL, "unsupported: Allocate Market Day",
               (Leg("Allocate 100 AAPL", " 60/100 filled", ("filled 60 @ 190.25",)),),
               ("Equity",)),),
    ),
    Case(
        "tastytrade-unsupported-class-blast",
        "the OpenAPI orders spec's complex type BLAST (ORDER_MANAGEMENT's OTOCO so typed)",
        "tastytrade", "5WT00001",
        lambda: tastytrade_wire.complex_orders_from_json(copy.deepcopy(tastytrade.BLAST)),
        TT_BLAST,
    ),
]  # fmt: skip


# -------------------------------------------------------------------------- Tradier
def tradier_orders(order: dict[str, Any] | Callable[[], dict[str, Any]]) -> Callable[[], list]:
    """The module's path: `order_payloads(order, FillBook())`."""
    return lambda: tradier_wire.order_payloads(
        order() if callable(order) else copy.deepcopy(order), FillBook()
    )


def tradier_case(
    case_id: str, source: str, order: Any, *entries: Entry
) -> Case:  # one account for every Tradier example
    return Case(case_id, source, "tradier", TRADIER_ACCOUNT, tradier_orders(order), entries)


#: Tradier's SPY180720C00274000 as the panel says it: its display name.
SPY_CALL_NAME = "SPY 20 Jul 18 274 C"
CONDOR_LEGS = (
    Leg("buy_to_open 1 SPY 20 Jul 18 274 C"),
    Leg("sell_to_open 1 SPY 20 Jul 18 275 C"),
    Leg("sell_to_open 1 SPY 20 Jul 18 276 C"),
    Leg("buy_to_open 1 SPY 20 Jul 18 277 C"),
)
CONDOR_KINDS = ("Equity Option",) * 4
#: GET_ORDERS, order 228175: buy 50 AAPL at 22.00 in the pre-market session, expired
#: unfilled (Tradier's remaining_quantity 0 with nothing executed: it filled nothing).
LIMIT_PRE = Entry(
    key(228175), "Expired", AAPL, "Limit 22.00 Debit Pre", (Leg("buy 50 AAPL"),), ("Equity",)
)


def tradier_duration(duration: str, session: str) -> Case:
    """GET_ORDERS, order 228175, in each duration of the place-equity-order page."""
    return tradier_case(
        f"tradier-duration-{duration}",
        "GET_ORDERS, order 228175, in place-equity-order's duration " + duration,
        {**tradier.EQUITY_LIMIT_PRE, "duration": duration},
        Entry(LIMIT_PRE.key, "Expired", AAPL, f"Limit 22.00 Debit {session}",
              LIMIT_PRE.legs, LIMIT_PRE.kinds),
    )  # fmt: skip


TRADIER_CASES = [
    tradier_case(
        "tradier-limit-pre", "GET_ORDERS, order 228175: an equity limit, pre-market",
        tradier.EQUITY_LIMIT_PRE, LIMIT_PRE,
    ),
    *(tradier_duration(duration, session) for duration, session in tradier.DURATIONS),
    tradier_case(
        "tradier-option-market", "GET_ORDERS, order 228749: buy to open 1 SPY call at market",
        tradier.OPTION_MARKET,
        Entry(key(228749), "Expired", "SPY", "Market Pre", (Leg(f"buy_to_open 1 {SPY_CALL_NAME}"),),
              ("Equity Option",)),
    ),
    tradier_case(
        "tradier-stop", "LUMIBOT_OCO's stop (16710954) listed alone: stop 2.78, GTC, cancelled",
        tradier.OCO["leg"][1],
        Entry(key(16710954), "Cancelled", "SPY", "Stop 2.78 GTC",
              (Leg("sell_to_close 1 SPY 1 Jan 20 150 C"),), ("Equity Option",)),
    ),
    tradier_case(
        "tradier-stop-limit", "place-equity-order: SPY, buy 10, stop_limit, price 1.00, stop 1.00",
        tradier.STOP_LIMIT,
        Entry(key(1), "Live", "SPY", "Stop 1.00, limit 1.00 Debit Day", (Leg("buy 10 SPY"),),
              ("Equity",)),
    ),
    tradier_case(
        "tradier-stop-form", "place-equity-order: AAPL, sell 10, stop, the form's `stop` 120",
        tradier.STOP_FORM,
        Entry(key(1), "Live", AAPL, "Stop 120.00 Day", (Leg("sell 10 AAPL"),), ("Equity",)),
    ),
    tradier_case(
        "tradier-combo", "GET_ORDERS, order 229063: a covered call (combo) at a 42.00 debit",
        tradier.COMBO_DEBIT,
        Entry(key(229063), "Cancelled", "SPY", "Limit 42.00 Debit Pre",
              (Leg("buy 100 SPY"), Leg(f"sell_to_close 1 {SPY_CALL_NAME}")),
              ("Equity", "Equity Option"), "combo"),
    ),
    tradier_case(
        "tradier-multileg-credit", "GET_ORDERS, order 229123: a condor at a 0.80 credit",
        tradier.MULTILEG_CREDIT,
        Entry(key(229123), "Expired", "SPY", "Limit 0.80 Credit Pre", CONDOR_LEGS, CONDOR_KINDS,
              "multileg"),
    ),
    tradier_case(
        "tradier-multileg-debit", "GET_ORDERS' condor as place-multileg-order's debit 1.00",
        tradier.MULTILEG_DEBIT,
        Entry(key(229123), "Expired", "SPY", "Limit 1.00 Debit Pre", CONDOR_LEGS, CONDOR_KINDS,
              "multileg"),
    ),
    # even: a net price of 0 that neither pays nor receives (the contract: price 0, no effect)
    tradier_case(
        "tradier-multileg-even", "GET_ORDERS' condor as place-multileg-order's even (no price)",
        tradier.MULTILEG_EVEN,
        Entry(key(229123), "Expired", "SPY", "Limit 0.00 Pre", CONDOR_LEGS, CONDOR_KINDS,
              "multileg"),
    ),
    tradier_case(
        "tradier-multileg-one-leg", "GET_ORDERS' condor with one leg, sent as a bare object",
        tradier.SINGLE_LEG,
        Entry(key(229123), "Expired", "SPY", "Limit 0.80 Credit Pre", CONDOR_LEGS[:1],
              CONDOR_KINDS[:1], "multileg"),
    ),
    tradier_case(
        "tradier-null-string", 'GET_ORDERS, order 228175, an empty field written as "null"',
        tradier.NULL_STRING, LIMIT_PRE,
    ),
    tradier_case(
        "tradier-otoco",
        "place-otoco-order: buy 10 AAPL limit 130 (filled), then sell 10 limit 150 or stop 120",
        tradier.OTOCO,
        Entry(key(501), "Filled", AAPL, "Limit 130.00 Debit Day",
              (Leg("buy 10 AAPL", " 10/10 filled", ("filled 10 @ 130.00",)),), ("Equity",),
              "otoco", "OTOCO on AAPL: 3 orders · entry", "500"),
        Entry(key(502), "Live", AAPL, "Limit 150.00 Credit Day", (Leg("sell 10 AAPL"),),
              ("Equity",), "otoco", "OTOCO on AAPL: 3 orders · take profit", "500", member=True),
        Entry(key(503), "Live", AAPL, "Stop 120.00 Day", (Leg("sell 10 AAPL"),),
              ("Equity",), "otoco", "OTOCO on AAPL: 3 orders · stop loss", "500", member=True),
    ),
    tradier_case(
        "tradier-oco",
        "LUMIBOT_OCO: the take-profit (limit 3.34) filled, the stop (2.78) was cancelled",
        tradier.OCO,
        Entry(key(16710953), "Filled", "SPY", "Limit 3.34 Credit GTC",
              (Leg("sell_to_close 1 SPY 1 Jan 20 150 C", " 1/1 filled", ("filled 1 @ 3.34",)),),
              ("Equity Option",), "oco", "OCO on SPY: 2 orders · take profit", "16710952"),
        Entry(key(16710954), "Cancelled", "SPY", "Stop 2.78 GTC",
              (Leg("sell_to_close 1 SPY 1 Jan 20 150 C"),), ("Equity Option",), "oco",
              "OCO on SPY: 2 orders · stop loss", "16710952", member=True),
    ),
    tradier_case(
        "tradier-oto", "place-oto-order: buy 10 AAPL limit 130, then sell 10 stop 120, day",
        tradier.oto,
        Entry(key(601), "Live", AAPL, "Limit 130.00 Debit Day", (Leg("buy 10 AAPL"),),
              ("Equity",), "oto", "OTO on AAPL: 2 orders · entry", "600"),
        Entry(key(602), "Live", AAPL, "Stop 120.00 Day", (Leg("sell 10 AAPL"),),
              ("Equity",), "oto", "OTO on AAPL: 2 orders · stop loss", "600", member=True),
    ),
    tradier_case(
        "tradier-unsupported-type", "GET_ORDERS, order 228175 typed trailing_stop",
        tradier.TRAILING,
        Entry(LIMIT_PRE.key, "Expired", AAPL, "unsupported: trailing_stop 22.00 Debit Pre",
              LIMIT_PRE.legs, LIMIT_PRE.kinds),
    ),
    tradier_case(
        "tradier-unsupported-class", "GET_ORDERS' condor under the class spread",
        tradier.SPREAD,
        Entry(key(229123), "Expired", "SPY", "unsupported: spread Limit 0.80 Credit Pre",
              CONDOR_LEGS, CONDOR_KINDS, "Unsupported"),
    ),
    tradier_case(
        "tradier-unsupported-duration", "GET_ORDERS, order 228175 with the duration gtd",
        tradier.GTD,
        Entry(LIMIT_PRE.key, "Expired", AAPL, "unsupported: gtd Limit 22.00 Debit",
              LIMIT_PRE.legs, LIMIT_PRE.kinds),
    ),
]  # fmt: skip


# -------------------------------------------------------------------------- Alpaca
def alpaca_order(order: dict[str, Any]) -> Callable[[], list[Any]]:
    """The module's path for one order: `order_payload(order, [])`."""
    return lambda: [alpaca_wire.order_payload(copy.deepcopy(order), [])]


def alpaca_linked(order: dict[str, Any] | Callable[[], dict[str, Any]]) -> Callable[[], list]:
    """The module's path for a nested linked order: `linked_members`, then each member's
    `order_payload(member, [], group=group)`."""

    def payloads() -> list[Any]:
        nested = order() if callable(order) else copy.deepcopy(order)
        return [
            alpaca_wire.order_payload(m, [], group=g) for m, g in alpaca_wire.linked_members(nested)
        ]

    return payloads


def alpaca_case(case_id: str, source: str, payloads: Any, *entries: Entry) -> Case:
    return Case(case_id, source, "alpaca", ALPACA_ACCOUNT, payloads, entries)


ENTITY_KEY = key(alpaca.ENTITY["id"])
SELL_SPY = (Leg("sell 100 SPY"),)
#: ORDERS_MD's stop-loss: a sell stop-limit, stop 299, limit 298.50, GTC.
STOP_LOSS_TERMS = "Stop 299.00, limit 298.50 Credit GTC"


def alpaca_time_in_force(time_in_force: str, contract: str) -> Case:
    """ORDERS_MD, "Time in Force": ENTITY as a 100-share market order in opg, cls, ioc, fok."""
    return alpaca_case(
        f"alpaca-tif-{time_in_force}",
        f'ORDERS_MD, "Time in Force": {time_in_force} (ENTITY, 100 shares)',
        alpaca_order(alpaca.timed(time_in_force)),
        Entry(ENTITY_KEY, "Received", AAPL, f"Market {contract}", (Leg("buy 100 AAPL"),),
              ("Equity",)),
    )  # fmt: skip


ALPACA_CASES = [
    alpaca_case(
        "alpaca-notional", "ENTITY: a $500 notional buy of AAPL, qty null",
        alpaca_order(alpaca.ENTITY),
        Entry(ENTITY_KEY, "Received", AAPL, "Notional Market $500.00 Day", (Leg("buy AAPL"),),
              ("Equity",)),
    ),
    alpaca_case(
        "alpaca-stop", 'ORDERS_MD, "Bracket Orders": a stop-loss with only stop_price 299',
        alpaca_order(alpaca.STOP),
        Entry(ENTITY_KEY, "Received", "SPY", "Stop 299.00 GTC", SELL_SPY, ("Equity",)),
    ),
    alpaca_case(
        "alpaca-stop-limit", 'ORDERS_MD, "Bracket Orders": stop 299, limit 298.5',
        alpaca_order(alpaca.STOP_LIMIT),
        Entry(ENTITY_KEY, "Received", "SPY", STOP_LOSS_TERMS, SELL_SPY, ("Equity",)),
    ),
    alpaca_case(
        "alpaca-trailing-stop-dollars", 'ORDERS_MD, "Trailing Stop Orders": trail_price 6.15',
        alpaca_order(alpaca.TRAILING_DOLLARS),
        Entry(ENTITY_KEY, "Live", "SPY", "Trailing Stop trail $6.15 Day", SELL_SPY, ("Equity",)),
    ),
    alpaca_case(
        "alpaca-trailing-stop-percent",
        'ORDERS_MD, "Trailing Stop Orders": trail_percent 1.0 at an hwm of 300, stop 297',
        alpaca_order(alpaca.TRAILING_PERCENT),
        Entry(ENTITY_KEY, "Live", "SPY", "Trailing Stop 297.00 trail 1% · high 300.00 Day",
              SELL_SPY, ("Equity",)),
    ),
    alpaca_case(
        "alpaca-fractional", 'broker-api/trading/orders.md, "Passing Commissions": 4.125 AAPL',
        alpaca_order(alpaca.FRACTIONAL),
        Entry(ENTITY_KEY, "Received", AAPL, "Market Day", (Leg("buy 4.125 AAPL"),), ("Equity",)),
    ),
    alpaca_case(
        "alpaca-crypto",
        "alpaca-py tests/broker/broker_client/test_trading_routes.py: sell 0.0283 BTC/USD",
        alpaca_order(alpaca.CRYPTO),
        Entry(key(alpaca.CRYPTO["id"]), "Received", "BTC/USD", "Market GTC",
              (Leg("sell 0.0283 BTC/USD"),), ("Cryptocurrency",)),
    ),
    *(alpaca_time_in_force(tif, contract) for tif, contract in alpaca.TIMES_IN_FORCE),
    alpaca_case(
        "alpaca-extended-hours",
        'ORDERS_MD, "Submitting an Extended Hours Eligible Order": limit 301, day',
        alpaca_order(alpaca.EXTENDED_LIMIT),
        Entry(ENTITY_KEY, "Received", "SPY", "Limit 301.00 Debit Day ext hours",
              (Leg("buy 100 SPY"),), ("Equity",)),
    ),
    # a request body: no status, no times (Unknown, listed last of all)
    alpaca_case(
        "alpaca-trailing-stop-request", "ORDERS_MD's trailing-stop request body",
        alpaca_order(alpaca.TRAILING_REQUEST),
        Entry(key("trail-1"), "Unknown", "SPY", "Trailing Stop trail $6.15 Day", SELL_SPY,
              ("Equity",)),
    ),
    # limit 1: an mleg order's limit_price is its net price, "positive = debit/cost,
    # negative = credit/proceeds" (alpacahq/alpaca-mcp-server src/alpaca_mcp_server/
    # overrides.py, place_option_order): a 1.00 debit
    Case(
        "alpaca-mleg",
        "alpaca-py alpaca/trading/models.py and tests/trading/test_trading_models.py",
        "alpaca", ALPACA_ACCOUNT, alpaca_order(alpaca.MLEG),
        (Entry(ENTITY_KEY, "Received", AAPL, "Limit 1.00 Debit Day",
               (Leg("buy 1 AAPL 17 Jan 25 200 P"), Leg("sell 1 AAPL 17 Jan 25 250 P")),
               ("Equity Option", "Equity Option"), "multileg"),),
    ),
    alpaca_case(
        "alpaca-unsupported-type", "ENTITY typed pegged (not in alpaca-py's OrderType)",
        alpaca_order(alpaca.PEGGED),
        Entry(ENTITY_KEY, "Received", AAPL, "unsupported: pegged $500.00 Day", (Leg("buy AAPL"),),
              ("Equity",)),
    ),
    alpaca_case(
        "alpaca-unsupported-class", "ORDERS_MD's SPY order under the class otoco",
        alpaca_order(alpaca.OTOCO_CLASS),
        Entry(ENTITY_KEY, "Received", "SPY", "unsupported: otoco Market Day",
              (Leg("buy 100 SPY"),), ("Equity",), "Unsupported"),
    ),
    alpaca_case(
        "alpaca-unsupported-time-in-force", "ORDERS_MD's SPY order with the time in force gtd",
        alpaca_order(alpaca.GTD),
        Entry(ENTITY_KEY, "Received", "SPY", "unsupported: gtd Market", (Leg("buy 100 SPY"),),
              ("Equity",)),
    ),
    alpaca_case(
        "alpaca-bracket",
        "ORDERS_MD's bracket: buy 100 SPY at market, take profit 301, stop loss 299/298.5",
        alpaca_linked(alpaca.bracket),
        Entry(key(alpaca.PARENT), "Live", "SPY", "Market GTC", (Leg("buy 100 SPY"),),
              ("Equity",), "bracket", "Bracket on SPY: 3 orders · entry", alpaca.PARENT),
        Entry(key(alpaca.TAKE_PROFIT), "Contingent", "SPY", "Limit 301.00 Credit GTC", SELL_SPY,
              ("Equity",), "bracket", "Bracket on SPY: 3 orders · take profit", alpaca.PARENT,
              member=True),
        Entry(key(alpaca.STOP_LOSS), "Contingent", "SPY", STOP_LOSS_TERMS, SELL_SPY,
              ("Equity",), "bracket", "Bracket on SPY: 3 orders · stop loss", alpaca.PARENT,
              member=True),
    ),
    alpaca_case(
        "alpaca-oco", "ORDERS_MD's OCO: the take-profit (limit 301) is the parent",
        alpaca_linked(alpaca.OCO),
        Entry(key(alpaca.TAKE_PROFIT), "Live", "SPY", "Limit 301.00 Credit GTC", SELL_SPY,
              ("Equity",), "oco", "OCO on SPY: 2 orders · take profit", alpaca.TAKE_PROFIT),
        Entry(key(alpaca.STOP_LOSS), "Contingent", "SPY", STOP_LOSS_TERMS, SELL_SPY,
              ("Equity",), "oco", "OCO on SPY: 2 orders · stop loss", alpaca.TAKE_PROFIT,
              member=True),
    ),
    alpaca_case(
        "alpaca-oto", "ORDERS_MD's OTO: buy 100 SPY at market, then its stop-loss",
        alpaca_linked(alpaca.OTO),
        Entry(key(alpaca.PARENT), "Live", "SPY", "Market GTC", (Leg("buy 100 SPY"),),
              ("Equity",), "oto", "OTO on SPY: 2 orders · entry", alpaca.PARENT),
        Entry(key(alpaca.STOP_LOSS), "Contingent", "SPY", STOP_LOSS_TERMS, SELL_SPY,
              ("Equity",), "oto", "OTO on SPY: 2 orders · stop loss", alpaca.PARENT,
              member=True),
    ),
]  # fmt: skip

CASES = [*TASTYTRADE_CASES, *TRADIER_CASES, *ALPACA_CASES]


# -------------------------------------------------------------------------- the pipeline
def snapshot_of(case: Case) -> dict[str, Any]:
    """The case's orders applied to a stream's state as the adapter's sink applies them,
    and the snapshot every tab then gets."""
    broker, label, simulated = LINKS[case.broker]
    state = UserState(links=[LinkInfo(LINK, broker, label, simulated)])
    for payload in case.payloads():
        state.apply_account_event("order", LINK, case.account, payload, now_ms=NOW_MS)
    return cast(dict[str, Any], state.snapshot(set(), now_ms=NOW_MS + 1))


def documented_orders() -> list[dict[str, Any]]:
    """Every order of every case as the stream's snapshot holds it (the node comparison
    of tests/streaming/test_order_terms.py)."""
    return [order for case in CASES for order in snapshot_of(case)["orders"]]


def sendable(value: Any) -> bool:
    """Whether the stream can send it: frames and snapshots are encoded with orjson."""
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


class PanelReader(HTMLParser):
    """The orders panel's entries as a trader reads them: each `<li class="order">` with its
    attributes, its fields' text and its legs' words."""

    FIELDS = frozenset({"status", "underlying", "terms", "link", "broker", "account"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[dict[str, Any]] = []
        self.reading: tuple[str, dict[str, Any], str] | None = None  # (tag, into, name)
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "li" and "order" in classes:
            self.entries.append(
                {
                    "key": a.get("data-order"),
                    "data-status": a.get("data-status"),
                    "linked": a.get("data-linked"),
                    "member": a.get("data-member"),
                    "fields": {},
                    "legs": [],
                }
            )
        elif not self.entries:
            return
        entry = self.entries[-1]
        if a.get("data-field") in self.FIELDS:
            self.start(tag, entry["fields"], str(a["data-field"]))
        elif tag == "div" and "leg" in classes:
            entry["legs"].append({"desc": None, "filled": None, "fills": []})
        elif "leg-desc" in classes:
            self.start(tag, entry["legs"][-1], "desc")
        elif "leg-filled" in classes:
            self.start(tag, entry["legs"][-1], "filled")
        elif "fill" in classes:
            self.start(tag, entry["legs"][-1], "fills")

    def start(self, tag: str, into: dict[str, Any], name: str) -> None:
        assert self.reading is None, f"<{tag}> inside <{self.reading[0]}>"  # none are nested
        self.reading, self.text = (tag, into, name), []

    def handle_data(self, data: str) -> None:
        if self.reading is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.reading is not None and self.reading[0] == tag:
            _, into, name = self.reading
            text = "".join(self.text)
            if name == "fills":
                into["fills"].append(text)
            else:
                into[name] = text
            self.reading = None


def page_of(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The panel the dashboard renders from `snapshot`, read back."""
    html = render_to_string(
        "streaming/_orders_panel.html", {"orders_panel": orders_panel(snapshot)}
    )
    reader = PanelReader()
    reader.feed(html)
    reader.close()
    return reader.entries


def expected_page(case: Case) -> list[dict[str, Any]]:
    """The entries the case's example should show, in the reader's shape."""
    _, label, _ = LINKS[case.broker]
    return [
        {
            "key": e.key,
            "data-status": e.status,
            "linked": e.linked,
            "member": "true" if e.member else None,
            "fields": {
                "status": e.status,
                "underlying": e.underlying,
                "terms": e.terms,
                **({"link": e.link} if e.link is not None else {}),
                "broker": case.broker,
                "account": f"{label} {case.account}",
            },
            "legs": [{"desc": g.desc, "filled": g.filled, "fills": list(g.fills)} for g in e.legs],
        }
        for e in case.entries
    ]


# -------------------------------------------------------------------------- the tests
def params(cases: list[Case]) -> list[Any]:
    """Each case as a parameter named by its broker and example."""
    return [pytest.param(case, id=case.id) for case in cases]


@pytest.mark.parametrize("case", params(CASES))
def test_a_documented_order_reaches_the_page_in_the_brokers_words(case: Case):
    """The example named by `case.source`, through its adapter's wire function, into the
    stream's state and onto the page: each entry's status, terms, link, broker, account and
    legs exactly as the broker's example says them, a linked order's members together under
    its entry."""
    snapshot = snapshot_of(case)
    # in the state: every order, its class and the kind of each leg, as the broker sent them,
    # and the stream can send each of them
    assert [o["id"] for o in snapshot["orders"] if not sendable(o)] == [], case.source
    held = {f"{o['link']}:{o['id']}": o for o in snapshot["orders"]}
    assert {
        k: (o["status"], o["order_class"], tuple(leg["instrument_type"] for leg in o["legs"]))
        for k, o in held.items()
    } == {e.key: (e.status, e.order_class, e.kinds) for e in case.entries}, case.source
    # on the page
    assert page_of(snapshot) == expected_page(case), case.source


def test_every_documented_example_is_carried():
    """One case per example of the three modules: each of their example constants and
    linked classes is here (a new example there needs its case here)."""
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    per_broker = {b: sum(1 for c in CASES if c.broker == b) for b in LINKS}
    assert per_broker == {"tastytrade": 24, "tradier": 20, "alpaca": 20}
    classes = {(c.broker, e.order_class) for c in CASES for e in c.entries}
    assert classes == {
        *(("tastytrade", k) for k in ("simple", "multileg", "otoco", "oco", "oto")),
        ("tastytrade", "Unsupported"),
        *(("tradier", k) for k in ("simple", "multileg", "combo", "otoco", "oco", "oto")),
        ("tradier", "Unsupported"),
        *(("alpaca", k) for k in ("simple", "multileg", "bracket", "oco", "oto")),
        ("alpaca", "Unsupported"),
    }
