"""Who may place through which link (`may_place`), within which limits (`order_limits`:
the link's before the user's before the server's), and the user's switch over time (the
grant's window, turning it off, a kill switch)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import BrokerLink
from streaming.models import TradingProfile
from streaming.trading.access import may_place, order_limits
from streaming.trading.grant import trading_disable, trading_grant, trading_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("lena", password="pw-lena-1")


@pytest.fixture
def link(user):
    return BrokerLink.objects.create(
        user=user, broker="tradier", label="IRA", account_numbers=["VA000001"]
    )


def test_a_link_not_enabled_by_staff_is_refused_even_with_trading_on(user, link):
    trading_grant(user.id, method="password")
    refusal = may_place(user.id, link.id)
    assert refusal is not None
    assert (refusal.status, refusal.code) == (403, "trading_disabled")
    assert refusal.message == (
        "Trading is not enabled for Tradier · IRA; staff can enable it in the admin."
    )


def test_an_enabled_link_needs_the_users_switch_on(user, link):
    link.trading_enabled = True
    link.save()
    refusal = may_place(user.id, link.id)
    assert refusal is not None and refusal.code == "second_factor"
    trading_grant(user.id, method="password")
    assert may_place(user.id, link.id) is None


def test_another_users_link_is_not_found(user, link):
    other = get_user_model().objects.create_user("mo", password="pw-mo-1")
    trading_grant(other.id, method="password")
    refusal = may_place(other.id, link.id)
    assert refusal is not None and (refusal.status, refusal.code) == (404, "not_found")


def test_the_grant_expires_when_its_window_ends(user, link, settings):
    link.trading_enabled = True
    link.save()
    settings.TRADING_GRANT_TTL = 600
    profile = trading_grant(user.id, method="totp")
    assert may_place(user.id, link.id) is None
    assert trading_state(user.id)["on"] is True
    # the clock moves past the window: the grant's end is one second ago
    TradingProfile.objects.filter(pk=profile.pk).update(
        granted_until=timezone.now() - timedelta(seconds=1)
    )
    refusal = may_place(user.id, link.id)
    assert refusal is not None and refusal.code == "second_factor"
    state = trading_state(user.id)
    assert (state["on"], state["until"]) == (False, None)


def test_turning_off_ends_the_grant_at_once(user, link):
    link.trading_enabled = True
    link.save()
    trading_grant(user.id, method="password")
    trading_disable(user.id)
    refusal = may_place(user.id, link.id)
    assert refusal is not None and refusal.code == "second_factor"
    assert trading_state(user.id)["killed_at"] is None


def test_a_kill_turns_trading_off_and_records_when(user, link):
    link.trading_enabled = True
    link.save()
    trading_grant(user.id, method="password")
    before = timezone.now()
    trading_disable(user.id, killed=True)
    refusal = may_place(user.id, link.id)
    assert refusal is not None and refusal.code == "second_factor"
    state = trading_state(user.id)
    assert state["on"] is False
    assert state["killed_at"] >= int(before.timestamp() * 1000)
    # on again only with a new second factor
    trading_grant(user.id, method="password")
    assert may_place(user.id, link.id) is None


def test_order_limits_link_before_user_before_default(user, link, settings):
    settings.TRADING_MAX_ORDER_NOTIONAL = 100000
    settings.TRADING_MAX_ORDERS_PER_MINUTE = 10
    limits = order_limits(user.id, link.id)
    assert (limits.max_order_notional, limits.max_orders_per_minute) == (Decimal(100000), 10)
    TradingProfile.objects.create(
        user=user, max_order_notional=Decimal("25000"), max_orders_per_minute=4
    )
    limits = order_limits(user.id, link.id)
    assert (limits.max_order_notional, limits.max_orders_per_minute) == (Decimal(25000), 4)
    link.max_order_notional = Decimal("5000")
    link.save()
    limits = order_limits(user.id, link.id)
    # each limit on its own: the link's notional, the user's rate
    assert (limits.max_order_notional, limits.max_orders_per_minute) == (Decimal(5000), 4)
    link.max_orders_per_minute = 2
    link.save()
    assert order_limits(user.id, link.id).max_orders_per_minute == 2


def test_the_trading_state_names_each_links_own_limits(user, link, settings):
    settings.TRADING_MAX_ORDER_NOTIONAL = 100000
    settings.TRADING_MAX_ORDERS_PER_MINUTE = 10
    link.max_order_notional = Decimal("2500")
    link.save(update_fields=["max_order_notional"])
    state = trading_state(user.id)
    assert state["limits"] == {"max_order_notional": 100000.0, "max_orders_per_minute": 10}
    (row,) = state["links"]
    assert row["limits"] == {"max_order_notional": 2500.0, "max_orders_per_minute": 10}
