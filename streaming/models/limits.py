"""Portfolio limits: a user's settings, whether each limit is armed, and each crossing
(docs/streaming-contract.md "Portfolio limits")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PortfolioLimits(models.Model):
    """The trader's portfolio limits (docs/streaming-contract.md "Portfolio limits"): a
    β-weighted delta band in SPY shares and a daily loss limit in dollars; null: off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolio_limits"
    )
    beta_delta_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    beta_delta_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    daily_loss = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"limits of user {self.user_id}"


class LimitState(models.Model):
    """Whether one of a user's limits is armed, changed only by compare-and-set
    (streaming/risk/limits/store.py): a crossing is `armed -> false` with `crossings + 1`
    (for the daily loss: `day` set to the trading day), so it fires once in the cluster."""

    BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS = (
        "beta_delta_above",
        "beta_delta_below",
        "daily_loss",
    )
    KINDS = [(k, k) for k in (BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS)]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="limit_states"
    )
    kind = models.CharField(max_length=24, choices=KINDS)
    armed = models.BooleanField(default=True)
    crossings = models.PositiveIntegerField(default=0)
    #: The trading day (New York) of the last daily loss crossing: armed again the next.
    day = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="limit_state_user_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of user {self.user_id}: armed={self.armed}"


class LimitBreach(models.Model):
    """One crossing of a limit (the `limit` frame's payload). `delivered`: the frame is in
    the event log (a new owner sends the undelivered ones when it starts)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="limit_breaches"
    )
    kind = models.CharField(max_length=24)
    #: The limit's crossing number (1, 2, …): unique per (user, kind).
    crossing = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=18, decimal_places=4)
    limit = models.DecimalField(max_digits=14, decimal_places=2)
    breached_at = models.DateTimeField()
    message = models.CharField(max_length=200)
    delivered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "crossing"], name="limit_breach_crossing"
            )
        ]
        indexes = [models.Index(fields=["user", "delivered"], name="breach_user_delivered")]

    def __str__(self) -> str:
        return f"breach {self.id}: {self.kind} of user {self.user_id} (crossing {self.crossing})"
