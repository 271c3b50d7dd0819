"""The dashboard: one page composed of the features' parts, server-rendered from the user's
stream's last values (the overview's strip, the totals, the accounts with their risk
cells and each option position's POP, the orders panel, chain links, the news panel), then
kept live by the websocket (the POP column by `GET /api/risk/strategies`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.times import zone_of
from streaming.brokers.values import now_ms
from streaming.chains.service import chain_links
from streaming.cluster.agents import agents_of
from streaming.news.panel import news_panel, panel_symbols
from streaming.order_list import orders_panel
from streaming.overview.live_page import live_page_context
from streaming.pages.totals_panel import totals_panel
from streaming.risk.labels import with_risk
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.odds.answer import rows_with_odds
from streaming.risk.page.odds_text import PopCell, position_pops
from streaming.risk.strategies.grouping import strategies_of


def pop_cells(snapshot: dict[str, Any], now: dt.datetime, rate: float) -> dict[str, PopCell]:
    """ "<account>|<symbol>" → the POP cell of every option position: its strategy's, as
    `GET /api/risk/strategies` answers it (the same rows, clock and rate)."""
    legs = legs_from_snapshot(snapshot, None)
    quotes = snapshot.get("quotes") or {}
    rows = rows_with_odds(strategies_of(legs), quotes, now=now, rate=rate, with_p50=False)
    return position_pops(rows)


def with_pops(accounts: list[dict[str, Any]], cells: dict[str, PopCell]) -> list[dict[str, Any]]:
    """The accounts with each position's POP cell under `pop` (None: not an option)."""
    return [
        {
            **a,
            "positions": [
                {**p, "pop": cells.get(f"{a.get('number')}|{p.get('symbol')}")}
                for p in a.get("positions") or []
            ],
        }
        for a in accounts
    ]


@login_required
async def dashboard(request: HttpRequest) -> HttpResponse:
    """The live dashboard, server-rendered with the last known values."""
    user = await request.auser()
    assert user.id is not None  # login_required
    context = await live_page_context(agents_of(request), user.id)
    context.update(totals=totals_panel(context["snapshot"]), watchlist_url="/watchlist")
    context["chain_links"] = chain_links(context["snapshot"], context["watchlist"])
    context["orders_panel"] = orders_panel(context["snapshot"])
    # β-Δ and IV rank cells, their titles' times in the trader's zone
    zone = zone_of(context["time_zone"])
    # each option position's POP (closed-form: P50's Monte Carlo is not shown here), off
    # the event loop as the strategies API computes it (risk/strategies/views.py)
    now = dt.datetime.fromtimestamp(now_ms() / 1000, dt.UTC)
    rate = float(settings.RISK_INTEREST_RATE)
    pops = await asyncio.to_thread(pop_cells, context["snapshot"], now, rate)
    context["accounts"] = with_pops(with_risk(context["snapshot"], "risk", zone), pops)
    symbols = panel_symbols(context["snapshot"], context["watchlist"])
    context["news"] = await database_sync_to_async(news_panel)(user_id=user.id, symbols=symbols)
    return await sync_to_async(render)(request, "streaming/dashboard.html", context)
