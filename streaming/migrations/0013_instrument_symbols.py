"""Stored symbols as the contract names instruments now: each spelling rewritten to its
instrument's contract symbol (a future's REST symbol `/ESZ6` is `/ESZ26:XCME`, its quote's
key; docs/streaming-contract.md, "Instruments"). Watchlists and market overviews keep
their order without duplicates; an active alert is evaluated on its instrument's quote.
A symbol that names no instrument is kept as it was (the pages still say it). Alert
triggers are history: their words stay as they were written."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _contract(symbol: str) -> str:
    from streaming.validation import normalize_symbol

    return normalize_symbol(symbol) or symbol


def _list(symbols: Any) -> list[str]:
    named = [_contract(s) for s in symbols if isinstance(s, str)]
    return list(dict.fromkeys(named))


def forward(apps: Any, schema_editor: Any) -> None:
    for model in ("Watchlist", "MarketOverview"):
        for row in apps.get_model("streaming", model).objects.all():
            symbols = _list(row.symbols or [])
            if symbols != row.symbols:
                row.symbols = symbols
                row.save(update_fields=["symbols"])
    for alert in apps.get_model("streaming", "Alert").objects.filter(active=True):
        symbol = _contract(alert.symbol)
        if symbol != alert.symbol:
            alert.symbol = symbol
            alert.save(update_fields=["symbol"])


class Migration(migrations.Migration):
    dependencies = [("streaming", "0012_working_orders")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
