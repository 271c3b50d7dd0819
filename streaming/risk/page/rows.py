"""What the /risk page shows, as text, from a snapshot: the portfolio line, one table per
underlying across accounts, and the what-if graph's choices. An underlying is keyed by its
contract symbol (its quote's key) and read by its display name, a position likewise; a
quantity is exact (names.py).

Pure (no I/O): the view hands in the snapshot and the clock. Every value is formatted as
the browser formats it (en-US, "—" when unknown, never 0) and carries a title that says
where it came from and how old it is; the browser keeps them live from the stream
(static/js/risk/tables.js) and replaces these texts as quotes arrive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from streaming.portfolio.valuation import live_mark, number
from streaming.risk.exposure import (
    BENCHMARK,
    PositionExposure,
    account_positions,
    multiplier_of,
    position_exposure,
    quote_key,
    signed_quantity,
    underlying_of,
    underlying_rows,
)
from streaming.risk.legs import legs_from_snapshot
from streaming.risk.names import (
    position_display,
    quantity_text,
    resolve_underlying,
    underlying_display,
)
from streaming.risk.odds.answer import rows_with_odds
from streaming.risk.page.odds_text import odds_cells
from streaming.risk.strategies.grouping import strategies_of

DASH = "—"
#: The graph's choice that β-weights every underlying to SPY.
PORTFOLIO = "portfolio"


def fmt(value: float | None, digits: int = 2, *, sign: bool = False) -> str:
    """en-US with thousands separators, or "—"; a sign when asked ("+1,234.50")."""
    if value is None:
        return DASH
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0
    return f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}"


def age_text(ms: float | None, now_ms: int) -> str:
    """ "3 s old", "4 min old", "2 h old" ("age unknown" without a time)."""
    if ms is None:
        return "age unknown"
    age = max(0.0, (now_ms - ms) / 1000)
    if age < 120:
        return f"{age:.0f} s old"
    if age < 7200:
        return f"{age / 60:.0f} min old"
    return f"{age / 3600:.0f} h old"


def quote_title(symbol: str, quotes: Mapping[str, object], now_ms: int) -> str:
    """Where a price came from: "SPY quote mid, 3 s old" / "no quote yet" (the instrument
    by its display name: "BTC/USD quote …")."""
    q = quotes.get(symbol)
    name = underlying_display(symbol)
    if not isinstance(q, dict):
        return f"{name}: no quote yet"
    bid, ask = number(q.get("bid")), number(q.get("ask"))
    kind = "bid/ask mid" if bid is not None and ask is not None else "last trade"
    delayed = "DELAYED " if q.get("delayed") else ""
    return f"{name} {delayed}quote {kind}, {age_text(number(q.get('t')), now_ms)}"


def metrics_title(what: str, metrics: Mapping[str, object], now_ms: int) -> str:
    """Where β or IV rank came from: source, window, and when streamdesk fetched it."""
    if what == "beta":
        source = metrics.get("beta_source")
        if number(metrics.get("beta")) is None or not source:
            return "β unknown: no source has it (no tastytrade link, no daily history)"
        window = metrics.get("beta_window")
        as_of = number(metrics.get("beta_as_of")) or number(metrics.get("t"))
        return f"β from {source}{f' ({window})' if window else ''}, {age_text(as_of, now_ms)}"
    source = metrics.get("iv_source")
    if number(metrics.get("iv_rank")) is None or not source:
        return "IV rank unknown: only tastytrade's market metrics have it"
    return f"IV rank and percentile from {source}, {age_text(number(metrics.get('t')), now_ms)}"


@dataclass
class PositionLine:
    account: str
    symbol: str  # the broker's (the state's key)
    display: str
    streamer: str
    option: bool
    multiplier: float
    signed_qty: float | None
    qty: str
    delta: str
    beta_delta: str
    dte: str
    move: str
    title: str


@dataclass
class UnderlyingTable:
    underlying: str  # its contract symbol
    display: str
    price: float | None
    price_text: str
    price_title: str
    beta: float | None
    beta_text: str
    beta_title: str
    iv_rank: str
    iv_percentile: str
    iv_title: str
    delta: str
    beta_delta: str
    beta_delta_dollars: str
    positions: list[PositionLine] = field(default_factory=list)


def _line(
    account: str,
    p: Mapping[str, object],
    e: PositionExposure,
    quotes: Mapping[str, object],
    now_ms: int,
) -> PositionLine:
    option = e.dte is not None
    move = "±" + fmt(e.expected_move) if e.expected_move is not None else DASH
    return PositionLine(
        account=account,
        symbol=e.symbol,
        display=position_display(p),
        streamer=quote_key(p),
        option=option,
        multiplier=multiplier_of(p),
        signed_qty=signed_quantity(p),
        qty=quantity_text(signed_quantity(p)),
        delta=fmt(e.delta_shares, 1, sign=True),
        beta_delta=fmt(e.beta_delta, 1, sign=True),
        dte=fmt(e.dte, 1) if e.dte is not None else DASH,
        move=move,
        title=(
            f"{quote_title(e.underlying, quotes, now_ms)}; expected move from IV "
            f"{fmt(e.iv * 100, 1) + '%' if e.iv is not None else 'unknown'}"
        ),
    )


def underlying_tables(snapshot: dict[str, Any], *, now_ms: int) -> list[UnderlyingTable]:
    """One table per underlying, every account's positions in it (account, symbol order)."""
    quotes = snapshot.get("quotes") or {}
    greeks = snapshot.get("greeks") or {}
    all_metrics = snapshot.get("metrics") or {}
    spy_price, _ = live_mark(BENCHMARK, None, quotes)
    lines: dict[str, list[PositionLine]] = {}
    for acct in snapshot.get("accounts") or []:
        if not isinstance(acct, dict):
            continue
        for p in acct.get("positions") or []:
            if not isinstance(p, dict) or p.get("symbol") is None:
                continue
            u = underlying_of(p)
            found = all_metrics.get(u)
            m: dict[str, Any] = found if isinstance(found, dict) else {}
            e = position_exposure(p, quotes, greeks, m, spy_price, now_ms=now_ms)
            lines.setdefault(u, []).append(_line(str(acct.get("number")), p, e, quotes, now_ms))
    tables = []
    for row in underlying_rows(snapshot, now_ms=now_ms):
        entry = all_metrics.get(row.underlying)
        metrics = entry if isinstance(entry, dict) else {}
        tables.append(
            UnderlyingTable(
                underlying=row.underlying,
                display=underlying_display(row.underlying),
                price=row.price,
                price_text=fmt(row.price),
                price_title=quote_title(row.underlying, quotes, now_ms),
                beta=row.beta,
                beta_text=fmt(row.beta),
                beta_title=metrics_title("beta", metrics, now_ms),
                iv_rank=fmt(row.iv_rank, 0),
                iv_percentile=fmt(row.iv_percentile, 0),
                iv_title=metrics_title("iv", metrics, now_ms),
                delta=fmt(row.delta_shares, 1, sign=True),
                beta_delta=fmt(row.beta_delta, 1, sign=True),
                beta_delta_dollars=fmt(row.beta_delta_dollars, 0, sign=True),
                positions=sorted(
                    lines.get(row.underlying, []), key=lambda x: (x.account, x.display, x.symbol)
                ),
            )
        )
    return tables


