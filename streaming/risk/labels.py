"""What the account cards say about a position's β-weighted delta and IV rank: the value
and, in its title, where it came from and how old it is (server-rendered first; the
browser's static/js/stream/exposure.js says the same), its time in the trader's zone, named
(accounts/times.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypedDict

from accounts import times
from streaming.brokers.values import now_ms as clock_ms
from streaming.portfolio.valuation import live_mark, number
from streaming.risk.exposure import BENCHMARK, position_exposure, underlying_of

MINUTE_MS = 60_000


def age_text(t_ms: Any, now_ms: int) -> str:
    """ "just now", "3 min ago", "2 h ago", "4 d ago"."""
    t = number(t_ms)
    if t is None:
        return "at an unknown time"
    minutes = max(0, int((now_ms - t) // MINUTE_MS))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} d ago"


def _when(t_ms: Any, now_ms: int, zone: dt.tzinfo) -> str:
    t = number(t_ms)
    return "an unknown time" if t is None else times.when(t, zone, now_ms, minutes=True)


def beta_title(
    underlying: str, m: Mapping[str, object], now_ms: int, zone: dt.tzinfo | None = None
) -> str:
    """E.g. "β 1.21 from tastytrade, as of 14:02 EST (fetched 3 min ago)" (`zone`: the
    trader's; New York's by default)."""
    beta = number(m.get("beta"))
    if beta is None:
        return f"No β for {underlying}: no link serves its market metrics or a year of closes"
    source = m.get("beta_source") or "an unknown source"
    window = f" ({m['beta_window']})" if m.get("beta_window") else ""
    as_of = _when(m.get("beta_as_of"), now_ms, zone or times.zone_of(None))
    return (
        f"β {beta:.2f} from {source}{window}, as of {as_of} (fetched "
        f"{age_text(m.get('t'), now_ms)}); β-weighted delta in {BENCHMARK} shares"
    )


def iv_rank_title(underlying: str, m: Mapping[str, object], now_ms: int) -> str:
    """E.g. "IV rank 35 (tastytrade, 3 min ago)"."""
    rank = number(m.get("iv_rank"))
    if rank is None:
        return f"No IV rank for {underlying}: no source has it (tastytrade's market metrics)"
    source = m.get("iv_source") or "unknown source"
    return f"IV rank {rank:.0f} ({source}, {age_text(m.get('t'), now_ms)})"


class RiskCell(TypedDict):
    """A position's risk cells, as the pages show them."""

    beta_delta: float | None  # SPY shares
    beta_title: str
    iv_rank: float | None
    iv_title: str


def risk_cells(
    snapshot: dict[str, Any], now_ms: int, zone: dt.tzinfo | None = None
) -> dict[str, RiskCell]:
    """ "<account>|<symbol>" -> {beta_delta, beta_title, iv_rank, iv_title} of every position."""
    quotes, greeks = snapshot.get("quotes") or {}, snapshot.get("greeks") or {}
    metrics = snapshot.get("metrics") or {}
    spy_price, _ = live_mark(BENCHMARK, None, quotes)
    cells: dict[str, RiskCell] = {}
    for a in snapshot.get("accounts") or []:
        for p in a.get("positions") or []:
            u = underlying_of(p)
            m = metrics.get(u) or {}
            e = position_exposure(p, quotes, greeks, m, spy_price, now_ms=now_ms)
            cells[f"{a.get('number')}|{p.get('symbol')}"] = {
                "beta_delta": e.beta_delta,
                "beta_title": beta_title(u, m, now_ms, zone),
                "iv_rank": e.iv_rank,
                "iv_title": iv_rank_title(u, m, now_ms),
            }
    return cells


def with_risk(
    snapshot: dict[str, Any], key: str, zone: dt.tzinfo | None = None
) -> list[dict[str, Any]]:
    """The snapshot's accounts with each position's risk cells (`risk_cells`) under `key`,
    computed now from the snapshot's own quotes, greeks and metrics (times in `zone`)."""
    cells = risk_cells(snapshot, clock_ms(), zone)
    return [
        {
            **a,
            "positions": [
                {**p, key: cells[f"{a.get('number')}|{p.get('symbol')}"]}
                for p in a.get("positions") or []
            ],
        }
        for a in snapshot.get("accounts") or []
    ]


def with_beta_delta(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with each position's `beta_delta` (SPY shares; None when an input lacks)."""
    accounts = with_risk(snapshot, "risk")
    for a in accounts:
        a["positions"] = [
            {**{k: v for k, v in p.items() if k != "risk"}, "beta_delta": p["risk"]["beta_delta"]}
            for p in a["positions"]
        ]
    return {**snapshot, "accounts": accounts}
