"""Who may place an order through which link, and within which limits.

The contract's rules 4 to 6 ("Trading: who may trade"): the link enabled for trading by
staff, the user's trading switch on (a second factor within its window, no kill switch
since), and the order limits — a link's (set by staff) before the user's before the
server's defaults. Sync (ORM); callers in async code wrap them in
`database_sync_to_async`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone

from accounts.models import BrokerLink
from streaming.models import TradingProfile


@dataclass(frozen=True)
class Refusal:
    """A request refused in words: the contract's status, code and sentence."""

    status: int
    code: str
    message: str

    def response(self) -> JsonResponse:
        return JsonResponse({"error": self.message, "code": self.code}, status=self.status)


@dataclass(frozen=True)
class OrderLimits:
    max_order_notional: Decimal
    max_orders_per_minute: int


def link_title(link: BrokerLink) -> str:
    """How a link is named in sentences: `tastytrade · Main`."""
    return f"{link.get_broker_display()} · {link.label}"


def trading_link(user_id: int, link_id: int) -> BrokerLink | None:
    """The user's enabled link `link_id`, or None (another user's, disabled, unknown)."""
    return BrokerLink.objects.filter(pk=link_id, user_id=user_id, enabled=True).first()


def trading_on(profile: TradingProfile | None) -> bool:
    """The user's own switch: turned on with a second factor, still in its window."""
    return bool(
        profile is not None
        and profile.granted_until is not None
        and profile.granted_until > timezone.now()
    )


def may_place(user_id: int, link_id: int) -> Refusal | None:
    """None when the user may place (or replace) an order through the link now; else
    why not (rules 4 and 5). Not for cancels: taking risk off is never locked."""
    link = trading_link(user_id, link_id)
    if link is None:
        return Refusal(404, "not_found", "No such broker link is linked to you.")
    if not link.trading_enabled:
        return Refusal(
            403,
            "trading_disabled",
            f"Trading is not enabled for {link_title(link)}; staff can enable it in the admin.",
        )
    if not trading_on(TradingProfile.objects.filter(user_id=user_id).first()):
        return Refusal(
            403,
            "second_factor",
            "Trading is off for you: turn it on with your second factor on the Trading page.",
        )
    return None


def order_limits(user_id: int, link_id: int) -> OrderLimits:
    """The limits an order through the link must keep: the link's, else the user's,
    else the server's (`TRADING_MAX_ORDER_NOTIONAL`, `TRADING_MAX_ORDERS_PER_MINUTE`)."""
    link = BrokerLink.objects.filter(pk=link_id, user_id=user_id).first()
    profile = TradingProfile.objects.filter(user_id=user_id).first()
    notional = next(
        (
            v
            for v in (
                link and link.max_order_notional,
                profile and profile.max_order_notional,
            )
            if v
        ),
        Decimal(str(settings.TRADING_MAX_ORDER_NOTIONAL)),
    )
    per_minute = next(
        (
            v
            for v in (
                link and link.max_orders_per_minute,
                profile and profile.max_orders_per_minute,
            )
            if v
        ),
        int(settings.TRADING_MAX_ORDERS_PER_MINUTE),
    )
    return OrderLimits(Decimal(notional), int(per_minute))
