"""Who may trade: a user's trading switch, its second factor's window, the kill switch's
mark and the user's own limits (docs/streaming-contract.md "Trading")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TradingProfile(models.Model):
    """A user's trading switch and limits: whether they turned trading on with a second
    factor (and until when), when a kill switch last turned it off, and their own limits
    (a link's limits, set by staff, come first)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_profile"
    )
    #: Trading is on until then (the second factor's window); null: off.
    granted_until = models.DateTimeField(null=True, blank=True)
    #: How it was turned on: "totp" or "password".
    granted_with = models.CharField(max_length=16, blank=True)
    killed_at = models.DateTimeField(null=True, blank=True)
    max_order_notional = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"trading of user {self.user_id}"
