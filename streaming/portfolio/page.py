"""What every live page is rendered from: the user's last known values and the way to
their stream. Shared by every feature's pages (alerts, candles, chains, news, orders,
overview, risk) and by streaming/pages/, so none imports another feature for it."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.display_preferences import display_preferences_get
from accounts.notification_settings import notification_settings_get
from streaming.contract.frames import SnapshotFrame
from streaming.models import Watchlist
from streaming.portfolio.owner import stream_snapshot

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents

#: How long a page waits for the broker's first snapshot before rendering what it has.
PAGE_SNAPSHOT_WAIT = 3.0


async def snapshot_for(
    agents: Agents, user_id: int, extra: list[str] | None = None, hold: float | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The user's current state, starting their manager if needed (a short hold keeps
    it alive until the page's socket connects, or `hold` s: until a polling page's next
    poll); `extra`: symbols the page shows beyond the watchlist (their last quotes, if
    the stream has them)."""
    watchlist: list[str] = await database_sync_to_async(Watchlist.symbols_for)(user_id)
    wanted = [*watchlist, *(s for s in extra or () if s not in watchlist)]
    snapshot = await stream_snapshot(agents, user_id, wanted, within=PAGE_SNAPSHOT_WAIT, hold=hold)
    return snapshot or cast("dict[str, Any]", empty_snapshot(watchlist)), watchlist


def empty_snapshot(watchlist: list[str]) -> SnapshotFrame:
    """What a page shows when the stream has not answered yet (the socket fills it in)."""
    return {
        "type": "snapshot",
        "epoch": None,
        "seq": 0,
        "simulated": settings.BROKER_ENV == "sandbox",
        "accounts": [],
        "quotes": {},
        "greeks": {},
        "orders": [],
        "links": [],
        "watchlist": {"symbols": watchlist, "version": 0},
        "subscriptions": watchlist,
        "alerts": [],
        "alert_triggers": [],
        "limit_breaches": [],
        "metrics": {},
        "t": int(time.time() * 1000),
    }


async def stream_context(
    user_id: int, snapshot: Mapping[str, object], watchlist: list[str]
) -> dict[str, Any]:
    """What every live page's template needs to show the last known values, reach the
    stream (templates/streaming/_live_attrs.html) and raise the user's notifications
    (templates/streaming/_notifications.html: the settings are embedded, no request at
    load), with the trader's display preferences applied from the first paint."""
    settings_ = await database_sync_to_async(notification_settings_get)(user_id=user_id)
    preferences = await database_sync_to_async(display_preferences_get)(user_id=user_id)
    return {
        "notification_settings": settings_,
        "display_preferences_json": json.dumps(preferences),
        # the one zone the page's times are in (templates/base.html, accounts/times.py)
        "time_zone": preferences["time_zone"],
        "snapshot": snapshot,
        "watchlist": watchlist,
        "simulated": snapshot["simulated"],
        "ws_path": "/ws/stream/",
        "snapshot_url": "/api/snapshot",
        "events_url": "/api/events",
    }
