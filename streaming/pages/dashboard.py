"""The dashboard: one page composed of the features' parts, server-rendered from the user's
stream's last values (the overview's strip, the totals, the accounts with their risk
cells, the orders panel, chain links, the news panel), then kept live by the websocket."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.times import zone_of
from streaming.chains.service import chain_links
from streaming.cluster.agents import agents_of
from streaming.news.panel import news_panel, panel_symbols
from streaming.order_list import orders_panel
from streaming.overview.live_page import live_page_context
from streaming.pages.totals_panel import totals_panel
from streaming.risk.labels import with_risk


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
    context["accounts"] = with_risk(context["snapshot"], "risk", zone)
    symbols = panel_symbols(context["snapshot"], context["watchlist"])
    context["news"] = await database_sync_to_async(news_panel)(user_id=user.id, symbols=symbols)
    return await sync_to_async(render)(request, "streaming/dashboard.html", context)
