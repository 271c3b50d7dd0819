"""The option chain page (`/chain/<SYMBOL>`) and its JSON (`/api/chain/<SYMBOL>`,
`/api/chain/<SYMBOL>/expirations`).

Thin: the query is checked here (chains.py rules), the chain is built at the user's
stream owner (chains/owner.py: `chain.request`), and the same JSON serves the
page's first render, the WebSocket page, and the SSE and polling fallbacks (the page
subscribes the visible options as its own symbols; docs/streaming-contract.md
"Option chains").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.signed_in import signed_in
from streaming.api import errors
from streaming.brokers.market_data_cache import FetchFailed
from streaming.chains.owner import ask_chain
from streaming.chains.service import (
    DEFAULT_STRIKES,
    STRIKE_COUNTS,
    clean_expiration,
    clean_strikes,
    clean_symbol,
    error_body,
    expected_move_line,
    rows_html,
)
from streaming.chains.shapes import ChainAnswer, ChainBody
from streaming.cluster.agents import agents_of
from streaming.contract.layer import ChainRequest, ToOwner
from streaming.portfolio.page import snapshot_for, stream_context


def _query(request: HttpRequest, symbol: str, kind: str) -> ChainRequest:
    """The checked query, or FetchFailed 400."""
    query: ChainRequest = {
        "type": ToOwner.CHAIN_REQUEST,
        "kind": kind,
        "symbol": clean_symbol(symbol),
    }
    if kind == "chain":
        query["expiration"] = clean_expiration(request.GET.get("expiration"))
        query["strikes"] = clean_strikes(request.GET.get("strikes"))
    return query


def _json(status: int, body: ChainBody) -> JsonResponse:
    response = JsonResponse(errors.with_message(body) if status >= 400 else body, status=status)
    if status == 429 and "retry_in" in body:
        response["Retry-After"] = str(max(1, round(body["retry_in"])))
    return response


async def _api(request: HttpRequest, symbol: str, kind: str) -> JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        query = _query(request, symbol, kind)
    except FetchFailed as exc:
        return _json(exc.status, error_body(exc))
    return _json(*await ask_chain(agents_of(request), user.id, query))


async def api_chain(request: HttpRequest, symbol: str) -> JsonResponse:
    """One expiration's chain around the money: `?expiration=YYYY-MM-DD&strikes=N`."""
    return await _api(request, symbol, "chain")


async def api_chain_expirations(request: HttpRequest, symbol: str) -> JsonResponse:
    """The underlying's expirations at the user's quote-source broker."""
    return await _api(request, symbol, "expirations")


@login_required
async def chain_page(request: HttpRequest, symbol: str) -> HttpResponse:
    """The chain, server-rendered with the last known values, then live. Bad input or a
    broker failure renders the page with the message (and its status); the stream goes on.

    The user's snapshot (the page's stream state) and the chain are asked for at once."""
    user = signed_in(await request.auser())
    request.user = user  # the template's `user` without a database hop
    timings: dict[str, float] = {}
    chain: ChainAnswer | None = None
    error: ChainBody | None = None
    status = 200

    async def timed(name: str, coro: Any) -> Any:
        began = time.monotonic()
        try:
            return await coro
        finally:
            timings[name] = time.monotonic() - began

    try:
        query = _query(request, symbol, "chain")
    except FetchFailed as exc:
        status, error = exc.status, error_body(exc)
        query = {
            "type": ToOwner.CHAIN_REQUEST,
            "kind": "chain",
            "symbol": symbol.upper()[:20],
            "strikes": DEFAULT_STRIKES,
            "expiration": None,
        }
        snapshot, watchlist = await timed("page", snapshot_for(agents_of(request), user.id))
    else:
        body: ChainBody
        (snapshot, watchlist), (status, body) = await asyncio.gather(
            timed("page", snapshot_for(agents_of(request), user.id, extra=[query["symbol"]])),
            timed("chain", ask_chain(agents_of(request), user.id, query)),
        )
        if status == 200 and "rows" in body:  # a chain's answer (an error has no rows)
            chain = body
        else:
            error = body
    began = time.monotonic()
    context = {
        **await stream_context(user.id, snapshot, watchlist),
        "chain": chain,
        "chain_rows_html": rows_html(chain) if chain else "",
        # the expected move at first paint (the browser redraws it live from its first render)
        "expected_move": expected_move_line(chain, dt.datetime.now(dt.UTC)) if chain else "",
        "chain_error": error,
        "chain_query": query,
        "strike_counts": STRIKE_COUNTS,
        "chain_url": f"/api/chain/{query['symbol']}",
    }
    # rendered on the event loop: everything it reads is in hand (no database), and the
    # shared sync thread is where 20 pages at once queued behind each other
    response = render(request, "streaming/chain.html", context)
    timings["render"] = time.monotonic() - began
    response.status_code = 200 if status == 429 else status
    # where a slow page spent its time (the browser's devtools and bench/chain.py read it)
    response["Server-Timing"] = ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in timings.items())
    return response
