"""A user's watchlist: the symbols they watch, and the list of one who never saved one."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_WATCHLIST = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA"]


class Watchlist(models.Model):
    """The symbols a user watches (quotes streamed even without a position).

    `version` grows by one with every change (0 is the default list of a user who never
    saved one), so a tab can tell a newer list from an older one.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist"
    )
    symbols = models.JSONField(default=list)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"watchlist of user {self.user_id} (v{self.version})"

    @classmethod
    def symbols_for(cls, user_id: int) -> list[str]:
        return cls.state_for(user_id)[0]

    @classmethod
    def state_for(cls, user_id: int) -> tuple[list[str], int]:
        """The user's list and its version; `(DEFAULT_WATCHLIST, 0)` if never saved."""
        row = cls.objects.filter(user_id=user_id).only("symbols", "version").first()
        if row is None:
            return list(DEFAULT_WATCHLIST), 0
        return list(row.symbols), row.version
