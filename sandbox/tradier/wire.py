"""Tradier's wire conventions: JSON or XML answers, error bodies, number and time
spellings, the order vocabulary (statuses, sides, durations) and request parameters."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sandbox.core.records import OrderPreview, OrderRejected, parse_decimal
from sandbox.core.symbols import OptionSymbol

PREFIX = "/tradier"
STREAM_TYPES = ("quote", "trade", "summary", "timesale", "tradex")
NEW_YORK = ZoneInfo("America/New_York")

ORDER_STATUS = {
    "Received": "pending",
    "Routed": "pending",
    "In Flight": "pending",
    "Live": "open",
    # a linked order's member waiting for its trigger to fill (Tradier documents no status
    # for a waiting leg: `pending`, its word for an order not yet working, is a guess)
    "Contingent": "pending",
    "Filled": "filled",
    "Cancelled": "canceled",
    "Canceled": "canceled",
    "Rejected": "rejected",
    "Expired": "expired",
}
EQUITY_SIDE = {
    "Buy to Open": "buy",
    "Sell to Close": "sell",
    "Sell to Open": "sell_short",
    "Buy to Close": "buy_to_cover",
}
#: Tradier's single-leg `type` (equity and option orders) as the brokerage's order type
ORDER_TYPES = {"market": "Market", "limit": "Limit", "stop": "Stop", "stop_limit": "Stop Limit"}
#: the brokerage's order type in Tradier's words (a marketable limit is a limit to Tradier)
TYPE_NAMES = {
    "Market": "market",
    "Limit": "limit",
    "Marketable Limit": "limit",
    "Stop": "stop",
    "Stop Limit": "stop_limit",
}
#: the types that take a `stop` (Tradier's form) and report a `stop_price` (its GET)
STOP_TYPES = frozenset({"stop", "stop_limit"})
#: Tradier's `duration`: what the brokerage can do, and what Tradier documents but it cannot
DURATIONS = {"day": "Day", "gtc": "GTC"}
UNSUPPORTEDDURATIONS = {"pre", "post"}
SIDE_ACTION = {
    "buy": "Buy to Open",
    "sell": "Sell to Close",
    "sell_short": "Sell to Open",
    "buy_to_cover": "Buy to Close",
    "buy_to_open": "Buy to Open",
    "buy_to_close": "Buy to Close",
    "sell_to_open": "Sell to Open",
    "sell_to_close": "Sell to Close",
}


def stream_price(value: float) -> str:
    """A price as the stream spells it: a string without trailing zeros ("288.1")."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def collapse(items: list[Any]) -> Any:
    """Tradier's XML heritage: one element is a bare object, none is the string "null"."""
    if not items:
        return "null"
    return items[0] if len(items) == 1 else items


def occ_symbol(symbol: OptionSymbol) -> str:
    """An OCC symbol as Tradier spells it: unpadded (`SPY250221C00590000`)."""
    return symbol.occ_symbol.replace(" ", "")


def p4(value: Decimal) -> float:
    """A per-unit price to 4 decimals, as a JSON number."""
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def iso_at(epoch: float | None) -> str | None:
    """Epoch seconds as Tradier's `...Z` ISO text with milliseconds."""
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_xml(payload: Any, tag: str = "response") -> str:
    """A minimal XML rendering of a JSON answer (Tradier's default format)."""
    if isinstance(payload, dict):
        inner = "".join(
            "".join(to_xml(item, key) for item in value)
            if isinstance(value, list)
            else to_xml(value, key)
            for key, value in payload.items()
        )
    elif payload is None:
        inner = ""
    elif isinstance(payload, bool):
        inner = "true" if payload else "false"
    else:
        inner = escape(str(payload))
    return f"<{tag}>{inner}</{tag}>"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "").lower()


def render(request: Request, payload: Any, status: int = 200) -> Response:
    """JSON when asked for, XML otherwise (Tradier's default)."""
    if wants_json(request):
        return Response(orjson.dumps(payload), status, media_type="application/json")
    if isinstance(payload, dict) and len(payload) == 1:
        ((tag, value),) = payload.items()
        body = to_xml(value, tag)
    else:
        body = to_xml(payload)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>' + body, status, media_type="application/xml"
    )


def errors(request: Request, message: str, status: int = 400) -> Response:
    return render(request, {"errors": {"error": [message]}}, status)


def unauthorized() -> Response:
    return PlainTextResponse("Invalid Access Token", 401)


def time_in_force(duration: str | None) -> str:
    """Tradier's `duration` as the brokerage's time in force, for placing and modify alike:
    OrderRejected (400) for one it cannot do. None (not sent, or blank) is refused too: a
    new order needs one (modify does not call this for a duration it was not sent)."""
    if duration is None:
        raise OrderRejected("invalid_duration", "Missing duration: one of day, gtc")
    if duration in UNSUPPORTEDDURATIONS:
        raise OrderRejected("invalid_duration", f"Duration {duration} is not supported")
    if duration not in DURATIONS:
        raise OrderRejected("invalid_duration", f"Invalid duration {duration}")
    return DURATIONS[duration]


def stop_price(raw: str | None, kind: str, *, required: bool = True) -> Decimal | None:
    """Tradier's `stop` for an order of type `kind` (Tradier's word), for placing and modify
    alike: above zero on a stop or stop_limit order (needed unless `required` is False:
    modify keeps the order's own), refused on any other type rather than ignored. Blank
    counts as not sent. OrderRejected (400) says why."""
    text = (raw or "").strip() or None
    if kind not in STOP_TYPES:
        if text is not None:
            raise OrderRejected(
                "invalid_stop",
                f"Invalid stop {text}: a {kind} order takes none (stop is for stop and "
                "stop_limit orders)",
            )
        return None
    if text is None:
        if required:
            raise OrderRejected("stop_required", f"A {kind} order needs a stop price: send stop")
        return None
    value = parse_decimal(text)
    if value is None or not value.is_finite() or value <= 0:
        raise OrderRejected("invalid_stop", f"Invalid stop {text}: a stop price is above zero")
    return value


def preview_answer(
    preview: OrderPreview, order_cost: float, described: dict[str, Any]
) -> dict[str, Any]:
    """Tradier's preview answer: the dry run's costs around what the order is
    (`described`: symbol, quantity, type, duration, class ...)."""
    commission = float(preview.commission)
    other_fees = 0.0  # the brokerage charges no regulatory fees
    return {
        "status": "ok",
        "commission": commission,
        "cost": round(order_cost + commission + other_fees, 4),
        "fees": other_fees,
        **described,
        "result": True,
        "order_cost": order_cost,
        # positive when the requirement grows (the record signs it from the account's side)
        "margin_change": float(-preview.change_in_margin_requirement),
        "request_date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "extended_hours": False,
        "day_trades": 0,
    }


async def params(request: Request) -> dict[str, str]:
    """Query parameters and, for POST and PUT, form fields (Tradier takes both)."""
    values = dict(request.query_params)
    if request.method in ("POST", "PUT"):
        # urlencoded by hand: the sandbox does not depend on python-multipart
        values.update(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
    return values
