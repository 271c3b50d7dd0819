"""News pages and JSON: `/news/<SYMBOL>` and `GET /api/news?symbols=&limit=&after=`.

Thin: the query is checked (query.py), the store read (store.py) off the event loop.
Without `after`: the newest articles (by publication time, newest first) and the cursor
to resume from, read *before* the articles (so nothing stored meanwhile is skipped).
With `after`: every revision stored after that cursor, oldest first, and `more` when the
page is full. Who may read: news/access.py.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.signed_in import signed_in
from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.news.access import NO_NEWS, news_link_exists
from streaming.news.panel import news_list, news_panel
from streaming.news.query import NewsQueryError, news_query, news_symbol
from streaming.portfolio.page import snapshot_for, stream_context


async def api_news(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    try:
        query = news_query(request.META.get("QUERY_STRING", ""), request.GET)
    except NewsQueryError as exc:
        return errors.sentence_error(exc.status, exc.message)
    if not await database_sync_to_async(news_link_exists)(user_id=user.id):
        return errors.sentence_error(403, NO_NEWS)
    return JsonResponse(await database_sync_to_async(news_list)(query))


@login_required
async def news_page(request: HttpRequest, symbol: str) -> HttpResponse:
    """One symbol's news, live: the page streams the symbol as its own (quotes and news)."""
    user = signed_in(await request.auser())
    try:
        clean = news_symbol(symbol)
    except NewsQueryError as exc:
        context = {"error": exc.message, "symbol": symbol[:32]}
        response = await sync_to_async(render)(request, "streaming/news.html", context)
        response.status_code = 400
        return response
    snapshot, watchlist = await snapshot_for(agents_of(request), user.id, extra=[clean])
    panel = await database_sync_to_async(news_panel)(user_id=user.id, symbols=[clean])
    context = {**await stream_context(user.id, snapshot, watchlist), "symbol": clean, "news": panel}
    return await sync_to_async(render)(request, "streaming/news.html", context)
