"""Web Push's two ends: the server's VAPID key and a user's devices that take pushes
(docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PushKey(models.Model):
    """The server's VAPID key pair (one row): the private key encrypted at rest
    (accounts/crypto.py), made on first use unless `PUSH_VAPID_PRIVATE_KEY` names one.
    Devices subscribe to its public key, so it is kept: a new key makes every device
    subscribe again."""

    private_key = models.TextField(help_text="The P-256 private key (PEM), encrypted.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push key {self.id}"


class PushSubscription(models.Model):
    """One browser or device of a user that takes Web Push: its push service endpoint and
    its keys (the browser's `PushSubscription.toJSON()`), checked (streaming/push/input.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=128)
    auth = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"push subscription {self.id} of user {self.user_id}"
