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
from typing import Any

from streaming.portfolio.valuation import is_option_position, live_mark, number

#: The currency each broker keeps its accounts in (docs/streaming-contract.md, "Objects").
BROKER_CURRENCY = {"tastytrade": "USD", "tradier": "USD", "alpaca": "USD"}

#: The totals, in the panel's order, with what their inputs are.
TOTAL_FIELDS = {
    "net_liq": "accounts",
    "day_pnl": "positions",
    "open_pnl": "positions",
    "buying_power": "accounts",
    "delta_shares": "positions",
    "delta_dollars": "positions",
    "theta": "positions",
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
        g: dict[str, Any] = found if isinstance(found, dict) else {}
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


def portfolio_totals(snapshot: dict[str, Any]) -> dict[str, Any]:
    """`{groups: [{currency, accounts, <field>: {value, have, of, unit, partial}}], uncounted}`
    of a snapshot frame, in the shape (and summation order) of totals.js's `portfolioTotals`."""
    quotes = snapshot.get("quotes") or {}
    greeks = snapshot.get("greeks") or {}
    groups: dict[str, dict[str, Any]] = {}
    uncounted = []
    for acct in snapshot.get("accounts") or []:
        if not isinstance(acct, dict) or acct.get("number") is None:
            continue
        currency = BROKER_CURRENCY.get(str(acct.get("broker") or "").lower())
        if currency is None:
            uncounted.append(
                {"number": str(acct.get("number")), "broker": acct.get("broker") or ""}
            )
            continue
        group = groups.setdefault(
            currency,
            {"currency": currency, "accounts": [], "sums": {f: [0.0, 0, 0] for f in TOTAL_FIELDS}},
        )
        group["accounts"].append(str(acct.get("number")))
        sums = group["sums"]

        def add(field: str, value: float | None, sums: dict = sums) -> None:
            sums[field][2] += 1
            if value is not None:
                sums[field][0] += value
                sums[field][1] += 1

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
            for field, value in _position_values(p, quotes, greeks).items():
                add(field, value)
    out = []
    for group in groups.values():
        row: dict[str, Any] = {"currency": group["currency"], "accounts": group["accounts"]}
        for field, unit in TOTAL_FIELDS.items():
            total, have, of = group["sums"][field]
            row[field] = {
                "value": total if have else (None if of else 0.0),
                "have": have,
                "of": of,
                "unit": unit,
                "partial": have < of,
            }
        out.append(row)
    return {"groups": out, "uncounted": uncounted}
