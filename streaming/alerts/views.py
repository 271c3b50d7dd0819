"""Price alerts over HTTP: `/alerts` (the page) and `/api/alerts[/<id>]` (the JSON API).

Thin: the body is read safely (request_body.py), its symbol resolved through the user's
holdings (portfolio/holdings.py: `BTCUSD` held at Alpaca is the coin), checked
(alerts/input.py), stored (alerts/store.py), and every write tells the user's stream owner
(alerts/owner.py), so evaluation changes at once (docs/streaming-contract.md "Price
alerts"). Alerts are shown by their instrument's display name.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any, TypedDict

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from accounts import times
from accounts.signed_in import signed_in
from streaming.alerts import rules as alerts
from streaming.alerts import store as alert_store
from streaming.alerts.input import (
    MAX_ACTIVE_ALERTS,
    MAX_ALERT_BODY_BYTES,
    AlertInputError,
    clean_alert,
)
from streaming.alerts.owner import alerts_changed
from streaming.api import errors
from streaming.cluster.agents import Agents, agents_of
from streaming.contract.frames import AlertPayload, AlertState
from streaming.instruments.instrument import Instrument
from streaming.portfolio.holdings import user_instrument
from streaming.portfolio.page import snapshot_for, stream_context
from streaming.request_body import BodyError, json_body

LIMITS = {"max_active": MAX_ACTIVE_ALERTS, "max_body_bytes": MAX_ALERT_BODY_BYTES}


def _error(exc: AlertInputError) -> JsonResponse:
    return errors.sentence_error(exc.status, exc.message, code=exc.code)


def _not_found() -> JsonResponse:
    return errors.sentence_error(404, "no such alert", code="not_found")


def _body(request: HttpRequest) -> Any:
    try:
        return json_body(request, limit=MAX_ALERT_BODY_BYTES)
    except BodyError as exc:
        raise AlertInputError("bad_body", str(exc)) from None


async def _instrument(agents: Agents, user_id: int, body: Any) -> Instrument | None:
    """What the body's symbol names for the user (their holdings first); None without one."""
    if isinstance(body, dict) and "symbol" in body:
        return await user_instrument(agents, user_id, body["symbol"])
    return None


class AlertListing(TypedDict):
    """`GET /api/alerts`: the user's alerts, their recent triggers and the limits."""

    alerts: list[AlertState]
    triggers: list[AlertPayload]
    limits: dict[str, int]


def _listing(user_id: int) -> AlertListing:
    return {
        "alerts": [alert_store.alert_dict(a) for a in alert_store.alert_list(user_id)],
        "triggers": alert_store.alert_trigger_list(user_id),
        "limits": LIMITS,
    }


async def api_alerts(request: HttpRequest) -> JsonResponse:
    """`GET` the user's alerts and recent triggers; `POST` a new alert (201)."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method == "GET":
        return JsonResponse(await database_sync_to_async(_listing)(user.id))
    if request.method != "POST":
        return JsonResponse({"error": "use GET or POST"}, status=405)
    try:
        body = _body(request)
        instrument = await _instrument(agents_of(request), user.id, body)
        values = clean_alert(body, now=dt.datetime.now(dt.UTC), instrument=instrument)
        alert = await database_sync_to_async(alert_store.alert_create)(user.id, values)
    except AlertInputError as exc:
        return _error(exc)
    await alerts_changed(agents_of(request), user.id)
    return JsonResponse(alert_store.alert_dict(alert), status=201)


async def api_alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """`PATCH` (any of the fields; an edit arms it again) or `DELETE` one alert."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method == "DELETE":
        if not await database_sync_to_async(alert_store.alert_delete)(user.id, alert_id):
            return _not_found()
        await alerts_changed(agents_of(request), user.id)
        return HttpResponse(status=204)
    if request.method != "PATCH":
        return JsonResponse({"error": "use PATCH or DELETE"}, status=405)
    current = await database_sync_to_async(alert_store.alert_get)(user.id, alert_id)
    if current is None:
        return _not_found()
    try:
        body = _body(request)
        instrument = await _instrument(agents_of(request), user.id, body)
        now = dt.datetime.now(dt.UTC)
        values = clean_alert(body, now=now, partial=current, instrument=instrument)
        alert = await database_sync_to_async(alert_store.alert_update)(user.id, alert_id, values)
    except AlertInputError as exc:
        return _error(exc)
    if alert is None:
        return _not_found()
    await alerts_changed(agents_of(request), user.id)
    return JsonResponse(alert_store.alert_dict(alert))


def condition_text(alert: Mapping[str, Any]) -> str:
    """As the browser writes it (static/js/stream/alerts.js `conditionText`)."""
    level = alert["level"]
    if alert["condition"] in ("above", "below"):
        return f"{alert['condition']} {alerts.money(level)}"
    way = "up" if alert["condition"] == "move_up" else "down"
    return f"{way} {level:.2f}% from the previous close"


def _price_text(quote: Mapping[str, object] | None) -> str:
    price = alerts.price_of(quote or {})
    return "—" if price is None else alerts.money(price)


def _expiry_text(at_ms: int | None, zone: dt.tzinfo, now_ms: float) -> str:
    """As the page's script writes it (pages/alerts.js): the trader's zone, named."""
    return "never" if at_ms is None else times.when(at_ms, zone, now_ms)


@login_required
async def alerts_page(request: HttpRequest) -> HttpResponse:
    """The alerts page: the list server-rendered (with the last known prices), then live."""
    user = signed_in(await request.auser())
    request.user = user
    listing = await database_sync_to_async(_listing)(user.id)
    symbols = sorted({a["symbol"] for a in listing["alerts"] if a["active"]})
    snapshot, watchlist = await snapshot_for(agents_of(request), user.id, extra=symbols)
    page = await stream_context(user.id, snapshot, watchlist)
    zone, now_ms = times.zone_of(page["time_zone"]), time.time() * 1000
    active = [
        {
            **a,
            "condition_text": condition_text(a),
            "price_text": _price_text(snapshot["quotes"].get(a["symbol"])),
            "expires_text": _expiry_text(a["expires_at"], zone, now_ms),
        }
        for a in listing["alerts"]
        if a["active"]
    ]
    context = {
        **page,
        "active": active,
        "alerts": listing["alerts"],
        "triggers": listing["triggers"],
        "limits": LIMITS,
        "extra_symbols": symbols,
    }
    return await sync_to_async(render)(request, "streaming/alerts.html", context)
