"""Price alerts and their crossings (docs/streaming-contract.md "Price alerts")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Alert(models.Model):
    """A price alert (docs/streaming-contract.md "Price alerts"): evaluated by the user's
    stream owner on every quote of `symbol` (streaming/alerts/rules.py).

    `armed` and `crossings` are changed only by compare-and-set (streaming/alerts/store.py):
    a trigger is `armed -> false` with `crossings + 1`, so a crossing fires once in the
    cluster, whichever process evaluated it and however often.
    """

    ABOVE, BELOW, MOVE_UP, MOVE_DOWN = "above", "below", "move_up", "move_down"
    CONDITIONS = [
        (ABOVE, "above"),
        (BELOW, "below"),
        (MOVE_UP, "up % from the previous close"),
        (MOVE_DOWN, "down % from the previous close"),
    ]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    symbol = models.CharField(max_length=32)
    condition = models.CharField(max_length=16, choices=CONDITIONS)
    #: A price (above/below) or a percent (move_up/move_down).
    level = models.DecimalField(max_digits=14, decimal_places=4)
    #: False: the alert fires once, then is inactive. True: it re-arms (see alerts.py).
    rearm = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    armed = models.BooleanField(default=True)
    crossings = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "active"], name="alert_user_active")]

    def __str__(self) -> str:
        return f"alert {self.id}: {self.symbol} {self.condition} {self.level}"


class AlertTrigger(models.Model):
    """One crossing of an alert. The alert's words are copied here so that the history
    outlives an edit or a delete. `delivered`: the `alert` frame is in the event log (a
    new owner sends the undelivered ones when it starts)."""

    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, related_name="triggers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_triggers"
    )
    symbol = models.CharField(max_length=32)
    condition = models.CharField(max_length=16)
    level = models.DecimalField(max_digits=14, decimal_places=4)
    price = models.DecimalField(max_digits=18, decimal_places=6)
    #: The time of the quote that crossed (aware UTC).
    triggered_at = models.DateTimeField()
    #: The alert's crossing number (1, 2, …): unique per alert.
    crossing = models.PositiveIntegerField()
    rearm = models.BooleanField(default=False)
    message = models.CharField(max_length=200)
    delivered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "crossing"], name="one_trigger_per_crossing")
        ]
        indexes = [models.Index(fields=["user", "delivered"], name="trigger_user_delivered")]

    def __str__(self) -> str:
        return f"trigger {self.id} of alert {self.alert_id} (crossing {self.crossing})"
