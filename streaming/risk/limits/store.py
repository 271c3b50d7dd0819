"""Portfolio limits in the database: the user's settings, and the stream's writes: a
breach (a compare-and-set), a re-arm, delivered.

Synchronous Django ORM code: the views call it through `database_sync_to_async`, the
stream through `LimitStore` (from the runner's task, never per tick). A breach is
`UPDATE limit_state SET armed=false, crossings=crossings+1, day=… WHERE … AND armed` and
the `LimitBreach` insert in one transaction: whichever process evaluates a crossing, and
however often, it fires once (docs/streaming-contract.md "Portfolio limits").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import F, Q

from streaming.contract.risk import LimitPayload, LimitSettings
from streaming.models import LimitBreach, LimitState, PortfolioLimits
from streaming.push import outbox as push_outbox
from streaming.push.sender import PushSender
from streaming.risk.limits import rules
from streaming.risk.limits.input import FIELDS, LimitField, check_band

#: Undelivered breaches a new owner sends at most (oldest first).
MAX_UNDELIVERED = 50
#: Breaches a starting stream lists in its snapshot (newest first: the state's bound).
RECENT_BREACHES = 50


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def settings_dict(row: PortfolioLimits | None) -> LimitSettings:
    if row is None:
        return {
            "beta_delta_min": None,
            "beta_delta_max": None,
            "daily_loss": None,
            "updated_at": None,
        }
    return {
        "beta_delta_min": _float(row.beta_delta_min),
        "beta_delta_max": _float(row.beta_delta_max),
        "daily_loss": _float(row.daily_loss),
        "updated_at": int(row.updated_at.timestamp() * 1000),
    }


def breach_payload(breach: LimitBreach) -> LimitPayload:
    """The `limit` frame's payload."""
    return {
        "id": breach.id,
        "kind": breach.kind,
        "value": float(breach.value),
        "limit": float(breach.limit),
        "at": int(breach.breached_at.timestamp() * 1000),
        "message": breach.message,
    }


# -- the user's settings (views) ---------------------------------------------------------------
def limits_get(user_id: int) -> LimitSettings:
    return settings_dict(PortfolioLimits.objects.filter(user_id=user_id).first())


def limits_save(user_id: int, values: dict[str, float | None]) -> LimitSettings:
    """Merge `values` into the stored limits (LimitInputError if the band ends up out of
    order) and arm every limit whose bound changed."""
    with transaction.atomic():
        row, _ = PortfolioLimits.objects.select_for_update().get_or_create(user_id=user_id)
        before = settings_dict(row)
        merged = {name: values.get(name, before[name]) for name in FIELDS}
        check_band(merged["beta_delta_min"], merged["beta_delta_max"])
        for name in FIELDS:
            value = merged[name]
            setattr(row, name, None if value is None else Decimal(str(value)))
        row.save()
        changed = [name for name in FIELDS if merged[name] != before[name]]
        kinds = {
            "beta_delta_min": rules.BETA_DELTA_BELOW,
            "beta_delta_max": rules.BETA_DELTA_ABOVE,
            "daily_loss": rules.DAILY_LOSS,
        }
        LimitState.objects.filter(user_id=user_id, kind__in=[kinds[n] for n in changed]).update(
            armed=True, day=None
        )
        row.refresh_from_db()
    return settings_dict(row)


# -- the stream's reads and writes (LimitStore) ---------------------------------------------
def limits_load(user_id: int) -> tuple[rules.Limits, dict[str, rules.Armed]]:
    """The user's limits and each limit's armed state, for the book."""
    s = limits_get(user_id)
    limits = rules.Limits(s["beta_delta_min"], s["beta_delta_max"], s["daily_loss"])
    states = {
        row.kind: rules.Armed(armed=row.armed, day=row.day)
        for row in LimitState.objects.filter(user_id=user_id)
    }
    return limits, states


