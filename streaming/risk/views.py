"""`GET /api/risk/<UNDERLYING>` and `GET /api/risk/portfolio`: the what-if curve as JSON
(docs/streaming-contract.md, "GET /api/risk/…"). Thin: checks the query, reads the user's
snapshot through `owner.py`, answers from `whatif.py`."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.risk.exposure import BENCHMARK
from streaming.risk.input import RiskInputError, RiskQuery, parse_query
from streaming.risk.owner import stream_snapshot
from streaming.risk.whatif import NoPriceError, portfolio_answer, underlying_answer

#: How long a request waits for the user's snapshot, and then for a first quote of a
#: symbol it has just subscribed (seconds).
SNAPSHOT_WAIT = 3.0
QUOTE_WAIT = 2.0
QUOTE_RECHECK = 0.1


async def api_risk(request: HttpRequest, underlying: str) -> HttpResponse:
    """One underlying's what-if curve over every account's positions in it."""
    return await _answer(request, underlying.upper())


async def api_risk_portfolio(request: HttpRequest) -> HttpResponse:
    """The whole portfolio's what-if curve, β-weighted to SPY (prices are SPY's)."""
    return await _answer(request, None)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


async def _answer(request: HttpRequest, underlying: str | None) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return _error("not_authenticated", 403)
    try:
        query = parse_query(request.GET)
    except RiskInputError as exc:
        return _error(str(exc), 400)
    rate = float(settings.RISK_INTEREST_RATE)
    deadline = time.monotonic() + QUOTE_WAIT
    while True:
        snapshot = await _snapshot(user.id, underlying)
        if snapshot is None:
            return _error("Your accounts' data has not arrived yet; try again in a moment.", 503)
        try:
            answer = _compute(snapshot, underlying, query, rate)
        except RiskInputError as exc:
            return _error(str(exc), 400)
        except NoPriceError as exc:
            # a symbol subscribed just now: its first quote is on its way
            if time.monotonic() >= deadline:
                return _error(str(exc), 409)
            await asyncio.sleep(QUOTE_RECHECK)
            continue
        response = HttpResponse(orjson.dumps(answer), content_type="application/json")
        response["Cache-Control"] = "no-store"
        return response


async def _snapshot(user_id: int, underlying: str | None) -> dict[str, Any] | None:
    """The snapshot with the quotes of the underlying (or SPY's, for the portfolio); every
    underlying held streams already (the metrics runner wants them)."""
    wanted = BENCHMARK if underlying is None else underlying
    return await stream_snapshot(user_id, [wanted], within=SNAPSHOT_WAIT)


def _compute(
    snapshot: dict[str, Any], underlying: str | None, query: RiskQuery, rate: float
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    if underlying is None:
        return portfolio_answer(snapshot, query, now=now, rate=rate)
    return underlying_answer(snapshot, underlying, query, now=now, rate=rate)
