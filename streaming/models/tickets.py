"""Trade tickets: one previewed order each and what became of it (docs/streaming-contract.md
"Never twice")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class TradeTicket(models.Model):
    """One previewed order and what became of it (docs/streaming-contract.md "Never
    twice"): the order exactly as previewed, claimed once (`previewed → placing` in one
    UPDATE) under the confirm's idempotency key, and the broker's answer."""

    STATES = ("previewed", "placing", "placed", "rejected", "unknown", "expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trade_tickets"
    )
    link = models.ForeignKey(
        "accounts.BrokerLink", on_delete=models.CASCADE, related_name="trade_tickets"
    )
    account = models.CharField(max_length=64)
    #: The contract's order JSON as previewed: what a confirm places, nothing else.
    order = models.JSONField()
    words = models.TextField()
    #: The preview's effect, warnings, quote, reference price and notional.
    preview = models.JSONField(default=dict)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=12, default="previewed")
    #: The confirm's `Idempotency-Key` (null until confirmed; unique per user).
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    order_id = models.CharField(max_length=64, blank=True)
    #: What the broker answered (status and sentence; no header, token or secret).
    said = models.JSONField(default=dict, blank=True)
    replaces = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    placed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="trade_ticket_user_key"
            )
        ]
        indexes = [models.Index(fields=["user", "placed_at"], name="trade_ticket_user_placed")]

    @property
    def client_order_id(self) -> str:
        """The tag every broker carries for this ticket (`sd-` and 32 hex digits)."""
        return f"sd-{self.id.hex}"

    def __str__(self) -> str:
        return f"ticket {self.id} ({self.state})"
