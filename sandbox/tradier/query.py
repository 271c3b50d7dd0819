"""Query parameters Tradier's account lists share (`page`, `limit`, dates), parsed once.

Tradier pages from 1; dates are `yyyy-mm-dd` calendar days in New York (its clearing
firm's day). Bad values raise `BadQuery`, which the routes answer 400 in Tradier's error
shape.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")
NEW_YORK = ZoneInfo("America/New_York")


class BadQuery(ValueError):
    """A parameter Tradier would refuse; the message is the error text."""


def positive_int(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise BadQuery(f"Invalid {name} {raw}: a whole number from 1 up")
    return int(raw)


def page_of(items: Sequence[T], values: Mapping[str, str], default_limit: int) -> list[T]:
    """The `page`-th run of `limit` items (1-based)."""
    page = positive_int(values, "page", 1)
    limit = positive_int(values, "limit", default_limit)
    return list(items[(page - 1) * limit : page * limit])


def day(values: Mapping[str, str], name: str) -> dt.date | None:
    raw = values.get(name, "")
    if raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"Invalid {name} {raw}: expected yyyy-mm-dd") from None


def day_of(epoch: float) -> dt.date:
    """The New York calendar day of a moment."""
    return dt.datetime.fromtimestamp(epoch, NEW_YORK).date()


def in_days(epoch: float, start: dt.date | None, end: dt.date | None) -> bool:
    """Whether the moment's day lies within `start`..`end` (both inclusive, either open)."""
    when = day_of(epoch)
    return (start is None or when >= start) and (end is None or when <= end)


def midnight(epoch: float, millis: bool = False) -> str:
    """The moment's day as Tradier dates its books: midnight, `Z` (no time of day)."""
    text = day_of(epoch).isoformat() + "T00:00:00"
    return text + (".000Z" if millis else "Z")
