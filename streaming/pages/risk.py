"""The /risk page: server-rendered first with the last known values (the risk feature's
tables, limits and graph: streaming/risk/page/), then live from the user's stream
(static/js/risk/: the tables and the limits from the quotes, the graph re-fetched from
`GET /api/risk/...` as the underlying's quote moves)."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streaming.brokers.values import now_ms
from streaming.cluster.agents import agents_of
from streaming.overview.live_page import live_page_context
from streaming.risk.limits.store import limits_get
from streaming.risk.page.context import risk_context


@login_required
async def risk_page(request: HttpRequest) -> HttpResponse:
    """The risk page: the tables and the graph's frame from the last known values."""
    user = await request.auser()
    assert user.id is not None  # login_required
    context = await live_page_context(agents_of(request), user.id)
    limits = dict(await database_sync_to_async(limits_get)(user.id))
    # the strategies' odds are a Monte Carlo of milliseconds each: off the event loop, as the
    # API computes them (risk/strategies/views.py), with its clock and rate
    page = await asyncio.to_thread(
        risk_context,
        context["snapshot"],
        request.GET.get("u"),
        now_ms(),
        limits,
        rate=float(settings.RISK_INTEREST_RATE),
    )
    context.update(page)
    return await sync_to_async(render)(request, "streaming/risk.html", context)
