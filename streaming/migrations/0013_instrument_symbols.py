"""Stored symbols as the contract names instruments now: each spelling rewritten to its
instrument's contract symbol (a future's REST symbol `/ESZ6` is `/ESZ26:XCME`, its quote's
key; docs/streaming-contract.md, "Instruments"). Watchlists and market overviews keep
their order without duplicates. Every alert (an inactive one may be turned on again) is
evaluated on its instrument's quote; an alert on `<COIN>USD` of a user with an Alpaca
link was made from Alpaca's crypto position (the old "Alert…" took its `BTCUSD`), so it
watches the coin. A symbol that names no instrument is kept as it was (the pages still
say it). Alert triggers are history: their words stay as they were written."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _contract(symbol: str, *, alpaca: bool = False) -> str:
    from streaming.instruments.symbols import CRYPTO_USD_RE
    from streaming.validation import normalize_symbol

    coin = CRYPTO_USD_RE.match(symbol) if alpaca and "/" not in symbol else None
    if coin is not None:
        return f"{coin[1]}/USD:CXTALP"
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
    links = apps.get_model("accounts", "BrokerLink").objects
    alpaca = set(links.filter(broker="alpaca").values_list("user_id", flat=True))
    for alert in apps.get_model("streaming", "Alert").objects.all():
        symbol = _contract(alert.symbol, alpaca=alert.user_id in alpaca)
        if symbol != alert.symbol:
            alert.symbol = symbol
            alert.save(update_fields=["symbol"])


class Migration(migrations.Migration):
    dependencies = [
        ("streaming", "0012_working_orders"),
        ("accounts", "0009_notification_pnl_all_day"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
