"""The chart page (`/chart/<SYMBOL>?tf=5m`), its history (`GET /api/candles/<SYMBOL>`) and
the watchlist's sparklines (`GET /api/sparklines/<SYMBOL>`).

Thin: the page is the dashboard's stream (same snapshot, transport and frames) with the
chart's instrument as the tab's own subscription, server-rendered with its last known
quote, titled by its display name, its note saying its hours; the browser loads the
history, then keeps the forming candle live from quotes
(static/js/stream/render/chart.js). The symbol asked is the instrument the user means
(portfolio/holdings.py). Errors are `{"error", "message"}` JSON with a 4xx status
(docs/streaming-contract.md, "Candle charts").
"""

from __future__ import annotations

import hashlib
import math
from urllib.parse import quote as quote_path

import orjson
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.selectors import broker_link_list
from accounts.signed_in import signed_in
from streaming.api import errors
from streaming.brokers.bars import TIMEFRAMES, HistoryError, no_market_data
from streaming.candles.service import (
    SPARK_TF,
    bad_symbol,
    candles_history,
    candles_request,
    clean_tf,
    sparkline,
    sparkline_max_age,
)
from streaming.cluster.agents import agents_of
from streaming.instruments.instrument import Instrument
from streaming.instruments.kinds import Kind
from streaming.portfolio.day_change import tile_text, tile_values
from streaming.portfolio.holdings import user_instrument
from streaming.portfolio.page import snapshot_for, stream_context

DEFAULT_TF = "5m"


def _error(exc: HistoryError) -> JsonResponse:
    headers = {"Cache-Control": "no-store"}
    extra: dict[str, int] = {}
    if exc.code == "rate_limited":
        seconds = max(1, math.ceil(exc.retry_after or 1))
        headers["Retry-After"] = str(seconds)
        extra["retry_after"] = seconds
    return errors.error_response(exc.status, exc.code, exc.message, headers=headers, **extra)


async def api_candles(request: HttpRequest, symbol: str) -> HttpResponse:
    """Candle history of one symbol and timeframe (`?tf=`, default 5m)."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        instrument, tf = await candles_request(
            agents_of(request), user.id, symbol, request.GET.get("tf", DEFAULT_TF)
        )
        answer = await candles_history(
            agents_of(request), user_id=user.id, symbol=instrument.symbol, tf=tf
        )
    except HistoryError as exc:
        return _error(exc)
    # orjson: a thousand candles encode in well under a millisecond (json: ~10 ms)
    return HttpResponse(orjson.dumps(answer), content_type="application/json")


async def api_sparkline(request: HttpRequest, symbol: str) -> HttpResponse:
    """A watchlist sparkline: the day's open and 15-minute closes, cacheable by the
    browser until the current bucket closes (max-age), then revalidated by its ETag."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        instrument, tf = await candles_request(agents_of(request), user.id, symbol, SPARK_TF)
        answer = await candles_history(
            agents_of(request), user_id=user.id, symbol=instrument.symbol, tf=tf
        )
    except HistoryError as exc:
        return _error(exc)
    body = orjson.dumps(sparkline(answer))
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={sparkline_max_age(answer['t'])}",
        "Vary": "Cookie",
    }
    if etag in _etags(request.headers.get("If-None-Match", "")):
        return HttpResponse(status=304, headers=headers)
    return HttpResponse(body, content_type="application/json", headers=headers)


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compare as strong: RFC 9110)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _link_brokers(user_id: int) -> list[str]:
    return [link.broker for link in broker_link_list(user_id=user_id)]


def session_note(instrument: Instrument | None) -> str:
    """What the candles of a kind that trades beyond a stock's hours cover, from its hours
    ("crypto trades around the clock, every day"); "" for the others (the page reads it
    from the candles loaded)."""
    if instrument is None:
        return ""
    if instrument.kind is Kind.CRYPTO:
        return f"crypto trades {instrument.hours.words}"
    if instrument.kind in (Kind.FUTURE, Kind.FUTURE_OPTION):
        return f"futures trade {instrument.hours.words}"
    return ""


def band_none(instrument: Instrument) -> str:
    """Why a chart has no expected-move band, in a sentence ("" when it may have one: a
    stock's or an ETF's, whose chain the page asks)."""
    if instrument.kind is Kind.EQUITY:
        return ""
    if instrument.kind is Kind.EQUITY_OPTION:
        return f"No expected move on an option's chart: see {instrument.underlying}'s chart."
    return (
        f"No expected move: {instrument.display} has no option chain here "
        "(chains are of stocks and ETFs)."
    )


@login_required
async def chart(request: HttpRequest, symbol: str) -> HttpResponse:
    """The chart page, server-rendered with the instrument's last known quote, then live.
    A bad symbol or timeframe renders the page with the message (status 400); a kind none
    of the user's links quotes, with the sentence naming the brokers that would."""
    user = signed_in(await request.auser())
    problem = None
    try:
        tf = clean_tf(request.GET.get("tf", DEFAULT_TF))
    except HistoryError as exc:
        problem, tf = exc.message, DEFAULT_TF
    instrument = await user_instrument(agents_of(request), user.id, symbol)
    if instrument is None and problem is None:
        problem = bad_symbol(symbol).message
    clean = instrument.symbol if instrument is not None else None
    snapshot, watchlist = await snapshot_for(
        agents_of(request), user.id, extra=[clean] if clean else None
    )
    quote = snapshot["quotes"].get(clean) if clean else None
    values = tile_values(quote)
    brokers = set(await database_sync_to_async(_link_brokers)(user.id))
    no_data = None
    if instrument is not None and brokers and not brokers & instrument.quoted_by:
        no_data = no_market_data(instrument).message
    # the expected move's band: the chain the page asks, or why there is none
    band_url = band_why = ""
    if instrument is not None and not problem and no_data is None and brokers:
        band_why = band_none(instrument)
        band_url = "" if band_why else f"/api/chain/{quote_path(instrument.symbol)}"
    context = {
        **await stream_context(user.id, snapshot, watchlist),
        "chart": {
            "symbol": clean,
            "display": instrument.display if instrument is not None else None,
            "asked": symbol[:40],
            "tf": tf,
            "timeframes": list(TIMEFRAMES),
            "problem": problem,
            "quotes_available": (no_data is None) if brokers else None,
            "no_data": no_data,
            "hours_note": session_note(instrument),
            "values": values,
            "text": tile_text(values),
            "quote_t": (quote or {}).get("t"),
            "band_url": band_url,
            "band_none": band_why,
        },
    }
    response = await sync_to_async(render)(request, "streaming/chart.html", context)
    if problem:
        response.status_code = 400
    return response
