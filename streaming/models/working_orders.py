"""Whether a user has a working order, as the owner of their stream last saw it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WorkingOrders(models.Model):
    """Whether a user has a working order, as the owner of their stream last saw it
    (streaming/push/working.py): the one reason to watch a stream with no page open that
    the database cannot tell by itself (docs/streaming-contract.md "Push and e-mail")."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="working_orders",
    )
    working = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "working orders"

    def __str__(self) -> str:
        return f"working orders of user {self.user_id}: {self.working}"
