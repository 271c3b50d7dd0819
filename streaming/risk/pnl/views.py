"""Thin views of the P&L over the day: `GET /api/pnl?day=` and the page `/pnl`
(docs/streaming-contract.md "P&L over the day")."""

from __future__ import annotations

import datetime as dt

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts import times
from accounts.display_preferences import display_preferences_get
from streaming.api import errors
from streaming.cluster.agents import Agents, agents_of
from streaming.instruments.symbols import NEW_YORK
from streaming.risk.pnl.day import DayError, PnlDay, Series, parse_day, pnl_day
from streaming.risk.pnl.owner import hold_stream

#: The newest samples of each series the page shows as rows before its script runs.
PAGE_ROWS = 10
#: Beyond two sample intervals, how long a call for today holds the stream (seconds).
HOLD_MARGIN = 10.0


def clock(ms: int, zone: dt.tzinfo) -> str:
    """HH:MM:SS in `zone`, unlabelled, as static/js/risk/pnl/model.js's `clock`."""
    return dt.datetime.fromtimestamp(ms / 1000, zone).strftime("%H:%M:%S")


def time_text(ms: int | None, zone: dt.tzinfo) -> str:
    """HH:MM:SS in the trader's zone, named, as static/js/risk/pnl/model.js's `timeText`."""
    return "—" if ms is None else times.text(ms, zone, "time")


def money(value: float | None, signed: bool = True) -> str:
    """As static/js/risk/pnl/model.js's `money`: a sign on P&L, "—" for no value."""
    if value is None:
        return "—"
    text = f"{abs(value):,.2f}"
    if not signed:
        return ("-" if value < 0 else "") + text
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def stats_text(series: Series, zone: dt.tzinfo) -> dict[str, str]:
    """A series' stats row in the words risk/pnl/model.js's `statsText` writes (the page's
    first render and its script agree): each value, and its time under it."""
    last = series["points"][-1] if series["points"] else None
    high, low, dd = series["high"], series["low"], series["max_drawdown"]
    return {
        "net_liq": money(last["net_liq"] if last else None, signed=False),
        "day_pnl": money(last["day_pnl"] if last else None),
        "high": money(high["value"]) if high else "—",
        "high_at": time_text(high["t"], zone) if high else "",
        "low": money(low["value"]) if low else "—",
        "low_at": time_text(low["t"], zone) if low else "",
        "drawdown": money(dd["value"], signed=False) if dd else "—",
        "drawdown_at": (
            f"{clock(dd['peak_t'], zone)} → {time_text(dd['trough_t'], zone)}"
            if dd and dd["value"] > 0
            else ""
        ),
        "points": str(len(series["points"])),
    }


def _today() -> dt.date:
    """Today's New York trading day (the market's date, whatever the zone shown)."""
    return dt.datetime.now(NEW_YORK).date()


async def _answer(agents: Agents, user_id: int, text: str | None) -> PnlDay:
    today = _today()
    day = parse_day(text, today)
    if day == today:  # the page polls: sampling goes on while it does
        await hold_stream(agents, user_id, grace=2 * settings.PNL_SAMPLE_INTERVAL + HOLD_MARGIN)
    return await pnl_day(agents, user_id, day, today)


async def api_pnl(request: HttpRequest) -> JsonResponse:
    """`?day=YYYY-MM-DD` → the day's curves and stats; a bad day → 400 with a sentence."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method != "GET":
        return JsonResponse({"error": "Only GET reads the P&L."}, status=405)
    try:
        return JsonResponse(await _answer(agents_of(request), user.pk, request.GET.get("day")))
    except DayError as exc:
        return errors.sentence_error(400, str(exc))


@login_required
async def pnl_page(request: HttpRequest) -> HttpResponse:
    """The day's curves, stats and newest samples server-rendered, then the chart."""
    user = await request.auser()
    request.user = user
    assert user.pk is not None, "login_required"
    try:
        answer, status, error = (
            await _answer(agents_of(request), user.pk, request.GET.get("day")),
            200,
            "",
        )
    except DayError as exc:
        answer, status, error = await _answer(agents_of(request), user.pk, None), 400, str(exc)
    prefs = await sync_to_async(display_preferences_get)(user_id=user.pk)
    zone = times.zone_of(prefs["time_zone"])
    rows = [
        {
            **s,
            "text": stats_text(s, zone),
            "recent": [
                {
                    "t": p["t"],
                    "iso": dt.datetime.fromtimestamp(p["t"] / 1000, dt.UTC).isoformat(),
                    "time": time_text(p["t"], zone),
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
        # the zone, named as at the answer's time (risk/pnl/page.js writes the same)
        "zone": f"{prefs['time_zone']} ({times.label(answer['as_of'], zone)})",
    }
    return await sync_to_async(render)(request, "streaming/pnl.html", context, status=status)
