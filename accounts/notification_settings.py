"""A user's notification settings: read with defaults, changed from a validated partial
update. The service behind `GET/PUT /api/notifications/settings` and the dashboard's
embedded copy (docs/streaming-contract.md "Notifications")."""

from __future__ import annotations

from typing import Any

from accounts.models import NotificationSettings

#: Every setting and its default (a user without a row has these).
DEFAULTS: dict[str, bool] = {
    "fills": True,
    "rejections": True,
    "alerts": True,
    "desktop": True,
    "sound": False,
    "push": True,
    "email": False,
    "pnl_all_day": False,
}
#: A settings body is a handful of booleans: anything larger is refused before parsing.
MAX_SETTINGS_BODY_BYTES = 4096


class NotificationSettingsError(ValueError):
    """A refused update (400); the message says what is wrong, in a sentence."""


def notification_settings_get(*, user_id: int) -> dict[str, bool]:
    """The user's settings (the defaults when none are stored)."""
    row = NotificationSettings.objects.filter(user_id=user_id).values(*DEFAULTS).first()
    return {**DEFAULTS, **(row or {})}


def notification_settings_update(*, user_id: int, changes: Any) -> dict[str, bool]:
    """Apply `changes` (some of DEFAULTS' keys, each a boolean) and return every setting.
    Anything else raises NotificationSettingsError and stores nothing."""
    if not isinstance(changes, dict):
        raise NotificationSettingsError(
            'the body must be a JSON object such as {"fills": false, "sound": true}'
        )
    unknown = sorted(k for k in changes if k not in DEFAULTS)
    if unknown:
        raise NotificationSettingsError(
            f"unknown setting {unknown[0]!r}: the settings are {', '.join(DEFAULTS)}"
        )
    for key, value in changes.items():
        if not isinstance(value, bool):
            shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
            raise NotificationSettingsError(f"{key!r} must be true or false, not {shown}")
    if changes:
        NotificationSettings.objects.update_or_create(user_id=user_id, defaults=changes)
    return notification_settings_get(user_id=user_id)
