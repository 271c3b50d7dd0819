"""Price alerts in the database: the user's alerts (create, edit, delete, list) and the
stream's writes: trigger (a compare-and-set), re-arm, expire, delivered.

Synchronous Django ORM code: views call it through `database_sync_to_async`, the stream
through `AlertStore` (its background worker, never per tick). A trigger is
`UPDATE alert SET armed=false, crossings=crossings+1 WHERE id=… AND armed AND active`
and the `AlertTrigger` insert in one transaction: whichever process evaluates a crossing,
and however often, it fires once (docs/streaming-contract.md "Price alerts").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q

from streaming.alerts import rules as alerts
from streaming.alerts.input import (
    MAX_ACTIVE_ALERTS,
    MAX_KEPT_ALERTS,
    AlertInputError,
    AlertValues,
)
from streaming.contract.frames import AlertPayload, AlertState
from streaming.models import Alert, AlertTrigger
from streaming.push import outbox as push_outbox
from streaming.push.sender import PushSender

#: Triggers in a snapshot and the page's history (newest first).
RECENT_TRIGGERS = 50


def ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def alert_dict(alert: Alert) -> AlertState:
    """An alert as the API and the snapshot have it."""
    return {
        "id": alert.id,
        "symbol": alert.symbol,
        "display": alerts.display_of(alert.symbol),
        "condition": alert.condition,
        "level": float(alert.level),
        "rearm": alert.rearm,
        "expires_at": ms(alert.expires_at),
        # an alert past its expiry is inactive even before the stream marks it so
        "active": alert.active and (alert.expires_at is None or alert.expires_at > _now()),
        "armed": alert.armed,
        "crossings": alert.crossings,
        "created_at": ms(alert.created_at),
        "updated_at": ms(alert.updated_at),
    }


def trigger_payload(trigger: AlertTrigger) -> AlertPayload:
    """The `alert` frame's payload."""
    return {
        "id": trigger.id,
        "alert_id": trigger.alert_id,
        "symbol": trigger.symbol,
        "display": alerts.display_of(trigger.symbol),
        "condition": trigger.condition,
        "level": float(trigger.level),
        "price": float(trigger.price),
        "at": int(trigger.triggered_at.timestamp() * 1000),
        "message": trigger.message,
        "rearm": trigger.rearm,
    }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _not_expired(now: dt.datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


# -- the user's alerts (views) ---------------------------------------------------------------
def alert_list(
    user_id: int, *, active_only: bool = False, limit: int = MAX_KEPT_ALERTS
) -> list[Alert]:
    rows = Alert.objects.filter(user_id=user_id)
    if active_only:
        rows = rows.filter(_not_expired(_now()), active=True)
    return list(rows.order_by("-created_at", "-id")[:limit])


def alert_get(user_id: int, alert_id: int) -> AlertState | None:
    alert = Alert.objects.filter(id=alert_id, user_id=user_id).first()
    return None if alert is None else alert_dict(alert)


def alert_trigger_list(user_id: int, limit: int = RECENT_TRIGGERS) -> list[AlertPayload]:
    rows = AlertTrigger.objects.filter(user_id=user_id).order_by("-triggered_at", "-id")[:limit]
    return [trigger_payload(t) for t in rows]


def alert_create(user_id: int, values: AlertValues) -> Alert:
    """A new active, armed alert; AlertInputError `too_many_alerts` past the limit. The
    count is taken under a lock on the user's row: parallel creates cannot pass it."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(id=user_id).first()
        active = Alert.objects.filter(_not_expired(_now()), user_id=user_id, active=True).count()
        if active >= MAX_ACTIVE_ALERTS:
            raise AlertInputError(
                "too_many_alerts",
                f"you have {active} active alerts, the most allowed is {MAX_ACTIVE_ALERTS}: "
                "delete some (or let them trigger or expire) first",
                status=409,
            )
        alert = Alert.objects.create(user_id=user_id, **values)
        _prune(user_id)
    return alert


def _prune(user_id: int) -> None:
    """Keep at most MAX_KEPT_ALERTS alerts: the oldest inactive ones go first."""
    total = Alert.objects.filter(user_id=user_id).count()
    if total <= MAX_KEPT_ALERTS:
        return
    old = Alert.objects.filter(user_id=user_id, active=False).order_by("updated_at", "id")
    ids = list(old.values_list("id", flat=True)[: total - MAX_KEPT_ALERTS])
    Alert.objects.filter(id__in=ids).delete()


def alert_update(user_id: int, alert_id: int, values: AlertValues) -> Alert | None:
    """Change an alert (None if it is not the user's). An edit of what it watches arms it
    again; making it active again counts against the limit."""
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(id=user_id).first()
        alert = Alert.objects.select_for_update().filter(id=alert_id, user_id=user_id).first()
        if alert is None:
            return None
        if values.get("active") and not alert.active:
            active = Alert.objects.filter(_not_expired(_now()), user_id=user_id, active=True)
            if active.count() >= MAX_ACTIVE_ALERTS:
                raise AlertInputError(
                    "too_many_alerts",
                    f"you have {MAX_ACTIVE_ALERTS} active alerts, the most allowed",
                    status=409,
                )
        for name, value in values.items():
            setattr(alert, name, value)
        if values.keys() & {"symbol", "condition", "level", "rearm", "expires_at", "active"}:
            alert.armed = True
        alert.save()
    return alert


def alert_delete(user_id: int, alert_id: int) -> bool:
    deleted, _ = Alert.objects.filter(id=alert_id, user_id=user_id).delete()
    return bool(deleted)


# -- the stream's writes (AlertStore) ------------------------------------------------------
def alert_active_list(user_id: int) -> list[AlertState]:
    """The user's active, unexpired alerts (the book's rules, the snapshot's `alerts`)."""
    return [alert_dict(a) for a in alert_list(user_id, active_only=True)]


def alert_fire(
    alert_id: int, price: float, at_ms: int, pct: float | None = None
) -> AlertPayload | None:
    """Compare-and-set: the alert's trigger payload if this call moved it from armed to
    fired (and recorded the crossing), None if it was not armed (already fired elsewhere,
    edited, deleted, expired)."""
    now = _now()
    with transaction.atomic():
        armed = Alert.objects.filter(_not_expired(now), id=alert_id, armed=True, active=True)
        if not armed.update(armed=False, crossings=F("crossings") + 1, updated_at=now):
            return None
        alert = Alert.objects.get(id=alert_id)
        name = alerts.display_of(alert.symbol)
        if not alert.rearm:
            Alert.objects.filter(id=alert_id).update(active=False)
        trigger = AlertTrigger.objects.create(
            alert=alert,
            user_id=alert.user_id,
            symbol=alert.symbol,
            condition=alert.condition,
            level=alert.level,
            price=Decimal(str(round(price, 6))),
            triggered_at=dt.datetime.fromtimestamp(at_ms / 1000, dt.UTC),
            crossing=alert.crossings,
            rearm=alert.rearm,
            message=alerts.message(name, alert.condition, alert.level, price, pct)[:200],
        )
        # the pushes and e-mail of this crossing, written with it: exactly once
        said = push_outbox.message(
            f"alert:{trigger.id}", "alert", f"{name} alert", trigger.message, "/alerts"
        )
        push_outbox.enqueue(alert.user_id, said)
    return trigger_payload(trigger)


def alert_watched_users() -> set[int]:
    """The users with an alert that can still fire (armed, or re-arming), unexpired: their
    streams run with no page open."""
    armed = Alert.objects.filter(_not_expired(_now()), Q(armed=True) | Q(rearm=True), active=True)
    return set(armed.values_list("user_id", flat=True))


def alert_rearm(alert_id: int) -> bool:
    """Arm a re-arming alert again (the price went back across its level)."""
    rows = Alert.objects.filter(id=alert_id, active=True, rearm=True, armed=False)
    return bool(rows.update(armed=True, updated_at=_now()))


def alert_expire(alert_id: int) -> None:
    Alert.objects.filter(id=alert_id, active=True).update(active=False, updated_at=_now())


def alert_trigger_undelivered_list(user_id: int) -> list[AlertPayload]:
    """Triggers committed but not yet in the event log, oldest first."""
    rows = AlertTrigger.objects.filter(user_id=user_id, delivered=False).order_by("id")
    return [trigger_payload(t) for t in rows[:RECENT_TRIGGERS]]


def alert_trigger_mark_delivered(trigger_ids: Iterable[int]) -> None:
    AlertTrigger.objects.filter(id__in=list(trigger_ids)).update(delivered=True)


class AlertStore:
    """The stream's asynchronous face of this module (injected into the manager by
    wiring.py, so the manager itself never touches the database)."""

    def __init__(self, user_id: int, push: PushSender) -> None:
        self.user_id = user_id
        #: The process's push sender, woken when a firing wrote pushes to the outbox.
        self.push = push

    async def load(self) -> list[AlertState]:
        return await database_sync_to_async(alert_active_list)(self.user_id)

    async def recent(self) -> list[AlertPayload]:
        return await database_sync_to_async(alert_trigger_list)(self.user_id)

    async def fire(
        self, alert_id: int, price: float, at_ms: int, pct: float | None
    ) -> AlertPayload | None:
        fired = await database_sync_to_async(alert_fire)(alert_id, price, at_ms, pct)
        if fired is not None:
            self.push.kick()  # its pushes are in the outbox: send them now
        return fired

    async def rearm(self, alert_id: int) -> bool:
        return await database_sync_to_async(alert_rearm)(alert_id)

    async def expire(self, alert_id: int) -> None:
        await database_sync_to_async(alert_expire)(alert_id)

    async def undelivered(self) -> list[AlertPayload]:
        return await database_sync_to_async(alert_trigger_undelivered_list)(self.user_id)

    async def mark_delivered(self, trigger_ids: list[int]) -> None:
        await database_sync_to_async(alert_trigger_mark_delivered)(trigger_ids)
