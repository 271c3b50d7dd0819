"""β-weighted delta, IV rank, days to expiration and expected move, from a snapshot.

Pure functions over the contract's shapes (a snapshot frame, or the reducer's state in
the browser: static/js/stream/exposure.js applies the same rules, and a test runs both on
one snapshot). tastytrade's definitions (docs/streaming-contract.md, "Risk"):

- position delta, in units of the underlying (shares, coins, a future's points) = greek
  delta * multiplier * signed quantity for an option (a future option's multiplier is its
  future's point value), multiplier * signed quantity for the rest (a share and a coin 1,
  a future its point value);
- β-weighted delta, in SPY shares = β * underlying price * position delta ÷ SPY price,
  in dollars = that * SPY price; the underlying's price is its own instrument's quote,
  keyed by its contract symbol (`BTC/USD:CXTALP`, `/ESZ26:XCME`), as its metrics are;
- expected move to expiration = underlying price * IV * √(days to expiration ÷ 365),
  with the expiration's own IV where the metrics have it, else the option's, else the
  underlying's IV index.

Prices are live quote mids (else last): a value without its inputs is None, never 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streaming.portfolio.valuation import is_option_position, live_mark, number

#: The index every β is measured against, and every β-weighted delta is counted in.
BENCHMARK = "SPY"
DAY_MS = 86_400_000


@dataclass(frozen=True)
class PositionExposure:
    """One position's risk numbers; None where an input is missing."""

    symbol: str
    underlying: str
    delta_shares: float | None
    beta_delta: float | None  # SPY shares
    beta_delta_dollars: float | None
    dte: float | None  # days to expiration (fractional), None for stock
    iv: float | None  # the IV used for the expected move (fraction)
    expected_move: float | None  # ± in the underlying's price, to expiration
    iv_rank: float | None  # 0-100, the underlying's
    iv_percentile: float | None  # 0-100, the underlying's


@dataclass(frozen=True)
class UnderlyingRow:
    """Every account's positions in one underlying, summed."""

    underlying: str
    price: float | None
    beta: float | None
    beta_source: str | None
    iv_rank: float | None
    iv_percentile: float | None
    delta_shares: float | None
    beta_delta: float | None
    beta_delta_dollars: float | None
    positions: list[PositionExposure]
    accounts: list[str]


def underlying_of(position: Mapping[str, object]) -> str:
    """The contract symbol of the position's underlying (the stream names it: `SPY` for an
    SPY option, `/ESZ26:XCME` for an /ES option, `BTC/USD:CXTALP` for a coin); without one,
    a stock, a future or a coin is its own (its contract symbol, else its symbol)."""
    found = position.get("underlying")
    if found:
        return str(found)
    own = None if is_option_position(position) else position.get("streamer_symbol")
    return str(own or position.get("symbol") or "")


def quote_key(position: Mapping[str, object]) -> str:
    """The key of the position's quote and greeks (its streamer symbol)."""
    return str(position.get("streamer_symbol") or position.get("symbol"))


def signed_quantity(position: Mapping[str, object]) -> float | None:
    """The quantity with the direction's sign (contracts for options, shares for stock)."""
    qty = number(position.get("quantity"))
    if qty is None:
        return None
    return -qty if position.get("direction") == "Short" else qty


def multiplier_of(position: Mapping[str, object]) -> float:
    """Its multiplier as the broker states it; absent: 100 for an option, else 1."""
    mult = number(position.get("multiplier"))
    if mult is not None:
        return mult
    return 100.0 if is_option_position(position) else 1.0


def position_delta(position: Mapping[str, object], greeks: Mapping[str, object]) -> float | None:
    """The position's delta in units of its underlying (shares, coins, a future's points)."""
    qty = signed_quantity(position)
    if qty is None:
        return None
    mult = multiplier_of(position)
    if not is_option_position(position):
        return mult * qty
    g = greeks.get(quote_key(position))
    delta = number(g.get("delta")) if isinstance(g, dict) else None
    return None if delta is None else delta * mult * qty


def _iv_for(
    position: Mapping[str, Any], greeks: Mapping[str, Any], metrics: Mapping[str, Any]
) -> float | None:
    expires = number(position.get("expires_at"))
    if expires is not None:
        day = _utc_day(expires)
        iv = number((metrics.get("expiration_ivs") or {}).get(day))
        if iv is not None:
            return iv
    g = greeks.get(quote_key(position))
    iv = number(g.get("iv")) if isinstance(g, dict) else None
    return iv if iv is not None else number(metrics.get("iv_index"))


