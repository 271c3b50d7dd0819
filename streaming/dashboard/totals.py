"""Portfolio totals of a snapshot, per currency, for the server-rendered dashboard.

The browser computes the same totals live from its reducer's state
(static/js/stream/totals.js, which documents the rules); the page shows these first, so
both must agree on one snapshot (tests/streaming/test_totals.py runs both). Rules in
short: amounts are summed within one currency (the broker's: every broker streamdesk
links keeps USD accounts); a missing input is never 0, a total says how many inputs it
counted (`have` of `of`) and is None when it counted none. Staleness needs the clock and
link states: the browser marks it on its first render.
"""

from __future__ import annotations

from typing import Any

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


def number(value: Any) -> float | None:
    """A finite number (or numeric string) or None, as contract.js's `num`."""
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip() else None
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def is_option_position(p: dict[str, Any]) -> bool:
    return "option" in str(p.get("instrument_type") or "").lower() or str(
        p.get("streamer_symbol") or ""
    ).startswith(".")


def live_mark(symbol: str, fallback: Any, quotes: dict[str, Any]) -> tuple[float | None, bool]:
    """The live quote's mid (or last), else the broker's mark; and whether it is live."""
    q = quotes.get(symbol)
    if isinstance(q, dict):
        bid, ask, last = number(q.get("bid")), number(q.get("ask")), number(q.get("last"))
        if bid is not None and ask is not None:
            return (bid + ask) / 2, True
        if last is not None:
            return last, True
    return number(fallback), False


def _position_values(
    p: dict[str, Any], quotes: dict[str, Any], greeks: dict[str, Any]
) -> dict[str, float | None]:
    """A position's P&L (day, open), delta (shares, money) and theta; None if an input lacks."""
    sign = -1 if p.get("direction") == "Short" else 1
    qty = number(p.get("quantity"))
    mult = number(p.get("multiplier"))
    mult = 1.0 if mult is None else mult
    key = str(p.get("streamer_symbol") or p.get("symbol"))
    mark, live = live_mark(key, p.get("mark_price"), quotes)
    avg, close = number(p.get("average_open_price")), number(p.get("close_price"))
    values: dict[str, float | None] = {
        "open_pnl": (mark - avg) * qty * mult * sign
        if None not in (mark, avg, qty)  # type: ignore[operator]
        else None,
        "day_pnl": (mark - close) * qty * mult * sign if None not in (mark, close, qty) else None,  # type: ignore[operator]
    }
    if is_option_position(p):
        g = greeks.get(key) if isinstance(greeks.get(key), dict) else {}
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


#: The panel's labels and titles (as render-totals.js), and digits shown before the script runs.
PANEL = {
    "net_liq": ("Net liq", "Net liquidating value, all accounts", "2g"),
    "day_pnl": ("Day P&L", "Day P&L from the live marks, all positions", "2g"),
    "open_pnl": ("Open P&L", "Open P&L from the live marks, all positions", "2g"),
    "buying_power": ("Buying power", "Equity buying power, all accounts", "2g"),
    "delta_shares": ("Δ shares", "Portfolio delta in shares", "1g"),
    "delta_dollars": ("Δ $", "Dollar delta: share delta times the underlying's live price", "2g"),
    "theta": ("Θ $/day", "Theta per day in money", "2g"),
}


def totals_panel(snapshot: dict[str, Any]) -> dict[str, Any]:
    """`portfolio_totals` with each group's `cells` in the panel's order, for the template."""
    totals = portfolio_totals(snapshot)
    for group in totals["groups"]:
        group["cells"] = [
            {
                **group[field],
                "field": field,
                "label": label,
                "title": title,
                "digits": digits,
                "signed": field not in ("net_liq", "buying_power"),
            }
            for field, (label, title, digits) in PANEL.items()
        ]
    return totals
