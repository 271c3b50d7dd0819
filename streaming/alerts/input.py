"""An alert as a client sends it (`POST`/`PATCH /api/alerts`), checked: pure functions,
each refusal a sentence the page shows (docs/streaming-contract.md "Price alerts").

Its symbol is any spelling of an instrument that streams, stored as the contract symbol.
What a spelling means for the user (`BTCUSD` held at Alpaca is the coin) is read from
their holdings by the view (portfolio/holdings.py) and handed in as `instrument`.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from streaming.alerts.rules import CONDITIONS, PERCENT_CONDITIONS
from streaming.contract.frames import AlertState
from streaming.instruments.instrument import Instrument
from streaming.validation import normalize_symbol

#: Per user: active alerts (a create past it is refused at once, whatever the rate).
MAX_ACTIVE_ALERTS = 200
#: Per user: alerts kept in all (the oldest inactive ones are deleted past it).
MAX_KEPT_ALERTS = 500
#: The largest request body, checked before it is parsed.
MAX_ALERT_BODY_BYTES = 4096
#: The highest price level (no listed instrument trades near it: a typo, not a level).
MAX_PRICE = Decimal("1000000")
#: The largest % move (a fall cannot exceed 100 %; rises past it are not worth alerting).
MAX_PERCENT = Decimal("100")
#: Expiry at most this far ahead.
MAX_EXPIRY = dt.timedelta(days=366)
FIELDS = {"symbol", "condition", "level", "rearm", "expires_at", "active"}
#: What a symbol may be, said when one is refused.
ACCEPTED = (
    "a stock like AAPL, an option like SPY270115C00590000, a future like /ESZ6, "
    "a future option like ./ESZ6 ESZ6 261218C6000, or a coin like BTC/USD"
)
REQUIRED = ("symbol", "condition", "level")


class AlertInputError(ValueError):
    """Refused input: `code`, a sentence, and the HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def clean_symbol(raw: Any, instrument: Instrument | None = None) -> str:
    """The contract symbol of the instrument `raw` names: `instrument` when the caller
    resolved it through the user's holdings, else by its spelling."""
    symbol = instrument.symbol if instrument is not None else normalize_symbol(raw)
    if symbol is None:
        shown = repr(raw[:40]) if isinstance(raw, str) else "missing"
        raise AlertInputError("bad_symbol", f"not a valid symbol: {shown} ({ACCEPTED})")
    return symbol


def clean_condition(raw: Any) -> str:
    if raw not in CONDITIONS:
        raise AlertInputError("bad_condition", f"condition must be one of {', '.join(CONDITIONS)}")
    return raw


def clean_level(raw: Any, condition: str | None) -> Decimal:
    """A positive, finite level with at most 4 decimals, under the condition's bound."""
    percent = condition in PERCENT_CONDITIONS
    what = "the % move" if percent else "the price"
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise AlertInputError("bad_level", f"{what} must be a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise AlertInputError("bad_level", f"{what} must be a finite number")
    try:
        level = Decimal(str(raw).strip())
    except InvalidOperation:
        raise AlertInputError(
            "bad_level", f"{what} must be a number, not {str(raw)[:20]!r}"
        ) from None
    if not level.is_finite():
        raise AlertInputError("bad_level", f"{what} must be a finite number (not NaN or Infinity)")
    if level <= 0:
        raise AlertInputError("bad_level", f"{what} must be greater than 0")
    bound = MAX_PERCENT if percent else MAX_PRICE
    if level > bound:
        unit = "%" if percent else ""
        raise AlertInputError("bad_level", f"{what} must be at most {bound:,}{unit}")
    if level != level.quantize(Decimal("0.0001")):
        raise AlertInputError("bad_level", f"{what} can have at most 4 decimals")
    return level.quantize(Decimal("0.0001"))


def clean_expiry(raw: Any, now: dt.datetime) -> dt.datetime | None:
    """None, or an ISO 8601 time with a zone, in the future, at most a year ahead (UTC)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise AlertInputError("bad_expiry", "expires_at must be an ISO 8601 time or null")
    try:
        when = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise AlertInputError(
            "bad_expiry", f"expires_at is not a time: {raw[:40]!r} (e.g. 2026-12-01T15:30:00Z)"
        ) from None
    if when.tzinfo is None:
        raise AlertInputError("bad_expiry", "expires_at must include a time zone (Z or +hh:mm)")
    when = when.astimezone(dt.UTC)
    if when <= now:
        raise AlertInputError("bad_expiry", "expires_at is in the past")
    if when > now + MAX_EXPIRY:
        raise AlertInputError("bad_expiry", "expires_at can be at most a year ahead")
    return when


def clean_flag(raw: Any, name: str) -> bool:
    if not isinstance(raw, bool):
        raise AlertInputError("bad_body", f"{name} must be true or false")
    return raw


class AlertValues(TypedDict, total=False):
    """The model fields a create (all but `rearm`, `active`, `expires_at` required) or an
    edit (those it changes) saves, checked."""

    symbol: str
    condition: str
    level: Decimal
    rearm: bool
    active: bool
    expires_at: dt.datetime | None


def clean_alert(
    data: Any,
    *,
    now: dt.datetime,
    partial: AlertState | None = None,
    instrument: Instrument | None = None,
) -> AlertValues:
    """The model fields to save from a create (`partial` None) or an edit of `partial`
    (the alert's current symbol/condition/level: a new condition re-checks the level).
    `instrument`: what the body's symbol names for the user, if the caller resolved it."""
    if not isinstance(data, dict):
        raise AlertInputError("bad_body", "the body must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise AlertInputError(
            "bad_body", f"unknown field {unknown[0][:40]!r} (allowed: {', '.join(sorted(FIELDS))})"
        )
    if partial is None:
        missing = [name for name in REQUIRED if name not in data]
        if missing:
            raise AlertInputError("bad_body", f"{missing[0]} is required")
    elif not data:
        raise AlertInputError("bad_body", "nothing to change")
    out: AlertValues = {}
    if "symbol" in data:
        out["symbol"] = clean_symbol(data["symbol"], instrument)
    condition = None if partial is None else partial["condition"]
    if "condition" in data:
        condition = out["condition"] = clean_condition(data["condition"])
    if "level" in data:
        out["level"] = clean_level(data["level"], condition)
    elif partial is not None and "condition" in data:
        out["level"] = clean_level(partial["level"], condition)  # still valid for the new one?
    if "rearm" in data:
        out["rearm"] = clean_flag(data["rearm"], "rearm")
    if "active" in data:
        out["active"] = clean_flag(data["active"], "active")
    if "expires_at" in data:
        out["expires_at"] = clean_expiry(data["expires_at"], now)
    return out