def limit_fire(
    user_id: int, kind: str, value: float, limit: float, at_ms: int, day: dt.date
) -> LimitPayload | None:
    """Compare-and-set: the breach's payload if this call moved the limit from armed to
    crossed (and recorded the crossing), None if it was not armed (crossed elsewhere
    already) or the limit is no longer the one evaluated (edited meanwhile)."""
    with transaction.atomic():
        stored = limits_get(user_id)
        field_of: dict[str, LimitField] = {
            rules.BETA_DELTA_ABOVE: "beta_delta_max",
            rules.BETA_DELTA_BELOW: "beta_delta_min",
            rules.DAILY_LOSS: "daily_loss",
        }
        field = field_of[kind]
        if stored[field] != limit:
            return None
        LimitState.objects.bulk_create(
            [LimitState(user_id=user_id, kind=kind)], ignore_conflicts=True
        )
        armed = Q(armed=True) if kind != rules.DAILY_LOSS else Q(day__isnull=True) | Q(day__lt=day)
        rows = LimitState.objects.filter(armed, user_id=user_id, kind=kind)
        if not rows.update(armed=False, crossings=F("crossings") + 1, day=day):
            return None
        crossing = LimitState.objects.get(user_id=user_id, kind=kind).crossings
        breach = LimitBreach.objects.create(
            user_id=user_id,
            kind=kind,
            crossing=crossing,
            value=Decimal(str(round(value, 4))),
            limit=Decimal(str(limit)),
            breached_at=dt.datetime.fromtimestamp(at_ms / 1000, dt.UTC),
            message=rules.message(kind, value, limit)[:200],
        )
        # the pushes and e-mail of this crossing, written with it: exactly once
        said = push_outbox.message(
            f"limit:{breach.id}", "limit", "Portfolio limit", breach.message, "/limits"
        )
        push_outbox.enqueue(user_id, said)
    return breach_payload(breach)


def limits_watched_users() -> set[int]:
    """The users with a limit set: their streams run with no page open."""
    set_ = Q(beta_delta_min__isnull=False) | Q(beta_delta_max__isnull=False)
    set_ |= Q(daily_loss__isnull=False)
    return set(PortfolioLimits.objects.filter(set_).values_list("user_id", flat=True))


def limit_rearm(user_id: int, kind: str) -> bool:
    """Arm a band's limit again (its value came back inside)."""
    rows = LimitState.objects.filter(user_id=user_id, kind=kind, armed=False)
    return bool(rows.update(armed=True))


def limit_breach_undelivered_list(user_id: int) -> list[LimitPayload]:
    """Breaches committed but not yet in the event log, oldest first."""
    rows = LimitBreach.objects.filter(user_id=user_id, delivered=False).order_by("id")
    return [breach_payload(b) for b in rows[:MAX_UNDELIVERED]]


def limit_breach_recent_list(user_id: int, limit: int = RECENT_BREACHES) -> list[LimitPayload]:
    """The newest breaches, newest first (delivered or not), for the snapshot."""
    rows = LimitBreach.objects.filter(user_id=user_id).order_by("-breached_at", "-id")[:limit]
    return [breach_payload(b) for b in rows]


def limit_breach_mark_delivered(breach_ids: Iterable[int]) -> None:
    LimitBreach.objects.filter(id__in=list(breach_ids)).update(delivered=True)


class LimitStore:
    """The stream's asynchronous face of this module (handed to the runner by wiring.py,
    so the stream itself never touches the database)."""

    def __init__(self, user_id: int, push: PushSender) -> None:
        self.user_id = user_id
        #: The process's push sender, woken when a firing wrote pushes to the outbox.
        self.push = push

    async def load(self) -> tuple[rules.Limits, dict[str, rules.Armed]]:
        return await database_sync_to_async(limits_load)(self.user_id)

    async def fire(self, change: rules.Change, at_ms: int) -> LimitPayload | None:
        assert change.value is not None and change.limit is not None and change.day is not None
        payload = await database_sync_to_async(limit_fire)(
            self.user_id, change.kind, change.value, change.limit, at_ms, change.day
        )
        if payload is None:
            return None
        self.push.kick()  # its pushes are in the outbox: send them now
        return payload.copy()

    async def rearm(self, kind: str) -> bool:
        return await database_sync_to_async(limit_rearm)(self.user_id, kind)

    async def undelivered(self) -> list[LimitPayload]:
        rows = await database_sync_to_async(limit_breach_undelivered_list)(self.user_id)
        return [p.copy() for p in rows]

    async def recent(self) -> list[LimitPayload]:
        rows = await database_sync_to_async(limit_breach_recent_list)(self.user_id)
        return [p.copy() for p in rows]

    async def mark_delivered(self, breach_ids: list[int]) -> None:
        await database_sync_to_async(limit_breach_mark_delivered)(breach_ids)
