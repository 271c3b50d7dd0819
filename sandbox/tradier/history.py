"""Tradier's account books: `GET /v1/accounts/{n}/history` (activity) and
`GET /v1/accounts/{n}/gainloss` (closed positions), both from the core brokerage's
ledger, so they agree with each other and with the fills the orders report.

History: one `trade` event per ledger trade (one fill of one leg) and a `journal` event
for the opening deposit. Gain/loss: closing trades matched to opening lots first in
first out (`core/lots.py`); the positions an account started with are its first lots.
Tradier's books carry calendar days only (its clearing firm's nightly batch): every date
is midnight of the New York day.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.lots import ClosedLot, closed_lots
from sandbox.core.records import EQUITY_OPTION, TransactionRecord
from sandbox.core.symbols import parse_occ_symbol
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint
from sandbox.tradier.query import BadQuery, day, day_of, in_days, midnight, page_of
from sandbox.tradier.wire import PREFIX, collapse, errors, occ_symbol, render

#: Tradier's documented activity types (only trade and journal occur in the sandbox)
HISTORY_TYPES = (
    "trade",
    "option",
    "ach",
    "wire",
    "dividend",
    "fee",
    "tax",
    "journal",
    "check",
    "transfer",
    "adjustment",
    "interest",
)
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _symbol(symbol: str) -> str:
    """A ledger symbol as Tradier spells it (OCC options without the padding)."""
    option = parse_occ_symbol(symbol)
    return occ_symbol(option) if option else symbol


def _description(facade: TradierSandbox, symbol: str) -> str:
    """The security's name, or Tradier's option line (`CALL SPY    12/18/26   600`)."""
    option = parse_occ_symbol(symbol)
    if option is None:
        return facade.sandbox.market.profile(symbol)["description"]
    kind = "CALL" if option.right == "C" else "PUT"
    strike = f"{option.strike.normalize():f}"
    return f"{kind} {option.underlying:<7}{option.expiry:%m/%d/%y}{strike:>6}"


# -- history ----------------------------------------------------------------------------
def _event(facade: TradierSandbox, t: TransactionRecord) -> dict[str, Any]:
    """One ledger entry as a Tradier history event."""
    item: dict[str, Any] = {"amount": _cents(t.net_value), "date": midnight(t.executed_at)}
    if t.transaction_type == "Trade" and t.symbol and t.quantity is not None:
        sign = 1 if (t.action or "").startswith("Buy") else -1
        item["type"] = "trade"
        item["trade"] = {
            "commission": float(t.commission),
            "description": _description(facade, t.symbol),
            "price": float(t.price or 0),
            "quantity": float(sign * t.quantity),
            "symbol": _symbol(t.symbol),
            "trade_type": "Option" if t.instrument_type == EQUITY_OPTION else "Equity",
        }
    else:  # the opening deposit, the only money movement the brokerage books
        item["type"] = "journal"
        item["journal"] = {"description": t.description, "quantity": 0.0}
    return item


def _symbol_matches(wanted: str, symbol: str, exact: bool) -> bool:
    """`exactMatch=true`: the symbol itself; otherwise its options too (prefix)."""
    return symbol == wanted if exact else symbol.startswith(wanted)


def _history(request: Request, facade: TradierSandbox, number: str) -> list[dict[str, Any]]:
    values = dict(request.query_params)
    kinds = {k.strip().lower() for k in values.get("type", "").split(",") if k.strip()}
    unknown = sorted(kinds - set(HISTORY_TYPES))
    if unknown:
        raise BadQuery(f"Invalid type {','.join(unknown)}: one of {', '.join(HISTORY_TYPES)}")
    start, end = day(values, "start"), day(values, "end")
    wanted = values.get("symbol", "").strip().upper()
    exact = values.get("exactMatch", "").strip().lower() == "true"
    events = []
    for t in facade.sandbox.brokerage.transactions(number):
        if not in_days(t.executed_at, start, end):
            continue
        event = _event(facade, t)
        if kinds and event["type"] not in kinds:
            continue
        if wanted and not (
            event["type"] == "trade" and _symbol_matches(wanted, event["trade"]["symbol"], exact)
        ):
            continue
        events.append(event)
    events.reverse()  # newest first, as Tradier lists them
    return page_of(events, values, 25)


def history_part(request: Request, facade: TradierSandbox, number: str) -> Any:
    """One account's `history` value (also each account's part of `/v1/user/history`);
    BadQuery for a parameter Tradier would refuse."""
    events = _history(request, facade, number)
    return {"event": collapse(events)} if events else "null"


async def history(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    try:
        body = history_part(request, facade, number)
    except BadQuery as exc:
        return errors(request, str(exc))
    return render(request, {"history": body})


# -- gain/loss --------------------------------------------------------------------------
def _closed_item(lot: ClosedLot) -> dict[str, Any]:
    cost, proceeds = _cents(lot.cost), _cents(lot.proceeds)
    gain = round(proceeds - cost, 2)
    return {
        "close_date": midnight(lot.closed_at, millis=True),
        "cost": cost,
        "gain_loss": gain,
        "gain_loss_percent": round(gain / cost * 100, 4) if cost else 0.0,
        "open_date": midnight(lot.opened_at, millis=True),
        "proceeds": proceeds,
        "quantity": float(lot.quantity),
        "symbol": _symbol(lot.symbol),
        # days held, as Tradier's example counts (its field list says months)
        "term": (day_of(lot.closed_at) - day_of(lot.opened_at)).days,
    }


def _gainloss(request: Request, facade: TradierSandbox, number: str) -> list:
    values = dict(request.query_params)
    sort_by = values.get("sortBy", "") or "closeDate"
    if sort_by not in ("closeDate", "openDate"):
        raise BadQuery(f"Invalid sortBy {sort_by}: one of openDate, closeDate")
    direction = values.get("sort", "") or "desc"
    if direction not in ("asc", "desc"):
        raise BadQuery(f"Invalid sort {direction}: one of asc, desc")
    start, end = day(values, "start"), day(values, "end")
    wanted = values.get("symbol", "").strip().upper()
    brokerage = facade.sandbox.brokerage
    lots = closed_lots(brokerage.opening_positions(number), brokerage.transactions(number))
    selected = [
        lot
        for lot in lots
        if in_days(lot.closed_at, start, end)
        and (not wanted or wanted in (_symbol(lot.symbol), lot.underlying_symbol))
    ]
    if sort_by == "closeDate":
        selected.sort(key=lambda lot: (lot.closed_at, lot.opened_at))
    else:
        selected.sort(key=lambda lot: (lot.opened_at, lot.closed_at))
    if direction == "desc":
        selected.reverse()
    return page_of([_closed_item(lot) for lot in selected], values, 100)


def gainloss_part(request: Request, facade: TradierSandbox, number: str) -> Any:
    """One account's `gainloss` value (also each account's part of `/v1/user/gainloss`);
    BadQuery for a parameter Tradier would refuse."""
    rows = _gainloss(request, facade, number)
    return {"closed_position": collapse(rows)} if rows else "null"


async def gainloss(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    try:
        body = gainloss_part(request, facade, number)
    except BadQuery as exc:
        return errors(request, str(exc))
    return render(request, {"gainloss": body})


routes = [
    Route(f"{PREFIX}/v1/accounts/{{number}}/history", endpoint(history), methods=["GET"]),
    Route(f"{PREFIX}/v1/accounts/{{number}}/gainloss", endpoint(gainloss), methods=["GET"]),
]
