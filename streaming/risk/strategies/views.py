"""`GET /api/risk/strategies?underlying=<U>`: the user's positions as named strategies.

Thin: the query is checked, the user's snapshot read (as the polling fallback reads it),
the underlying resolved in any spelling through the user's holdings (names.py), its
positions turned into legs (legs.py) and grouped (strategies/grouping.py), each with its
odds (risk/odds/answer.py) at the underlying's live price, the rate the what-if curve
prices with and the time read once from the clock (docs/streaming-contract.md, "Risk:
strategies"). Session or API token (read only); anonymous → 403 JSON; bad input → 400 with
a sentence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from streaming.api import errors
from streaming.brokers.values import now_ms
from streaming.cluster.agents import agents_of
from streaming.portfolio.page import snapshot_for
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.names import resolve_underlying
from streaming.risk.odds.answer import rows_with_odds
from streaming.risk.strategies.grouping import strategies_of

UNDERLYING_ERROR = (
    "underlying must be a stock, ETF, future or coin symbol, e.g. SPY, /ESZ6 or BTC/USD"
)


class QueryError(ValueError):
    """A query the endpoint refuses; the message is the 400's sentence."""


def parse_query(query: dict[str, str]) -> str | None:
    """The `underlying` asked, as typed; None (every underlying) when absent or empty."""
    unknown = sorted(set(query) - {"underlying"})
    if unknown:
        raise QueryError(f"unknown parameter '{unknown[0]}' (only 'underlying' is read)")
    return query.get("underlying", "").strip() or None


def underlying_of(snapshot: Mapping[str, object], raw: str) -> str:
    """The contract symbol of the underlying `raw` spells (`spy`, `BTCUSD` where Alpaca holds
    the coin, `/ESZ6`), through the user's holdings; QueryError for anything else."""
    found = resolve_underlying(snapshot, raw)
    if found is None or found.kind.is_option:
        raise QueryError(UNDERLYING_ERROR)
    return found.symbol


async def api_strategies(request: HttpRequest) -> JsonResponse:
    """→ `{"strategies": [StrategyRow], "as_of": <the snapshot's t, ms>}`."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method != "GET":
        return JsonResponse({"error": "only GET reads strategies"}, status=405)
    try:
        raw = parse_query(request.GET.dict())
    except QueryError as exc:
        return errors.sentence_error(400, str(exc))
    found, _ = await snapshot_for(agents_of(request), user.id)
    snapshot = dict(found)
    try:
        underlying = None if raw is None else underlying_of(snapshot, raw)
    except QueryError as exc:
        return errors.sentence_error(400, str(exc))
    legs = legs_from_snapshot(snapshot, underlying)
    # the odds' Monte Carlo is milliseconds a strategy: off the event loop
    rows = await asyncio.to_thread(
        rows_with_odds,
        strategies_of(legs),
        snapshot.get("quotes") or {},
        now=dt.datetime.fromtimestamp(now_ms() / 1000, dt.UTC),
        rate=float(settings.RISK_INTEREST_RATE),
    )
    return JsonResponse({"strategies": rows, "as_of": snapshot.get("t")})
