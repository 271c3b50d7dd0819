"""The trading audit trail: every step of order entry as it happened, append-only."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyQuerySet(models.QuerySet):
    """An audit trail is never changed: bulk updates and deletes are refused here, and
    the database refuses them too (a trigger, migration 0009)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("the trading audit trail is append-only")

    def delete(self) -> NoReturn:
        raise TypeError("the trading audit trail is append-only")


class TradingAudit(models.Model):
    """One step of order entry, as it happened: who, when, from where, what the trader
    saw and what the broker said. Append-only; never a secret, header or token."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trading_audit"
    )
    #: Who acted: the user's username, or the staff member's for a staff action.
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=24)
    #: The broker link's id and name as they were: a plain value, not a foreign key, so
    #: deleting a link (which a foreign key would update) leaves its history readable.
    link_id = models.BigIntegerField(null=True, blank=True)
    link_label = models.CharField(max_length=200, blank=True)
    account = models.CharField(max_length=64, blank=True)
    ticket = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    #: A short hash of the login session (never its key).
    session = models.CharField(max_length=16, blank=True)
    shown = models.TextField(blank=True)
    said = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="trading_audit_user_id")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("the trading audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the trading audit trail is append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} (user {self.user_id})"
