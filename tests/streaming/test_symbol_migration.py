"""Symbols stored before instruments had one contract symbol are rewritten to it
(streaming/migrations/0013_instrument_symbols.py): a watchlist, an overview and an alert
on a future's REST symbol stream its quote afterwards (an inactive alert too: it may be
turned on again), and an alert on `BTCUSD` of a user with an Alpaca link, made from
Alpaca's crypto position, watches the coin."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("streaming", "0012_working_orders")]
AFTER = [("streaming", "0013_instrument_symbols")]


def _migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_stored_spellings_become_contract_symbols():
    old = _migrate(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="m")
    old.get_model("streaming", "Watchlist").objects.create(
        user_id=user.id, symbols=["SPY", "/ESZ6", "/ESZ26:XCME", "NOT A SYMBOL"], version=3
    )
    old.get_model("streaming", "MarketOverview").objects.create(
        user_id=user.id, symbols=["/ESZ6", "QQQ"]
    )
    users = old.get_model("auth", "User").objects
    holder = users.create(username="alpaca-holder")
    old.get_model("accounts", "BrokerLink").objects.create(
        user_id=holder.id, broker="alpaca", label="Paper", encrypted_secrets="x"
    )
    alerts = old.get_model("streaming", "Alert").objects
    alerts.create(user_id=user.id, symbol="/ESZ6", condition="above", level=6100)
    alerts.create(user_id=user.id, symbol="/NQZ6", condition="above", level=1, active=False)
    alerts.create(user_id=user.id, symbol="BTCUSD", condition="above", level=1)
    alerts.create(user_id=holder.id, symbol="BTCUSD", condition="above", level=1)
    new = _migrate(AFTER)
    watchlist = new.get_model("streaming", "Watchlist").objects.get(user_id=user.id)
    assert (watchlist.symbols, watchlist.version) == (
        ["SPY", "/ESZ26:XCME", "NOT A SYMBOL"],
        3,
    )
    overview = new.get_model("streaming", "MarketOverview").objects.get(user_id=user.id)
    assert overview.symbols == ["/ESZ26:XCME", "QQQ"]
    stored = new.get_model("streaming", "Alert").objects.order_by("id")
    assert [(a.symbol, a.active) for a in stored] == [
        ("/ESZ26:XCME", True),
        ("/NQZ26:XCME", False),
        ("BTCUSD", True),  # no Alpaca link: a ticker, as its spelling says
        ("BTC/USD:CXTALP", True),
    ]
