"""A user's market overview: the symbols of `/market` and of the dashboard's strip."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MarketOverview(models.Model):
    """The symbols of a user's market overview (`/market` and the dashboard's strip).

    No row means the default list (`streaming.overview.service.DEFAULT_OVERVIEW`). The symbols
    stream like a tab's own (the `subscribe` message), inside the user's symbol cap.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="market_overview"
    )
    symbols = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"market overview of user {self.user_id}"
