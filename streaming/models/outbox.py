"""The push and e-mail outbox: an event's deliveries, one per device and one for e-mail,
each claimed by one sender at a time (docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from streaming.models.push import PushSubscription


class PushDelivery(models.Model):
    """The outbox: one event for one channel (one device, or e-mail), written with the
    event (exactly once: unique on event, channel and device) and claimed by one sender at a
    time (`claimed_until`, compare-and-set) until it is sent, gone or failed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_deliveries"
    )
    #: The event's id (the browser's notification key: `alert:<trigger id>`, …).
    event = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)
    channel = models.CharField(max_length=8)  # "push" or "email"
    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: `{"id", "kind", "title", "body", "url"}`: what is sent.
    message = models.JSONField()
    state = models.CharField(max_length=8, default="pending")  # sent, gone, failed
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    #: Not before (a retry's backoff); after `expires_at` it is not sent (the push TTL).
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "subscription"], name="one_delivery_per_device"
            ),
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=models.Q(subscription__isnull=True),
                name="one_email_per_event",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel} delivery of {self.event}"
