"""The day's high, low and max drawdown of a P&L curve (pure, no I/O).

A point is `{t (ms), net_liq, day_pnl}`; the stats are over `day_pnl`, and a point whose
value is null is skipped (a missing input is no value, never 0). The drawdown is the
largest fall from a running peak to a later trough: what the trader gave back at worst
during the day (docs/streaming-contract.md "P&L over the day").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict


class NetLiqPoint(TypedDict):
    t: int
    net_liq: float | None


class CurvePoint(NetLiqPoint):
    day_pnl: float | None


class Extreme(TypedDict):
    value: float
    t: int


class Drawdown(TypedDict):
    #: ≥ 0: the fall from `peak_t`'s value to `trough_t`'s.
    value: float
    peak_t: int
    trough_t: int


class CurveStats(TypedDict):
    high: Extreme | None
    low: Extreme | None
    max_drawdown: Drawdown | None


def values(
    points: Iterable[CurvePoint], key: Literal["day_pnl", "net_liq"] = "day_pnl"
) -> list[tuple[int, float]]:
    """(t, value) of the points that have a value, in time order."""
    found = [(int(p["t"]), float(v)) for p in points if (v := p.get(key)) is not None]
    return sorted(found, key=lambda tv: tv[0])


def high_low(curve: list[tuple[int, float]]) -> tuple[Extreme | None, Extreme | None]:
    """The highest and lowest value and when each was first reached."""
    if not curve:
        return None, None
    high = max(curve, key=lambda tv: (tv[1], -tv[0]))
    low = min(curve, key=lambda tv: (tv[1], tv[0]))
    return {"value": high[1], "t": high[0]}, {"value": low[1], "t": low[0]}


def max_drawdown(curve: list[tuple[int, float]]) -> Drawdown | None:
    """The largest peak-to-later-trough fall; 0 at the first point when it never fell."""
    if not curve:
        return None
    peak_t, peak = curve[0]
    best: Drawdown = {"value": 0.0, "peak_t": peak_t, "trough_t": peak_t}
    for t, value in curve:
        if value > peak:
            peak_t, peak = t, value
        elif peak - value > best["value"]:
            best = {"value": peak - value, "peak_t": peak_t, "trough_t": t}
    return best


def curve_stats(points: Iterable[CurvePoint]) -> CurveStats:
    """High, low and max drawdown of the points' day P&L."""
    curve = values(points)
    high, low = high_low(curve)
    return {"high": high, "low": low, "max_drawdown": max_drawdown(curve)}


def as_day_change(points: Sequence[NetLiqPoint]) -> list[CurvePoint]:
    """A broker's net-liq curve with `day_pnl` = net liq minus the day's first value (the
    brokers keep no day P&L of their own)."""
    first = next((p["net_liq"] for p in points if p.get("net_liq") is not None), None)
    return [
        {
            **p,
            "day_pnl": None if first is None or (v := p.get("net_liq")) is None else v - first,
        }
        for p in points
    ]
