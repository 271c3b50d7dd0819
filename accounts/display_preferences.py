"""A trader's display preferences: read with defaults, changed from a validated partial
update. The service behind `GET/PUT /api/preferences` and the `/settings/display` page
(docs/streaming-contract.md "Display preferences")."""

from __future__ import annotations

import re
from typing import Any

from accounts.models import DisplayPreferences
from accounts.times import MARKET_ZONE, known_zones

#: Every preference and its default (a user without a row has these): times in New York's
#: zone, the market's clock, until the trader chooses another (accounts/times.py).
DEFAULTS: dict[str, Any] = {"flashes": True, "time_zone": MARKET_ZONE, "sorts": {}}
#: The columns of each side of an option chain (static/js/stream/chain.js COLUMNS).
CHAIN_COLUMNS = (
    "bid",
    "ask",
    "mark",
    "volume",
    "open_interest",
    "iv",
    "delta",
    "gamma",
    "theta",
    "vega",
)
#: The tables a sort may be remembered for, and the columns each sorts by.
SORTABLE: dict[str, frozenset[str]] = {
    "positions": frozenset(
        {
            "symbol",
            "quantity",
            "mark",
            "day_pnl",
            "open_pnl",
            "average_open_price",
            "delta",
            "position_delta",
            "gamma",
            "theta",
            "vega",
            "iv",
        }
    ),
    "watchlist": frozenset({"symbol", "bid", "ask", "last", "change", "volume"}),
    "chain": frozenset(
        {"strike"} | {f"{side}_{field}" for side in ("call", "put") for field in CHAIN_COLUMNS}
    ),
}
#: A preferences body is small: anything larger is refused before parsing.
MAX_PREFERENCES_BODY_BYTES = 4096
_COLUMN = re.compile(r"^[a-z_]{1,32}$")


class DisplayPreferencesError(ValueError):
    """A refused update (400); the message says what is wrong, in a sentence."""


def time_zones() -> list[str]:
    """The settings page's choices: New York's first (the default), then every IANA zone
    this server knows, by name."""
    return [MARKET_ZONE, *sorted(known_zones() - {MARKET_ZONE})]


def display_preferences_get(*, user_id: int) -> dict[str, Any]:
    """The user's preferences (the defaults when none are stored)."""
    row = DisplayPreferences.objects.filter(user_id=user_id).values(*DEFAULTS).first()
    return {**DEFAULTS, **(row or {})}


def _clean_sorts(value: Any, current: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DisplayPreferencesError(
            '"sorts" must be an object such as {"positions": {"col": "day_pnl", "dir": "desc"}}'
        )
    sorts = dict(current)
    for table, sort in value.items():
        if table not in SORTABLE:
            raise DisplayPreferencesError(
                f"unknown table {str(table)[:32]!r}: the tables are {', '.join(SORTABLE)}"
            )
        if sort is None:  # back to the table's own order
            sorts.pop(table, None)
            continue
        if not isinstance(sort, dict) or set(sort) != {"col", "dir"}:
            raise DisplayPreferencesError(
                f'the sort of {table!r} must be {{"col": …, "dir": "asc" or "desc"}} or null'
            )
        col, direction = sort["col"], sort["dir"]
        if not isinstance(col, str) or not _COLUMN.match(col) or col not in SORTABLE[table]:
            raise DisplayPreferencesError(
                f"{table!r} cannot be sorted by {str(col)[:32]!r}: "
                f"by {', '.join(sorted(SORTABLE[table]))}"
            )
        if direction not in ("asc", "desc"):
            raise DisplayPreferencesError(
                f'the direction must be "asc" or "desc", not {direction!r}'
            )
        sorts[table] = {"col": col, "dir": direction}
    return sorts


def display_preferences_update(*, user_id: int, changes: Any) -> dict[str, Any]:
    """Apply `changes` (some of DEFAULTS' keys; `sorts` merges per table, null resets a
    table) and return every preference. Anything else raises DisplayPreferencesError
    and stores nothing."""
    if not isinstance(changes, dict):
        raise DisplayPreferencesError(
            "the body must be a JSON object such as "
            '{"flashes": false, "time_zone": "Europe/Berlin"}'
        )
    unknown = sorted(str(k) for k in changes if k not in DEFAULTS)
    if unknown:
        raise DisplayPreferencesError(
            f"unknown preference {unknown[0][:32]!r}: the preferences are {', '.join(DEFAULTS)}"
        )
    current = display_preferences_get(user_id=user_id)
    clean: dict[str, Any] = {}
    if "flashes" in changes:
        if not isinstance(changes["flashes"], bool):
            raise DisplayPreferencesError('"flashes" must be true or false')
        clean["flashes"] = changes["flashes"]
    if "time_zone" in changes:
        zone = changes["time_zone"]
        if not isinstance(zone, str) or zone not in known_zones():
            shown = str(zone)[:40]
            raise DisplayPreferencesError(
                f"{shown!r} is not a time zone: use an IANA name such as America/New_York "
                "(the market's clock, the default) or Europe/London"
            )
        clean["time_zone"] = zone
    if "sorts" in changes:
        clean["sorts"] = _clean_sorts(changes["sorts"], current["sorts"])
    if clean:
        DisplayPreferences.objects.update_or_create(user_id=user_id, defaults=clean)
    return {**current, **clean}
