"""The outbox: an event's deliveries, one per device and one for e-mail, written with the
event and claimed by one sender at a time (docs/streaming-contract.md "Push and e-mail").

Writing: `enqueue` inside the transaction that records the event (an alert's trigger is
its compare-and-set), so an event that happened has its rows, and a unique constraint on
(event, channel, device) makes a repeat write nothing. Sending: `claim_due` takes due rows
by compare-and-set on `claimed_until` (a sender that died leaves them to the next claim);
each row ends `sent`, `gone` (the device was dropped), `failed`, or is due again later."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.notification_settings import notification_settings_get
from streaming.models import PushDelivery, PushSubscription

#: The notification setting each kind follows (limits follow `alerts`, as in the page).
SETTING_OF = {"alert": "alerts", "limit": "alerts", "fill": "fills", "rejected": "rejections"}
#: At most this much plaintext: what every push service takes (RFC 8291 §4).
MAX_MESSAGE_BYTES = 3993


@dataclass(frozen=True)
class Due:
    """A claimed delivery, as the sender needs it."""

    id: int
    channel: str
    #: the push message's JSON as `message` made it
    message: dict[str, str]
    attempts: int
    endpoint: str
    p256dh: str
    auth: str
    email: str
    subscription_id: int | None


def message(event: str, kind: str, title: str, body: str, url: str) -> dict[str, str]:
    """The push message's JSON (the contract's), cut to fit a push."""
    return {"id": event, "kind": kind, "title": title[:120], "body": body[:600], "url": url}


def enqueue(user_id: int, said: dict[str, str], *, subscription: int | None = None) -> int:
    """Write the event's deliveries (every device of the user, and e-mail when on), as the
    user's settings want them; the rows written (0: a repeat, or nothing wanted). Call it
    inside the event's own transaction."""
    kind = said["kind"]
    wanted = notification_settings_get(user_id=user_id)
    if kind != "test" and not wanted.get(SETTING_OF.get(kind, ""), True):
        return 0
    now = timezone.now()
    expires = now + dt.timedelta(seconds=settings.PUSH_TTL)
    devices = PushSubscription.objects.filter(user_id=user_id)
    if subscription is not None:
        devices = devices.filter(id=subscription)
    rows = []
    if wanted["push"] or kind == "test":
        rows += [
            PushDelivery(
                user_id=user_id, event=said["id"], kind=kind, channel="push", subscription=d,
                message=said, created_at=now, due_at=now, expires_at=expires,
            )
            for d in devices
        ]  # fmt: skip
    if wanted["email"] and kind != "test":
        rows.append(
            PushDelivery(
                user_id=user_id, event=said["id"], kind=kind, channel="email", message=said,
                created_at=now, due_at=now, expires_at=now + dt.timedelta(days=1),
            )
        )  # fmt: skip
    written = 0
    for row in rows:
        try:
            with transaction.atomic():  # a savepoint: a repeat leaves the event's own work
                row.save()
            written += 1
        except IntegrityError:
            continue  # this event's row for that channel and device exists: exactly once
    return written


def claim_due(limit: int = 20) -> list[Due]:
    """Claim up to `limit` due rows for `PUSH_CLAIM` seconds (compare-and-set: a row
    another sender holds is skipped); rows past their TTL end `failed`."""
    now = timezone.now()
    PushDelivery.objects.filter(state="pending", expires_at__lt=now).update(
        state="failed", last_error="not delivered within its time to live"
    )
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    candidates = list(
        PushDelivery.objects.filter(free, state="pending", due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    until = now + dt.timedelta(seconds=settings.PUSH_CLAIM)
    claimed = []
    for row_id in candidates:
        if PushDelivery.objects.filter(free, id=row_id, state="pending").update(
            claimed_until=until
        ):
            claimed.append(row_id)
    out = []
    rows = PushDelivery.objects.filter(id__in=claimed).select_related("subscription", "user")
    for row in rows:
        device = row.subscription
        email = row.user.email if row.channel == "email" else ""
        out.append(
            Due(
                id=row.id, channel=row.channel, message=row.message, attempts=row.attempts,
                endpoint=device.endpoint if device else "",
                p256dh=device.p256dh if device else "", auth=device.auth if device else "",
                email=email, subscription_id=row.subscription_id,
            )
        )  # fmt: skip
    return out


def seconds_to_next(at_most: float) -> float:
    """Seconds until the next pending row is due (or its claim runs out), at most
    `at_most` (also when none is pending)."""
    row = PushDelivery.objects.filter(state="pending").order_by("due_at").first()
    if row is None:
        return at_most
    due = max(row.due_at, row.claimed_until or row.due_at)
    return min(at_most, max(0.05, (due - timezone.now()).total_seconds()))


def mark_sent(row_id: int, subscription_id: int | None) -> None:
    now = timezone.now()
    PushDelivery.objects.filter(id=row_id).update(
        state="sent", sent_at=now, attempts=F("attempts") + 1, claimed_until=None
    )
    if subscription_id is not None:
        PushSubscription.objects.filter(id=subscription_id).update(last_sent_at=now, last_error="")


def mark_retry(row_id: int, delay: float, error: str) -> None:
    """Due again after `delay` seconds (429, 5xx, no answer)."""
    PushDelivery.objects.filter(id=row_id).update(
        due_at=timezone.now() + dt.timedelta(seconds=delay),
        attempts=F("attempts") + 1,
        claimed_until=None,
        last_error=error[:200],
    )


def mark_gone(row_id: int, subscription_id: int | None, error: str) -> None:
    """404 or 410: the browser dropped the subscription; the device is deleted, and its
    deliveries with it (nothing can reach it any more)."""
    PushDelivery.objects.filter(id=row_id).update(state="gone", last_error=error[:200])
    if subscription_id is not None:
        PushSubscription.objects.filter(id=subscription_id).delete()


def mark_failed(row_id: int, subscription_id: int | None, error: str) -> None:
    PushDelivery.objects.filter(id=row_id).update(
        state="failed", attempts=F("attempts") + 1, claimed_until=None, last_error=error[:200]
    )
    if subscription_id is not None:
        PushSubscription.objects.filter(id=subscription_id).update(last_error=error[:200])
