"""What the /risk page draws, from one snapshot, the user's limits and the clock: the
portfolio's β-weighted delta and the limits against it, one table per underlying across
accounts, the strategies and the what-if graph's choices (the page: streaming/pages/risk.py;
live from the user's stream after: static/js/risk/)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypedDict

from streaming.instruments.symbols import NEW_YORK
from streaming.risk.exposure import BENCHMARK, underlying_of
from streaming.risk.limits.runner import portfolio_values
from streaming.risk.page.rows import (
    PORTFOLIO,
    LimitsLine,
    PortfolioLine,
    UnderlyingTable,
    default_choice,
    graph_choices,
    last_expiration,
    limits_line,
    portfolio_line,
    strategy_rows,
    underlying_tables,
)

#: The IV slider's reach, in vol points (the API refuses beyond it).
IV_SHIFT_LIMIT = 50


class Graph(TypedDict):
    """The what-if graph's choices: each underlying's (and the portfolio's) last expiration
    (the date slider's end; null for stock only), the one shown first and its price."""

    choices: list[dict[str, str]]
    expirations: dict[str, str | None]
    choice: str
    price: float | None
    today: str
    last_expiration: str
    days: int
    iv_limit: int


class RiskContext(TypedDict):
    portfolio: PortfolioLine
    limits: LimitsLine
    strategies: list[dict[str, str]]
    tables: list[UnderlyingTable]
    graph: Graph
    #: what the page's stream carries: every underlying held, and SPY (β-weighting)
    risk_symbols: list[str]


def risk_context(
    snapshot: dict[str, Any],
    asked: str | None,
    now_ms: int,
    limits: Mapping[str, object],
    *,
    rate: float,
) -> RiskContext:
    """Everything the template draws, from one snapshot, the user's limits, the clock and the
    interest rate the strategies' odds are weighed with (the API's: `RISK_INTEREST_RATE`)."""
    values = portfolio_values(snapshot, now_ms)  # what the limits are evaluated on
    tables = underlying_tables(snapshot, now_ms=now_ms)
    choice = default_choice(snapshot, asked) if tables else PORTFOLIO
    today = dt.datetime.fromtimestamp(now_ms / 1000, NEW_YORK).date()
    choices = graph_choices(snapshot)
    ends = {c["value"]: last_expiration(snapshot, c["value"]) for c in choices}
    end = max(today, ends.get(choice) or today)
    held = sorted(
        {underlying_of(p) for a in snapshot.get("accounts") or [] for p in a.get("positions") or []}
    )
    price_of = {t.underlying: t.price for t in tables}
    return {
        "portfolio": portfolio_line(tables, snapshot),
        "limits": limits_line(limits, values.beta_delta, values.day_pnl),
        "strategies": strategy_rows(snapshot, now_ms=now_ms, rate=rate),
        "tables": tables,
        "graph": {
            "choices": choices,
            # per choice: its last expiration (the date slider's end), null for stock only
            "expirations": {k: v.isoformat() if v else None for k, v in ends.items()},
            "choice": choice,
            "price": price_of.get(BENCHMARK if choice == PORTFOLIO else choice),
            "today": today.isoformat(),
            "last_expiration": end.isoformat(),
            "days": (end - today).days,
            "iv_limit": IV_SHIFT_LIMIT,
        },
        # the stream carries every underlying held and SPY (β-weighting), as this page's own
        "risk_symbols": sorted({*held, BENCHMARK} - {""}),
    }
