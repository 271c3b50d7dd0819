"""`/replay`: the user's recorded days; `/replay/<YYYY-MM-DD>`: one of them played back on
the dashboard (positions, orders, watchlist, totals) over the page's own socket
(streaming/replay/consumer.py). The page says REPLAY and the replayed time on every part
of it; it carries no order entry, no kill switch and no push (templates/base.html)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streaming.chains.service import chain_links
from streaming.order_list import orders_panel
from streaming.overview.service import overview_context
from streaming.pages.totals_panel import totals_panel
from streaming.portfolio.page import empty_snapshot, stream_context
from streaming.replay.session import OFF_IN_REPLAY
from streaming.stream.day_file import day_path, recorded_days

#: The news panel of a replay: headlines are not recorded with the day.
NO_NEWS_IN_REPLAY = "News is not part of a replay: a day's headlines are not recorded."


def _root() -> Path | None:
    folder = settings.STREAM_RECORD_DIR
    return Path(folder) if folder else None


def _days(user_id: int) -> list[dict[str, Any]]:
    root = _root()
    if root is None:
        return []
    return [
        {"day": day, "bytes": day_path(root, user_id, day).stat().st_size}
        for day in reversed(recorded_days(root, user_id))
    ]


@login_required
async def replay_days(request: HttpRequest) -> HttpResponse:
    """The days this user can replay, newest first."""
    user = await request.auser()
    assert user.id is not None  # login_required
    days = await sync_to_async(_days)(user.id)
    context = {"days": days, "recording": _root() is not None, "error": None}
    return await sync_to_async(render)(request, "streaming/replay.html", context)


@login_required
async def replay_day(request: HttpRequest, day: str) -> HttpResponse:
    """The dashboard of a recorded day, empty until the page's socket sends the day's
    snapshot; a day that was not recorded: the list, with a sentence, 404."""
    user = await request.auser()
    assert user.id is not None  # login_required
    root = _root()
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return await _not_replayable(request, user.id, f"{day[:20]!r} is not a day (YYYY-MM-DD).")
    if root is None or not day_path(root, user.id, date).is_file():
        return await _not_replayable(
            request, user.id, f"There is no recording of {date.isoformat()} to replay."
        )
    snapshot: dict[str, Any] = dict(empty_snapshot([]))
    context = await stream_context(user.id, snapshot, [])
    context.update(
        await database_sync_to_async(overview_context)(user_id=user.id, quotes={}),
        ws_path=f"/ws/replay/{date.isoformat()}/",
        snapshot_url="",
        events_url="",
        totals=totals_panel(snapshot),
        watchlist_url="",
        chain_links=chain_links(snapshot, []),
        orders_panel=orders_panel(snapshot),
        accounts=[],
        news={"available": False, "message": NO_NEWS_IN_REPLAY, "symbols": [], "items": []},
        replay={"day": date.isoformat(), "off": OFF_IN_REPLAY},
    )
    return await sync_to_async(render)(request, "streaming/dashboard.html", context)


async def _not_replayable(request: HttpRequest, user_id: int, error: str) -> HttpResponse:
    days = await sync_to_async(_days)(user_id)
    context = {"days": days, "recording": _root() is not None, "error": error}
    return await sync_to_async(render)(request, "streaming/replay.html", context, status=404)
