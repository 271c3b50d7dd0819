"""The /risk page: server-rendered first with the last known values (the portfolio's
β-weighted delta and the user's limits against it, one table per underlying across
accounts, the what-if graph's choices), then live from the user's stream (static/js/risk/:
the tables and the limits from the quotes, the graph re-fetched from `GET /api/risk/...`
as the underlying's quote moves)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streaming.dashboard.page_context import live_page_context
from streaming.instruments.symbols import NEW_YORK
from streaming.risk.exposure import BENCHMARK, underlying_of
from streaming.risk.limits_runner import portfolio_values
from streaming.risk.limits_store import limits_get
from streaming.risk.page_rows import (
    PORTFOLIO,
    default_choice,
    graph_choices,
    last_expiration,
    limits_line,
    portfolio_line,
    strategy_rows,
    underlying_tables,
)

#: The IV slider's reach, in vol points (the API refuses beyond it).
IV_SHIFT_LIMIT = 50


def risk_context(
    snapshot: dict[str, Any], asked: str | None, now_ms: int, limits: dict[str, Any]
) -> dict[str, Any]:
    """Everything the template draws, from one snapshot, the user's limits and the clock."""
    values = portfolio_values(snapshot, now_ms)  # what the limits are evaluated on
    tables = underlying_tables(snapshot, now_ms=now_ms)
    choice = default_choice(snapshot, asked) if tables else PORTFOLIO
    today = dt.datetime.fromtimestamp(now_ms / 1000, NEW_YORK).date()
    choices = graph_choices(snapshot)
    ends = {c["value"]: last_expiration(snapshot, c["value"]) for c in choices}
    end = max(today, ends.get(choice) or today)
    held = sorted(
        {underlying_of(p) for a in snapshot.get("accounts") or [] for p in a.get("positions") or []}
    )
    price_of = {t.underlying: t.price for t in tables}
    return {
        "portfolio": portfolio_line(tables, snapshot),
        "limits": limits_line(limits, values.beta_delta, values.day_pnl),
        "strategies": strategy_rows(snapshot),
        "tables": tables,
        "graph": {
            "choices": choices,
            # per choice: its last expiration (the date slider's end), null for stock only
            "expirations": {k: v.isoformat() if v else None for k, v in ends.items()},
            "choice": choice,
            "price": price_of.get(BENCHMARK if choice == PORTFOLIO else choice),
            "today": today.isoformat(),
            "last_expiration": end.isoformat(),
            "days": (end - today).days,
            "iv_limit": IV_SHIFT_LIMIT,
        },
        # the stream carries every underlying held and SPY (β-weighting), as this page's own
        "risk_symbols": sorted({*held, BENCHMARK} - {""}),
    }


@login_required
async def risk_page(request: HttpRequest) -> HttpResponse:
    """The risk page: the tables and the graph's frame from the last known values."""
    user = await request.auser()
    assert user.id is not None  # login_required
    context = await live_page_context(user.id)
    now_ms = int(time.time() * 1000)
    limits = dict(await database_sync_to_async(limits_get)(user.id))
    context.update(risk_context(context["snapshot"], request.GET.get("u"), now_ms, limits))
    return await sync_to_async(render)(request, "streaming/risk.html", context)
