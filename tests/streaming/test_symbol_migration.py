"""Symbols stored before instruments had one contract symbol are rewritten to it
(streaming/migrations/0013_instrument_symbols.py): a watchlist, an overview and an active
alert on a future's REST symbol stream its quote afterwards."""

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
    alerts = old.get_model("streaming", "Alert").objects
    alerts.create(user_id=user.id, symbol="/ESZ6", condition="above", level=6100)
    alerts.create(user_id=user.id, symbol="/NQZ6", condition="above", level=1, active=False)
    new = _migrate(AFTER)
    watchlist = new.get_model("streaming", "Watchlist").objects.get(user_id=user.id)
    assert (watchlist.symbols, watchlist.version) == (
        ["SPY", "/ESZ26:XCME", "NOT A SYMBOL"],
        3,
    )
    overview = new.get_model("streaming", "MarketOverview").objects.get(user_id=user.id)
    assert overview.symbols == ["/ESZ26:XCME", "QQQ"]
    stored = new.get_model("streaming", "Alert").objects.order_by("id")
    assert [(a.symbol, a.active) for a in stored] == [("/ESZ26:XCME", True), ("/NQZ6", False)]
