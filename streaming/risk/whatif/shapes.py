"""The what-if API's answer (`GET /api/risk/` and `/api/risk/<UNDERLYING>`,
docs/streaming-contract.md "GET /api/risk/…"; static/js/risk/ draws it). Pure types."""

from __future__ import annotations

from typing import TypedDict


class PricePnl(TypedDict):
    """One point of the curve: the P&L at a price of the underlying (SPY: β-weighted)."""

    price: float
    pnl: float


class CurveAnswer(TypedDict):
    """What both answers carry: the curve at the scenario's date, its breakevens and ±1/±2 sd
    bands (null without an IV), `as_of` the oldest input's time, the legs left unpriced."""

    underlying: str
    display: str
    price: float
    date: str
    at: int
    iv_shift: float
    rate: float
    points: list[PricePnl]
    breakevens: list[float]
    bands: dict[str, tuple[float, float]] | None
    as_of: int | None
    unpriced: list[str]


class Exposure(TypedDict):
    """An underlying's exposure now: delta in its units, that in dollars, its β, β-Δ."""

    delta: float | None
    notional: float | None
    beta: float | None
    beta_delta: float | None


class UnderlyingAnswer(CurveAnswer, Exposure):
    """`/api/risk/<UNDERLYING>`: one underlying's curve and its exposure."""


class PortfolioAnswer(CurveAnswer):
    """`/api/risk/`: every underlying β-weighted to `benchmark` (SPY)."""

    benchmark: str
    beta_delta: float | None
