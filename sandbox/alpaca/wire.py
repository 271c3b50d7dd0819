"""Alpaca's wire vocabulary, shared by both APIs: ids (ULIDs, uuid5s), timestamps, string
numbers, symbol spellings and the one error shape `{"code": <8 digits>, "message": ...}`.

The bottom layer of the Alpaca package: it imports no other Alpaca module.

Error codes (one vocabulary for the Broker and the Trading API): a body that does not
parse is 400/40010000; bad input is 422/40010000 (real Alpaca answers invalid parameters
with 422 and a 4001000x code); an order or position in a state that forbids the action is
422/42210000; too little buying power or shares 403/40310000; unknown things 404/40410000.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
from starlette.responses import Response

NS = uuid.UUID("6f1c2b1e-7d0a-4c55-9a43-2f1f6b0c9e10")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
OCC_PADDED_RE = re.compile(r"^([A-Z][A-Z0-9]{0,5})\s*(\d{6})([CP])(\d{8})$")
ZERO = Decimal(0)

#: The error codes, by meaning.
BAD_INPUT = 40010000
UNAUTHORIZED = 40110000
FORBIDDEN = 40310000
NOT_FOUND = 40410000
WRONG_STATE = 42210000
TOO_MANY = 42910000


class MonotonicUlid:
    """ULIDs (48-bit ms time + 80 random bits, Crockford base32) that strictly increase
    within one generator, even within one millisecond or when the clock steps back."""

    def __init__(self) -> None:
        self._last = 0

    def new(self, now: float | None = None) -> str:
        ms = int((time.time() if now is None else now) * 1000)
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return encode_ulid(value)


def encode_ulid(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid_time(ulid: str) -> float:
    """The epoch seconds a ULID carries (its first 10 characters)."""
    value = 0
    for char in ulid[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value / 1000


# --------------------------------------------------------------------------- time


def iso(epoch: float) -> str:
    """RFC 3339 UTC with microseconds, as Alpaca's `at` fields."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ns(epoch: float) -> str:
    """RFC 3339 UTC with nanoseconds, as Alpaca's order timestamps."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def parse_time(text: Any) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (ns allowed), epoch ms, or None."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return text / 1000
    match = re.match(r"^(.*?T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", str(text))
    if match is None:
        try:
            return datetime.fromisoformat(str(text)).replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
    base, frac, zone = match.groups()
    frac = (frac or ".0")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        return datetime.fromisoformat(f"{base}{frac}{zone}").timestamp()
    except ValueError:
        return None


def query_time(raw: str | None, name: str) -> float | None:
    """A query parameter that is a date (its UTC midnight) or an RFC 3339 timestamp."""
    if not raw:
        return None
    parsed = parse_time(raw)
    if parsed is None:
        try:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC).timestamp()
        except ValueError:
            raise bad(f"{name} must be a date or an RFC 3339 timestamp") from None
    return parsed


def as_sent(epoch: float) -> float:
    """A time as a client reads it back from `iso_ns` (microseconds): what query bounds
    such as `after`/`until` are compared with."""
    return parse_time(iso_ns(epoch)) or epoch


def activity_stamp(epoch: float) -> str:
    """The time part of an activity id (`20240105143012123::<uuid>`): sorts like time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S%f")[:17]


# --------------------------------------------------------------------------- numbers


def dec(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return ZERO


def p4(value: Decimal) -> Decimal:
    """A per-unit price to 4 decimals (the precision the brokerage quotes)."""
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def s(value: Decimal) -> str:
    """A number the way Alpaca sends it: a string, no exponent, no trailing zeros."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def number_param(body: dict[str, Any], name: str) -> Decimal | None:
    """A numeric field of a request (string or number), None when absent; bad input raises."""
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise bad(f"{name} is not a valid number") from None
    if isinstance(raw, bool) or not value.is_finite():
        raise bad(f"{name} is not a valid number")
    return value


# --------------------------------------------------------------------------- symbols & ids


def alpaca_symbol(tasty_symbol: str) -> str:
    """Tickers as-is; padded OCC (`SPY   250221C00590000`) without the padding."""
    match = OCC_PADDED_RE.match(tasty_symbol)
    return "".join(match.groups()) if match else tasty_symbol


def tasty_symbol(symbol: str) -> str:
    """Alpaca's option spelling back to the padded OCC the brokerage parses."""
    match = OCC_PADDED_RE.match(symbol.strip().upper())
    if match is None:
        return symbol.strip().upper()
    root, ymd, cp, strike = match.groups()
    return f"{root:<6}{ymd}{cp}{strike}"


def is_option(symbol: str) -> bool:
    return OCC_PADDED_RE.match(symbol.strip().upper()) is not None


def account_uuid(number: str) -> str:
    return str(uuid.uuid5(NS, f"account:{number}"))


def asset_uuid(symbol: str) -> str:
    return str(uuid.uuid5(NS, f"asset:{symbol}"))


def order_uuid(number: str, order_id: Any) -> str:
    return str(uuid.uuid5(NS, f"order:{number}:{order_id}"))


def execution_uuid(number: str, order_id: Any, symbol: str, index: int) -> str:
    """The id of the `index`-th execution of one leg: the same in a trade event and in the
    FILL activity that books it."""
    return str(uuid.uuid5(NS, f"exec:{number}:{order_id}:{symbol}:{index}"))


# --------------------------------------------------------------------------- responses


class Refusal(Exception):
    """A request refused in Alpaca's shape (raised by the semantics, answered by routes)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        return alpaca_error(self.status, self.code, self.message)

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def bad(message: str) -> Refusal:
    """Bad input: 422 with 40010000."""
    return Refusal(422, BAD_INPUT, message)


def alpaca_error(status: int, code: int, message: str, **headers: str) -> Response:
    """An error as Alpaca sends it: `{"code": 40110000, "message": "..."}`."""
    body = orjson.dumps({"code": code, "message": message})
    return Response(body, status, headers or None, media_type="application/json")


def ok(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")
