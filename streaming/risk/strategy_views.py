"""`GET /api/risk/strategies?underlying=<U>`: the user's positions as named strategies.

Thin: the query is checked, the user's snapshot read (as the polling fallback reads it),
its positions turned into legs (legs.py) and grouped (strategies.py)
(docs/streaming-contract.md, "Risk: strategies"). Session or API token (read only);
anonymous → 403 JSON; bad input → 400 with a sentence.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from streaming.dashboard.page_context import snapshot_for
from streaming.instruments.symbols import EQUITY_RE
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.strategies import strategies_of

UNDERLYING_ERROR = "underlying must be a stock or ETF symbol, e.g. SPY (letters, digits, '.', '/')"


class QueryError(ValueError):
    """A query the endpoint refuses; the message is the 400's sentence."""


def parse_underlying(query: dict[str, str]) -> str | None:
    """The `underlying` filter, upper-cased; None (every underlying) when absent or empty."""
    unknown = sorted(set(query) - {"underlying"})
    if unknown:
        raise QueryError(f"unknown parameter '{unknown[0]}' (only 'underlying' is read)")
    raw = query.get("underlying", "").strip()
    if not raw:
        return None
    symbol = raw.upper()
    if not raw.isascii() or not EQUITY_RE.match(symbol):
        raise QueryError(UNDERLYING_ERROR)
    return symbol


async def api_strategies(request: HttpRequest) -> JsonResponse:
    """→ `{"strategies": [Strategy.as_dict()], "as_of": <the snapshot's t, ms>}`."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    if request.method != "GET":
        return JsonResponse({"error": "only GET reads strategies"}, status=405)
    try:
        underlying = parse_underlying(request.GET.dict())
    except QueryError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    snapshot, _ = await snapshot_for(user.id)
    legs = legs_from_snapshot(dict(snapshot), underlying)
    return JsonResponse(
        {"strategies": [s.as_dict() for s in strategies_of(legs)], "as_of": snapshot.get("t")}
    )
