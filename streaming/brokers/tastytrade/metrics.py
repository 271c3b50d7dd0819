"""tastytrade's market metrics (`GET /market-metrics`, the SDK's `get_market_metrics`) as
the contract's Metrics: decimals (sent as strings) to floats, ranks and percentiles
(fractions) to 0-100, times to epoch ms.

IV rank is tastytrade's `tos-implied-volatility-index-rank` for equities, ETFs and
indices and `tw-implied-volatility-index-rank` for futures (`/ES`), times 100, as
tastytrade-cli shows it (docs/streaming-contract.md "Risk: market metrics").

The stream asks by contract symbol (`BTC/USD:CXTALP`, `/ESZ26:XCME`); tastytrade's metrics
know a coin by its pair (`BTC/USD`) and a future by its product (`/ES`, as tastytrade-cli
asks them): each is asked so, and its answer kept under every contract symbol it stands for.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tastytrade import Session
from tastytrade.metrics import MarketMetricInfo, get_market_metrics

from streaming.brokers.values import now_ms
from streaming.instruments.instrument import parse
from streaming.instruments.kinds import Kind
from streaming.instruments.resolve import clean

SOURCE = "tastytrade"


def _float(value: Decimal | str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _percent(value: Decimal | str | None) -> float | None:
    fraction = _float(value)
    return None if fraction is None else fraction * 100.0


def _ms(when: dt.datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)


def expiration_ivs(info: MarketMetricInfo) -> dict[str, float]:
    """IV per expiration date; where a date is listed more than once (AM and PM
    settlement, non-standard chains) the standard PM-settled chain's wins, else the first."""
    ranked: dict[str, tuple[int, float]] = {}
    for item in info.option_expiration_implied_volatilities or []:
        iv = _float(item.implied_volatility)
        if iv is None:
            continue
        day = item.expiration_date.isoformat()
        rank = (item.settlement_type == "PM") + (item.option_chain_type == "Standard")
        if day not in ranked or rank > ranked[day][0]:
            ranked[day] = (rank, iv)
    return {day: iv for day, (_, iv) in sorted(ranked.items())}


def metrics_of(info: MarketMetricInfo, fetched_ms: int) -> dict[str, Any]:
    """One symbol's `MarketMetricInfo` as the contract's Metrics."""
    is_future = info.symbol.startswith("/")
    rank = (
        info.tw_implied_volatility_index_rank
        if is_future
        else info.tos_implied_volatility_index_rank
    )
    beta = _float(info.beta)
    iv_index = _float(info.implied_volatility_index)
    iv_rank = _percent(rank)
    iv_percentile = _percent(info.implied_volatility_percentile)
    ivs = expiration_ivs(info)
    has_iv = any(v is not None for v in (iv_index, iv_rank, iv_percentile)) or bool(ivs)
    return {
        "beta": beta,
        "beta_source": SOURCE if beta is not None else None,
        "beta_window": None,
        "beta_as_of": _ms(info.beta_updated_at) if beta is not None else None,
        "iv_index": iv_index,
        "iv_rank": iv_rank,
        "iv_percentile": iv_percentile,
        "iv_source": SOURCE if has_iv else None,
        "expiration_ivs": ivs,
        "dividend_yield": _float(info.dividend_yield),
        "t": fetched_ms,
    }


def metrics_symbol(symbol: str) -> str:
    """The symbol tastytrade's market metrics know an underlying by: a coin's pair
    (`BTC/USD:CXTALP` → `BTC/USD`), a future's product (`/ESZ26:XCME`, `/ESZ6` → `/ES`), any
    other as it is."""
    text = clean(symbol)
    found = parse(text) if text else None
    if found is None:
        return symbol
    if found.kind is Kind.CRYPTO:
        return found.broker_symbol("tastytrade") or symbol
    if found.kind in (Kind.FUTURE, Kind.FUTURE_OPTION):
        return found.root
    return symbol


async def market_metrics(session: Session, symbols: list[str]) -> dict[str, dict[str, Any]]:
    """Metrics per symbol asked (contract symbols), each asked of tastytrade by its metrics
    symbol; the ones tastytrade does not know are left out, as it answers."""
    asked: dict[str, list[str]] = {}
    for symbol in sorted(set(symbols)):
        asked.setdefault(metrics_symbol(symbol), []).append(symbol)
    if not asked:
        return {}
    infos = await get_market_metrics(session, sorted(asked))
    fetched = now_ms()
    found: dict[str, dict[str, Any]] = {}
    for info in infos:
        for symbol in asked.get(info.symbol, ()):
            found[symbol] = metrics_of(info, fetched)
    return found