class PortfolioLine(TypedDict):
    """The portfolio's β-weighted delta row: SPY shares (None: an input lacks), its text,
    in dollars, why it is unknown, and how many underlyings."""

    beta_delta: float | None
    text: str
    dollars_text: str
    title: str
    count: int


def portfolio_line(tables: list[UnderlyingTable], snapshot: dict[str, Any]) -> PortfolioLine:
    """The portfolio's β-weighted delta (SPY shares and dollars): "—" when any input lacks."""
    rows = underlying_rows(snapshot, now_ms=0)  # β-Δ does not depend on the clock
    shares = [r.beta_delta for r in rows]
    dollars = [r.beta_delta_dollars for r in rows]
    known = bool(rows) and all(v is not None for v in shares)
    spy, _ = live_mark(BENCHMARK, None, snapshot.get("quotes") or {})
    total = sum(v for v in shares if v is not None) if known else None
    total_dollars = sum(v for v in dollars if v is not None) if known and spy else None
    missing = [underlying_display(r.underlying) for r in rows if r.beta_delta is None]
    return {
        "beta_delta": total,
        "text": fmt(total, 1, sign=True) if rows else fmt(0.0, 1, sign=True),
        "dollars_text": fmt(total_dollars, 0, sign=True) if rows else fmt(0.0, 0, sign=True),
        "title": (
            f"unknown: no β or price for {', '.join(missing)}"
            if missing
            else "the sum of β * underlying price * position delta / SPY price, every account"
        ),
        "count": len(tables),
    }


