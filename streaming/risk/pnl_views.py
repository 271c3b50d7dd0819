"""Thin views of the P&L over the day: `GET /api/pnl?day=` and the page `/pnl`
(docs/streaming-contract.md "P&L over the day")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from streaming.risk.pnl_day import DayError, parse_day, pnl_day
from streaming.risk.pnl_owner import hold_stream

#: The newest samples of each series the page shows as rows before its script runs.
PAGE_ROWS = 10
#: Beyond two sample intervals, how long a call for today holds the stream (seconds).
HOLD_MARGIN = 10.0


def time_text(ms: int | None) -> str:
    """HH:MM:SS UTC, as pnl-model.js's `timeText`."""
    if ms is None:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%H:%M:%S UTC")


def money(value: float | None, signed: bool = True) -> str:
    """As pnl-model.js's `money`: a sign on P&L, "—" for no value."""
    if value is None:
        return "—"
    text = f"{abs(value):,.2f}"
    if not signed:
        return ("-" if value < 0 else "") + text
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def stats_text(series: dict[str, Any]) -> dict[str, str]:
    """A series' stats row in the words pnl-model.js's `statsText` writes (the page's
    first render and its script agree)."""
    last = series["points"][-1] if series["points"] else None
    high, low, dd = series["high"], series["low"], series["max_drawdown"]
    return {
        "net_liq": money(last["net_liq"] if last else None, signed=False),
        "day_pnl": money(last["day_pnl"] if last else None),
        "high": f"{money(high['value'])} at {time_text(high['t'])}" if high else "—",
        "low": f"{money(low['value'])} at {time_text(low['t'])}" if low else "—",
        "drawdown": (
            f"{money(dd['value'], signed=False)} ({time_text(dd['peak_t'])} → "
            f"{time_text(dd['trough_t'])})"
            if dd
            else "—"
        ),
        "points": str(len(series["points"])),
    }


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def _answer(user_id: int, text: str | None) -> dict[str, Any]:
    today = _today()
    day = parse_day(text, today)
    if day == today:  # the page polls: sampling goes on while it does
        await hold_stream(user_id, grace=2 * settings.PNL_SAMPLE_INTERVAL + HOLD_MARGIN)
    return await pnl_day(user_id, day, today)


async def api_pnl(request: HttpRequest) -> JsonResponse:
    """`?day=YYYY-MM-DD` → the day's curves and stats; a bad day → 400 with a sentence."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
    if request.method != "GET":
        return JsonResponse({"error": "Only GET reads the P&L."}, status=405)
    try:
        return JsonResponse(await _answer(user.pk, request.GET.get("day")))
    except DayError as exc:
        return JsonResponse({"error": str(exc)}, status=400)


@login_required
async def pnl_page(request: HttpRequest) -> HttpResponse:
    """The day's curves, stats and newest samples server-rendered, then the chart."""
    user = await request.auser()
    request.user = user
    assert user.pk is not None, "login_required"
    try:
        answer, status, error = await _answer(user.pk, request.GET.get("day")), 200, ""
    except DayError as exc:
        answer, status, error = await _answer(user.pk, None), 400, str(exc)
    rows = [
        {
            **s,
            "text": stats_text(s),
            "recent": [
                {
                    "time": time_text(p["t"]),
                    "net_liq": money(p["net_liq"], signed=False),
                    "day_pnl": money(p["day_pnl"]),
                }
                for p in reversed(s["points"][-PAGE_ROWS:])
            ],
        }
        for s in answer["series"]
    ]
    context = {
        "pnl": answer,
        "rows": rows,
        "error": error,
        "today": _today().isoformat(),
        "is_today": answer["day"] == _today().isoformat(),
    }
    return await sync_to_async(render)(request, "streaming/pnl.html", context, status=status)