def _utc_day(ms: float) -> str:
    # options expire at 16:00 New York: the same calendar day in UTC
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()


def position_exposure(
    position: Mapping[str, object],
    quotes: Mapping[str, object],
    greeks: Mapping[str, object],
    metrics: Mapping[str, object],
    spy_price: float | None,
    *,
    now_ms: int,
) -> PositionExposure:
    """One position's β-weighted delta, DTE, expected move and its underlying's IV rank;
    `metrics` is the underlying's entry of the snapshot's `metrics` (or {})."""
    underlying = underlying_of(position)
    price, _ = live_mark(underlying, None, quotes)
    delta = position_delta(position, greeks)
    beta = number(metrics.get("beta"))
    beta_delta = None
    if beta is not None and price is not None and delta is not None and spy_price:
        beta_delta = beta * price * delta / spy_price
    expires = number(position.get("expires_at")) if is_option_position(position) else None
    dte = max(0.0, (expires - now_ms) / DAY_MS) if expires is not None else None
    iv = _iv_for(position, greeks, metrics) if dte is not None else None
    move = (
        price * iv * math.sqrt(dte / 365.0)
        if price is not None and iv is not None and dte is not None
        else None
    )
    return PositionExposure(
        symbol=str(position.get("symbol")),
        underlying=underlying,
        delta_shares=delta,
        beta_delta=beta_delta,
        beta_delta_dollars=beta_delta * spy_price if beta_delta is not None and spy_price else None,
        dte=dte,
        iv=iv,
        expected_move=move,
        iv_rank=number(metrics.get("iv_rank")),
        iv_percentile=number(metrics.get("iv_percentile")),
    )


def account_positions(
    snapshot: Mapping[str, Any], *, by_symbol: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """(account number, position) of every account, as the reducer holds them (a symbol
    repeated: the last one); within an account in symbol order if `by_symbol`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for acct in snapshot.get("accounts") or []:
        if not isinstance(acct, dict):
            continue
        held = {
            str(p["symbol"]): p
            for p in acct.get("positions") or []
            if isinstance(p, dict) and p.get("symbol") is not None
        }
        symbols = sorted(held) if by_symbol else list(held)
        out.extend((str(acct.get("number")), held[symbol]) for symbol in symbols)
    return out


def _sum(values: list[float | None]) -> float | None:
    """The sum, or None as soon as one input is unknown (a partial sum is not the risk)."""
    if not values or any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _metrics_of(all_metrics: Mapping[str, object], underlying: str) -> dict[str, Any]:
    entry = all_metrics.get(underlying)
    return entry if isinstance(entry, dict) else {}


def underlying_rows(snapshot: dict[str, Any], *, now_ms: int) -> list[UnderlyingRow]:
    """One row per underlying across every account, sorted by symbol."""
    quotes = snapshot.get("quotes") or {}
    greeks = snapshot.get("greeks") or {}
    all_metrics = snapshot.get("metrics") or {}
    spy_price, _ = live_mark(BENCHMARK, None, quotes)
    grouped: dict[str, list[tuple[str, PositionExposure]]] = {}
    for account, p in account_positions(snapshot):
        u = underlying_of(p)
        m = _metrics_of(all_metrics, u)
        grouped.setdefault(u, []).append(
            (account, position_exposure(p, quotes, greeks, m, spy_price, now_ms=now_ms))
        )
    rows = []
    for u in sorted(grouped):
        items = grouped[u]
        m = _metrics_of(all_metrics, u)
        exposures = [e for _, e in items]
        rows.append(
            UnderlyingRow(
                underlying=u,
                price=live_mark(u, None, quotes)[0],
                beta=number(m.get("beta")),
                beta_source=m.get("beta_source"),
                iv_rank=number(m.get("iv_rank")),
                iv_percentile=number(m.get("iv_percentile")),
                delta_shares=_sum([e.delta_shares for e in exposures]),
                beta_delta=_sum([e.beta_delta for e in exposures]),
                beta_delta_dollars=_sum([e.beta_delta_dollars for e in exposures]),
                positions=exposures,
                accounts=sorted({a for a, _ in items}),
            )
        )
    return rows


def portfolio_beta_delta(snapshot: dict[str, Any], *, now_ms: int) -> float | None:
    """The whole portfolio's β-weighted delta in SPY shares; None if any input lacks."""
    rows = underlying_rows(snapshot, now_ms=now_ms)
    return _sum([r.beta_delta for r in rows]) if rows else 0.0