def graph_choices(snapshot: Mapping[str, object]) -> list[dict[str, str]]:
    """The graph's select: each underlying held (its contract symbol, labelled by its
    display name, in label order), then the β-weighted portfolio."""
    held = {underlying_of(p) for _, p in account_positions(snapshot)} - {""}
    named = sorted((underlying_display(u), u) for u in held)
    return [
        *({"value": u, "label": label} for label, u in named),
        {"value": PORTFOLIO, "label": "Portfolio (β-weighted to SPY)"},
    ]


def default_choice(snapshot: Mapping[str, object], asked: str | None) -> str:
    """The underlying asked (?u=, any spelling of one held: `BTC/USD`, `BTCUSD` where
    Alpaca holds it, `/ESZ6`), if held; else the whole portfolio (β-weighted to SPY): the
    view no broker's own platform gives, and the one the page opens on."""
    if asked is None or asked == PORTFOLIO:
        return PORTFOLIO
    found = resolve_underlying(snapshot, asked)
    values = {c["value"] for c in graph_choices(snapshot)}
    return found.symbol if found is not None and found.symbol in values else PORTFOLIO


def last_expiration(snapshot: Mapping[str, object], choice: str) -> dt.date | None:
    """The date slider's end: the last expiration held (of the underlying, or any for the
    portfolio); None when only stock is held (the API has no `date=expiration` then)."""
    legs = legs_from_snapshot(snapshot, None if choice == PORTFOLIO else choice)
    return max((leg.expiration for leg in legs if leg.expiration is not None), default=None)


def _extreme(value: float | str | None) -> str:
    if value == "unlimited":
        return "unlimited"
    return fmt(value if isinstance(value, int | float) else None)


def strategy_rows(
    snapshot: Mapping[str, object], *, now_ms: int, rate: float
) -> list[dict[str, str]]:
    """The strategies held (streaming/risk/strategies/grouping.py), as the page's list shows them:
    name, account, legs, expirations, greeks, net credit/debit, max profit and loss,
    break-evens, POP and P50 (page/odds_text.py); "—" where one is not defined or an input is
    unknown. The odds are the API's own (risk/odds/answer.py `rows_with_odds`) at `now_ms`
    and `rate`, so a refresh from `GET /api/risk/strategies` reads the same."""
    quotes = snapshot.get("quotes")
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    out = []
    for d in rows_with_odds(
        strategies_of(legs_from_snapshot(snapshot)),
        quotes if isinstance(quotes, Mapping) else {},
        now=now,
        rate=rate,
    ):
        net = d["net"]
        out.append(
            {
                "name": d["name"],
                "underlying": d["underlying"],
                "display": d["display"],
                "account": d["account"],
                "legs": ", ".join(
                    f"{quantity_text(leg['quantity'], sign=True)} {leg['display']}"
                    for leg in d["legs"]
                ),
                "expirations": ", ".join(d["expirations"]) or DASH,
                "delta": fmt(d["greeks"].get("delta"), 1, sign=True),
                "theta": fmt(d["greeks"].get("theta"), 2, sign=True),
                "vega": fmt(d["greeks"].get("vega"), 2, sign=True),
                "net": DASH if net is None else f"{fmt(abs(net))} {d['net_kind']}",
                "max_profit": _extreme(d["max_profit"]),
                "max_loss": _extreme(d["max_loss"]),
                "breakevens": DASH
                if not d["breakevens"]
                else ", ".join(fmt(b) for b in d["breakevens"]),
                **odds_cells(d),
            }
        )
    return out


