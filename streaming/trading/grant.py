"""A user's trading switch: on with a second factor for `TRADING_GRANT_TTL` seconds, off
by their own hand or a kill switch. The `trading` object of the contract is read here.

The second factor itself (a TOTP device, else the password) is checked by the caller
(the settings views) before `trading_grant`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.selectors import broker_link_list
from streaming.models import TradingProfile
from streaming.trading.access import OrderLimits, order_limits, trading_on
from streaming.trading.shapes import LimitsJson, TradingLink, TradingState


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _limits_json(limits: OrderLimits) -> LimitsJson:
    return {
        "max_order_notional": float(limits.max_order_notional),
        "max_orders_per_minute": limits.max_orders_per_minute,
    }


def trading_profile(user_id: int) -> TradingProfile:
    profile, _ = TradingProfile.objects.get_or_create(user_id=user_id)
    return profile


def trading_grant(user_id: int, *, method: str) -> TradingProfile:
    """Turn trading on for `TRADING_GRANT_TTL` seconds after a passed second factor
    (`method` "totp" or "password")."""
    profile = trading_profile(user_id)
    profile.granted_until = timezone.now() + timedelta(seconds=settings.TRADING_GRANT_TTL)
    profile.granted_with = method
    profile.save(update_fields=["granted_until", "granted_with", "updated_at"])
    return profile


def trading_disable(user_id: int, *, killed: bool = False) -> TradingProfile:
    """Turn trading off now (a kill switch also records when)."""
    profile = trading_profile(user_id)
    profile.granted_until = None
    if killed:
        profile.killed_at = timezone.now()
    profile.save(update_fields=["granted_until", "killed_at", "updated_at"])
    return profile


def trading_state(user_id: int, *, second_factor: str = "password") -> TradingState:
    """The contract's `trading` object for the user. `second_factor` is what turning
    trading on asks for ("totp" when the user has a confirmed device)."""
    profile = TradingProfile.objects.filter(user_id=user_id).first()
    on = trading_on(profile)
    links: list[TradingLink] = []
    for link in broker_link_list(user_id=user_id):
        links.append(
            {
                "link": link.id,
                "broker": link.broker,
                "label": link.label,
                "accounts": list(link.account_numbers or []),
                "enabled": link.trading_enabled,
                "limits": _limits_json(order_limits(user_id, link.id)),
            }
        )
    return {
        "on": on,
        "until": _ms(profile.granted_until) if on and profile else None,
        "second_factor": second_factor,
        "links": links,
        # the user's own (no link: the link's limits are in its row)
        "limits": _limits_json(order_limits(user_id, 0)),
        "killed_at": _ms(profile.killed_at) if profile else None,
    }
