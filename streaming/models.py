"""Per-user stream preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_WATCHLIST = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA"]


class Watchlist(models.Model):
    """The symbols a user watches (quotes streamed even without a position)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist"
    )
    symbols = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"watchlist of user {self.user_id}"

    @classmethod
    def symbols_for(cls, user_id: int) -> list[str]:
        row = cls.objects.filter(user_id=user_id).only("symbols").first()
        return list(row.symbols) if row is not None else list(DEFAULT_WATCHLIST)
