"""The what-if API's query, checked: `date`, `iv_shift`, `prices` (docs/streaming-contract.md,
"GET /api/risk/…"). Each refusal is a sentence the page can show as it is."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from streaming.instruments.symbols import EXPIRY_TIME, NEW_YORK

MAX_PRICES = 200
MAX_IV_SHIFT = 50.0
#: `date=expiration`: the last expiration held.
EXPIRATION = "expiration"


class RiskInputError(ValueError):
    """A query the API refuses (400), with the sentence it answers."""


@dataclass(frozen=True)
class RiskQuery:
    """The parsed query: `day` None means now; `at_expiration` the last expiration held;
    `prices` None means the default grid."""

    day: dt.date | None
    at_expiration: bool
    iv_shift: float
    prices: list[float] | None


def parse_query(params: Mapping[str, str]) -> RiskQuery:
    """The query's values, or RiskInputError saying what is wrong."""
    raw_date = params.get("date")
    day, at_expiration = None, False
    if raw_date == EXPIRATION:
        at_expiration = True
    elif raw_date is not None:
        try:
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            raise RiskInputError(
                f"date must be YYYY-MM-DD or 'expiration', not {raw_date[:40]!r}."
            ) from None
    return RiskQuery(day, at_expiration, _iv_shift(params.get("iv_shift")), _prices(params))


def _iv_shift(raw: str | None) -> float:
    if raw is None:
        return 0.0
    value = _number(raw)
    if value is None:
        raise RiskInputError(f"iv_shift must be a number of vol points, not {raw[:40]!r}.")
    if abs(value) > MAX_IV_SHIFT:
        raise RiskInputError(
            f"iv_shift must be between -{MAX_IV_SHIFT:g} and {MAX_IV_SHIFT:g} vol points."
        )
    return value


def _prices(params: Mapping[str, str]) -> list[float] | None:
    raw = params.get("prices")
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) > MAX_PRICES:
        raise RiskInputError(f"At most {MAX_PRICES} prices, not {len(parts)}.")
    prices = []
    for part in parts:
        value = _number(part)
        if value is None or value <= 0:
            raise RiskInputError(f"Each price must be a number above 0, not {part[:40]!r}.")
        prices.append(value)
    return prices


def _number(raw: str) -> float | None:
    """A finite float, or None (no 'nan', 'inf', '1e999')."""
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def scenario_time(
    query: RiskQuery, now: dt.datetime, last_expiry: dt.datetime | None, underlying: str
) -> dt.datetime:
    """When the curve is priced (UTC), or RiskInputError for a date it cannot be."""
    if query.at_expiration:
        if last_expiry is None:
            raise RiskInputError(f"No option is held in {underlying}: there is no expiration.")
        return last_expiry
    if query.day is None:
        return now
    today = now.astimezone(NEW_YORK).date()
    if query.day < today:
        raise RiskInputError(f"date {query.day} is in the past (today is {today}).")
    if last_expiry is not None and query.day > last_expiry.astimezone(NEW_YORK).date():
        raise RiskInputError(
            f"date {query.day} is after the last expiration held in {underlying} "
            f"({last_expiry.astimezone(NEW_YORK).date()})."
        )
    close = dt.datetime.combine(query.day, EXPIRY_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)
    return max(close, now)
