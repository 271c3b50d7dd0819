"""Portfolio totals of a snapshot, per currency: what the dashboard's panel, the limits and
the P&L samples count.

The browser computes the same totals live from its reducer's state
(static/js/stream/totals.js, which documents the rules); the page shows these first, so
both must agree on one snapshot (tests/streaming/test_totals.py runs both). Rules in
short: amounts are summed within one currency (the broker's: every broker streamdesk
links keeps USD accounts); a missing input is never 0, a total says how many inputs it
counted (`have` of `of`) and is None when it counted none. Staleness needs the clock and
link states: the browser marks it on its first render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from streaming.portfolio.valuation import is_option_position, live_mark, number

#: The currency each broker keeps its accounts in (docs/streaming-contract.md, "Objects").
BROKER_CURRENCY = {"tastytrade": "USD", "tradier": "USD", "alpaca": "USD"}

TotalField = Literal[
    "net_liq", "day_pnl", "open_pnl", "buying_power", "delta_shares", "delta_dollars", "theta"
]
#: The totals, in the panel's order, with what their inputs are.
TOTAL_FIELDS: dict[TotalField, str] = {
    "net_liq": "accounts",
    "day_pnl": "positions",
    "open_pnl": "positions",
    "buying_power": "accounts",
    "delta_shares": "positions",
    "delta_dollars": "positions",
    "theta": "positions",
}


class Total(TypedDict):
    """One total: `value` (None when it counted no input of the `of` it has), how many
    inputs it counted (`have`), what they are (`unit`: "accounts" or "positions")."""

    value: float | None
    have: int
    of: int
    unit: str
    partial: bool


class TotalsGroup(TypedDict):
    """The totals of the accounts of one currency."""

    currency: str
    accounts: list[str]
    net_liq: Total
    day_pnl: Total
    open_pnl: Total
    buying_power: Total
    delta_shares: Total
    delta_dollars: Total
    theta: Total


class Uncounted(TypedDict):
    """An account whose currency is not known: not added to any group."""

    number: str
    broker: str


class Totals(TypedDict):
    groups: list[TotalsGroup]
    uncounted: list[Uncounted]


@dataclass
class _Sum:
    total: float = 0.0
    have: int = 0
    of: int = 0


@dataclass
class _Group:
    currency: str
    accounts: list[str] = field(default_factory=list)
    sums: dict[str, _Sum] = field(default_factory=lambda: {f: _Sum() for f in TOTAL_FIELDS})

    def total(self, name: TotalField) -> Total:
        found = self.sums[name]
        total, have, of = found.total, found.have, found.of
        return {
            "value": total if have else (None if of else 0.0),
            "have": have,
            "of": of,
            "unit": TOTAL_FIELDS[name],
            "partial": have < of,
        }


def _position_values(
    p: Mapping[str, object], quotes: Mapping[str, object], greeks: Mapping[str, object]
) -> dict[str, float | None]:
    """A position's P&L (day, open), delta (shares, money) and theta; None if an input lacks."""
    sign = -1 if p.get("direction") == "Short" else 1
    qty = number(p.get("quantity"))
    mult = number(p.get("multiplier"))
    mult = 1.0 if mult is None else mult
    key = str(p.get("streamer_symbol") or p.get("symbol"))
    mark, live = live_mark(key, p.get("mark_price"), quotes)
    avg, close = number(p.get("average_open_price")), number(p.get("close_price"))
    values: dict[str, float | None] = {"open_pnl": None, "day_pnl": None}
    if mark is not None and qty is not None:
        if avg is not None:
            values["open_pnl"] = (mark - avg) * qty * mult * sign
        if close is not None:
            values["day_pnl"] = (mark - close) * qty * mult * sign
    if is_option_position(p):
        found = greeks.get(key)
        g: Mapping[str, object] = found if isinstance(found, dict) else {}
        delta, theta = number(g.get("delta")), number(g.get("theta"))
        shares = delta * qty * mult * sign if delta is not None and qty is not None else None
        values["theta"] = (
            theta * qty * mult * sign if theta is not None and qty is not None else None
        )
        price, price_live = live_mark(str(p.get("underlying") or ""), None, quotes)
    else:
        stock = any(
            k in str(p.get("instrument_type") or "Equity").lower()
            for k in ("equity", "stock", "etf")
        )
        shares = qty * mult * sign if qty is not None and stock else None
        values["theta"] = None if shares is None else 0.0
        price, price_live = mark, live
    values["delta_shares"] = shares
    values["delta_dollars"] = (
        shares * price if shares is not None and price is not None and price_live else None
    )
    return values


def portfolio_totals(snapshot: dict[str, Any]) -> Totals:
    """`{groups: [{currency, accounts, <field>: {value, have, of, unit, partial}}], uncounted}`
    of a snapshot frame, in the shape (and summation order) of totals.js's `portfolioTotals`."""
    quotes = snapshot.get("quotes") or {}
    greeks = snapshot.get("greeks") or {}
    groups: dict[str, _Group] = {}
    uncounted: list[Uncounted] = []
    for acct in snapshot.get("accounts") or []:
        if not isinstance(acct, dict) or acct.get("number") is None:
            continue
        currency = BROKER_CURRENCY.get(str(acct.get("broker") or "").lower())
        if currency is None:
            uncounted.append(
                {"number": str(acct.get("number")), "broker": acct.get("broker") or ""}
            )
            continue
        group = groups.setdefault(currency, _Group(currency))
        group.accounts.append(str(acct.get("number")))
        sums = group.sums

        def add(name: str, value: float | None, sums: dict[str, _Sum] = sums) -> None:
            sums[name].of += 1
            if value is not None:
                sums[name].total += value
                sums[name].have += 1

        balance = acct.get("balance") or {}
        add("net_liq", number(balance.get("net_liquidating_value")))
        add("buying_power", number(balance.get("buying_power")))
        # as the reducer holds them: by symbol (repeated: the last one, in the first's place)
        positions = {
            str(p["symbol"]): p
            for p in acct.get("positions") or []
            if isinstance(p, dict) and p.get("symbol") is not None
        }
        for p in positions.values():
            for name, value in _position_values(p, quotes, greeks).items():
                add(name, value)
    out: list[TotalsGroup] = [
        {
            "currency": group.currency,
            "accounts": group.accounts,
            "net_liq": group.total("net_liq"),
            "day_pnl": group.total("day_pnl"),
            "open_pnl": group.total("open_pnl"),
            "buying_power": group.total("buying_power"),
            "delta_shares": group.total("delta_shares"),
            "delta_dollars": group.total("delta_dollars"),
            "theta": group.total("theta"),
        }
        for group in groups.values()
    ]
    return {"groups": out, "uncounted": uncounted}