# -- the portfolio limits beside the portfolio line ------------------------------------------
def band_status(value: float | None, low: float | None, high: float | None) -> tuple[str, str]:
    """Where the β-weighted delta stands against the band (limits/rules.py's crossing rule):
    (state, sentence); state: off | unknown | inside | above | below. Mirrored by
    static/js/risk/limits.js `bandStatus` (the page's live value)."""
    if low is None and high is None:
        return "off", "no band set"
    if value is None:
        return "unknown", "β-weighted delta unknown: the band is not evaluated"
    if high is not None and value > high:
        return "above", f"above the band by {fmt(value - high, 1)} SPY shares"
    if low is not None and value < low:
        return "below", f"below the band by {fmt(low - value, 1)} SPY shares"
    room = min(abs(edge - value) for edge in (low, high) if edge is not None)
    return "inside", f"inside, {fmt(room, 1)} SPY shares from the edge"


def loss_status(day_pnl: float | None, limit: float | None) -> tuple[str, str]:
    """Where the day P&L stands against the daily loss limit (crossed at -limit or below):
    (state, sentence); state: off | unknown | inside | outside. Mirrored by
    static/js/risk/limits.js `lossStatus`."""
    if limit is None:
        return "off", "no daily loss limit"
    if day_pnl is None:
        return "unknown", "day P&L unknown (a price or close missing): not evaluated"
    if day_pnl <= -limit:
        return "outside", f"past the limit by {fmt(-limit - day_pnl)} $"
    return "inside", f"{fmt(day_pnl + limit)} $ before the limit"


def band_text(low: float | None, high: float | None) -> str:
    """ "-100.0 … +300.0", "≥ -100.0", "≤ +300.0" (SPY shares); "—" without a band."""
    if low is not None and high is not None:
        return f"{fmt(low, 1, sign=True)} … {fmt(high, 1, sign=True)}"
    if low is not None:
        return f"≥ {fmt(low, 1, sign=True)}"
    return DASH if high is None else f"≤ {fmt(high, 1, sign=True)}"


class LimitsLine(TypedDict):
    """The limits row: the band and daily loss limit set (None: off), their texts, and
    where the values stand (`band_status`, `loss_status`: state and sentence)."""

    set: bool
    beta_delta_min: float | None
    beta_delta_max: float | None
    daily_loss: float | None
    band_text: str
    beta_delta_text: str
    band_state: str
    band_status: str
    loss_text: str
    day_pnl_text: str
    loss_state: str
    loss_status: str


def limits_line(
    limits: Mapping[str, object], beta_delta: float | None, day_pnl: float | None
) -> LimitsLine:
    """The limits row: the user's band and daily loss limit (limits/store.py's settings)
    with the values they are evaluated on (limits/runner.py `portfolio_values`)."""
    low, high = number(limits.get("beta_delta_min")), number(limits.get("beta_delta_max"))
    loss = number(limits.get("daily_loss"))
    band_state, band_sentence = band_status(beta_delta, low, high)
    loss_state, loss_sentence = loss_status(day_pnl, loss)
    return {
        "set": not (low is None and high is None and loss is None),
        "beta_delta_min": low,
        "beta_delta_max": high,
        "daily_loss": loss,
        "band_text": band_text(low, high),
        "beta_delta_text": fmt(beta_delta, 1, sign=True),
        "band_state": band_state,
        "band_status": band_sentence,
        "loss_text": fmt(loss),
        "day_pnl_text": fmt(day_pnl, sign=True),
        "loss_state": loss_state,
        "loss_status": loss_sentence,
    }
