"""Turn trading on for a test user: staff enables their links, and the user passed a
second factor just now (what /trading does after a good TOTP code or password)."""

from __future__ import annotations

from accounts.models import BrokerLink
from streaming.trading.grant import trading_grant


def enable_trading(user_id: int, link_ids: list[int] | None = None) -> None:
    """Enable trading on the user's links (all, or `link_ids`) and turn it on."""
    links = BrokerLink.objects.filter(user_id=user_id)
    if link_ids is not None:
        links = links.filter(pk__in=link_ids)
    links.update(trading_enabled=True)
    trading_grant(user_id, method="password")
