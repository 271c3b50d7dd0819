"""P&L over the day: the grid samples of an account's (or the user's total) net liq and
day P&L (docs/streaming-contract.md "P&L over the day")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PnlSample(models.Model):
    """One grid sample of an account's (or, `account` "", the user's total) net liq and day
    P&L, written by the owner of the user's stream (streaming/risk/pnl/sampler.py). The
    unique (user, account, at) is what keeps a restart or a failover from doubling a
    sample: the first write of a grid bucket wins. A missing input is stored null, never 0."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pnl_samples"
    )
    #: The account number; "" for the user's total.
    account = models.CharField(max_length=64, blank=True)
    #: The grid time: the start of the sample's PNL_SAMPLE_INTERVAL bucket (aware UTC).
    at = models.DateTimeField()
    net_liq = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    day_pnl = models.DecimalField(max_digits=20, decimal_places=4, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account", "at"], name="one_pnl_sample_per_grid_time"
            )
        ]
        indexes = [models.Index(fields=["user", "at"], name="pnl_sample_user_at")]

    def __str__(self) -> str:
        return f"pnl {self.user_id} {self.account or 'total'} @ {self.at:%Y-%m-%d %H:%M:%S}"
