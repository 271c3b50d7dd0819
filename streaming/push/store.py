"""A user's push devices: subscribe, list, remove, and a test push (the services behind
`/api/push/…`, docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

import uuid
from typing import Any, TypedDict
from urllib.parse import urlsplit

from django.db import transaction

from streaming.models import PushSubscription
from streaming.push import outbox
from streaming.push.input import MAX_DEVICES, PushInputError, Subscription


class Device(TypedDict):
    """A push device as `GET /api/push/devices` shows it (times in ms): never its
    endpoint's path or its keys, only the push service's host."""

    id: int
    host: str
    created_at: int
    last_sent_at: int | None
    last_error: str | None


def device_json(row: PushSubscription) -> Device:
    """A device as the contract shows it: never its endpoint's path or its keys."""
    return {
        "id": row.id,
        "host": urlsplit(row.endpoint).hostname or "",
        "created_at": int(row.created_at.timestamp() * 1000),
        "last_sent_at": int(row.last_sent_at.timestamp() * 1000) if row.last_sent_at else None,
        "last_error": row.last_error or None,
    }


def device_list(user_id: int) -> list[Device]:
    rows = PushSubscription.objects.filter(user_id=user_id).order_by("-created_at", "-id")
    return [device_json(r) for r in rows]


def device_subscribe(user_id: int, sub: Subscription) -> tuple[Device, bool]:
    """Store the device (created: True), or replace the keys of the endpoint known (it is
    this user's now: a browser signed in as another user)."""
    with transaction.atomic():
        known = PushSubscription.objects.select_for_update().filter(endpoint=sub.endpoint).first()
        if known is not None:
            known.user_id, known.p256dh, known.auth = user_id, sub.p256dh, sub.auth
            known.last_error = ""
            known.save()
            return device_json(known), False
        if PushSubscription.objects.filter(user_id=user_id).count() >= MAX_DEVICES:
            raise PushInputError(
                "too_many_devices",
                f"At most {MAX_DEVICES} devices get pushes: remove one on the settings page.",
            )
        row = PushSubscription.objects.create(
            user_id=user_id, endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth
        )
    return device_json(row), True


def device_remove(user_id: int, endpoint: Any) -> bool:
    if not isinstance(endpoint, str):
        return False
    deleted, _ = PushSubscription.objects.filter(user_id=user_id, endpoint=endpoint).delete()
    return bool(deleted)


def device_remove_by_id(user_id: int, device_id: Any) -> bool:
    if not isinstance(device_id, int) or isinstance(device_id, bool):
        return False
    deleted, _ = PushSubscription.objects.filter(user_id=user_id, id=device_id).delete()
    return bool(deleted)


def test_push(user_id: int, device_id: Any) -> str | None:
    """A `test` push to one of the user's devices, through the outbox; its event id (None:
    no such device of this user)."""
    if not isinstance(device_id, int) or isinstance(device_id, bool):
        return None
    if not PushSubscription.objects.filter(user_id=user_id, id=device_id).exists():
        return None
    event = f"test:{uuid.uuid4().hex[:12]}"
    said = outbox.message(
        event, "test", "streamdesk", "Pushes reach this device.", "/settings/notifications"
    )
    with transaction.atomic():
        outbox.enqueue(user_id, said, subscription=device_id)
    return event
