"""`GET /api/risk/<UNDERLYING>` and `GET /api/risk/portfolio`: the what-if curve as JSON
(docs/streaming-contract.md, "GET /api/risk/…"). Thin: checks the query, reads the user's
snapshot (streaming/portfolio/owner.py), resolves the underlying (any spelling, through the
user's holdings: risk/names.py), answers from `answer.py`. Every answer is JSON, a 404 too."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.instruments.instrument import Instrument
from streaming.portfolio.owner import stream_snapshot
from streaming.risk.exposure import BENCHMARK
from streaming.risk.names import resolve_underlying, underlying_display
from streaming.risk.whatif.answer import NoPriceError, portfolio_answer, underlying_answer
from streaming.risk.whatif.grid import GridAnswer, GridQuery, parse_grid_query, scenario_grid
from streaming.risk.whatif.input import RiskInputError, RiskQuery, parse_query
from streaming.risk.whatif.shapes import PortfolioAnswer, UnderlyingAnswer

#: How long a request waits for the user's snapshot, and then for a first quote of a
#: symbol it has just subscribed (seconds).
SNAPSHOT_WAIT = 3.0
QUOTE_WAIT = 2.0
QUOTE_RECHECK = 0.1
#: The endpoints beside the symbols: a path under one of them names no underlying.
ENDPOINTS = ("strategies", "limits", "portfolio")


class NotFoundError(Exception):
    """A path under /api/risk/ that names no curve (404, JSON)."""


async def api_risk(request: HttpRequest, underlying: str) -> HttpResponse:
    """One underlying's what-if curve over every account's positions in it; `underlying`
    is any spelling of it (the path may hold a slash: `BTC/USD`, `/ESZ6`)."""
    return await _answer(request, underlying)


async def api_risk_scenarios(request: HttpRequest, underlying: str) -> HttpResponse:
    """The scenario grid of one underlying held (or of one of its strategies): the same
    snapshot, waits and refusals as the curve, another answer."""
    return await _answer(request, underlying, parse_grid_query, _grid)


async def api_risk_portfolio(request: HttpRequest) -> HttpResponse:
    """The whole portfolio's what-if curve, β-weighted to SPY (prices are SPY's)."""
    return await _answer(request, None)


async def api_risk_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/risk/: a JSON 404, never an HTML page."""
    return _not_found(f"/api/risk/{rest}")


def _error(message: str, status: int) -> JsonResponse:
    return errors.sentence_error(status, message)


def _not_found(path: str) -> JsonResponse:
    return errors.sentence_error(
        404, f"No risk curve at {path[:80]!r}: not a symbol held.", code="not_found"
    )


async def _answer(
    request: HttpRequest,
    raw: str | None,
    parse: Callable[[Mapping[str, str]], Any] = parse_query,
    compute: Callable[..., Any] | None = None,
) -> HttpResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if raw is not None and raw.split("/", 1)[0].lower() in ENDPOINTS:
        return _not_found(f"/api/risk/{raw}")
    try:
        query = parse(request.GET)
    except RiskInputError as exc:
        return _error(str(exc), 400)
    rate = float(settings.RISK_INTEREST_RATE)
    deadline = time.monotonic() + QUOTE_WAIT
    wanted = [BENCHMARK]  # every underlying held streams already (the metrics runner's)
    while True:
        snapshot = await stream_snapshot(agents_of(request), user.id, wanted, within=SNAPSHOT_WAIT)
        if snapshot is None:
            return _error("Your accounts' data has not arrived yet; try again in a moment.", 503)
        try:
            underlying = None if raw is None else _underlying(snapshot, raw)
        except NotFoundError:
            return _not_found(f"/api/risk/{raw}")
        except RiskInputError as exc:
            return _error(str(exc), 400)
        try:
            answer = (compute or _compute)(snapshot, underlying, query, rate)
        except RiskInputError as exc:
            return _error(str(exc), 400)
        except NoPriceError as exc:
            # a symbol subscribed just now: its first quote is on its way
            if time.monotonic() >= deadline:
                return _error(str(exc), 409)
            wanted = [underlying or BENCHMARK]
            await asyncio.sleep(QUOTE_RECHECK)
            continue
        response = HttpResponse(orjson.dumps(answer), content_type="application/json")
        response["Cache-Control"] = "no-store"
        return response


def _underlying(snapshot: Mapping[str, object], raw: str) -> str:
    """The contract symbol of the underlying `raw` spells, through the user's holdings;
    NotFoundError when it names nothing, RiskInputError for an option (not an underlying)."""
    found: Instrument | None = resolve_underlying(snapshot, raw)
    if found is None:
        raise NotFoundError(raw)
    if found.kind.is_option:
        raise RiskInputError(
            f"{found.display} is an option, not an underlying: "
            f"ask for {underlying_display(found.underlying)}."
        )
    return found.symbol


def _compute(
    snapshot: dict[str, Any], underlying: str | None, query: RiskQuery, rate: float
) -> UnderlyingAnswer | PortfolioAnswer:
    now = dt.datetime.now(dt.UTC)
    if underlying is None:
        return portfolio_answer(snapshot, query, now=now, rate=rate)
    return underlying_answer(snapshot, underlying, query, now=now, rate=rate)


def _grid(snapshot: dict[str, Any], underlying: str, query: GridQuery, rate: float) -> GridAnswer:
    return scenario_grid(snapshot, underlying, query, now=dt.datetime.now(dt.UTC), rate=rate)
