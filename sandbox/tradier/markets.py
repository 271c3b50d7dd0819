"""Tradier's market-data reference endpoints: option expirations (with their documented
flags), strikes, the clock, the calendar, symbol look-ups, daily history and time and sales.

Prices come from the shared market (core/market/walk.py) and bars from core/bars.py, which
builds them around the market's own day figures: the last bar closes at the quote's
`last`, the day before closes at its `prevclose`. Days and hours come from
core/trading_calendar.py (New York time, NYSE holidays).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import chains
from sandbox.core import trading_calendar as cal
from sandbox.core.bars import Bar, History, day_figures
from sandbox.core.market.listings import listed_symbols
from sandbox.core.symbols import OptionSymbol, parse_occ_symbol
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint
from sandbox.tradier.wire import PREFIX, collapse, errors, occ_symbol, render

#: Option roots besides the underlying's own (weeklies of index options).
EXTRA_ROOTS = {"SPX": "SPXW", "NDX": "NDXP", "RUT": "RUTW", "VIX": "VIXW"}
#: Time-and-sales intervals (minutes) and how many days back each one reaches.
TIMESALES = {"1min": (1, 20), "5min": (5, 40), "15min": (15, 40)}
HISTORY_INTERVALS = ("daily", "weekly", "monthly")


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").strip().lower() == "true"


def _now(facade: TradierSandbox) -> dt.datetime:
    """The sandbox's clock in New York time."""
    return dt.datetime.fromtimestamp(facade.sandbox.now(), cal.NEW_YORK)


def _standard(day: dt.date) -> bool:
    """The monthly expiration (Tradier's `standard`), also when a holiday moved it."""
    return chains.expiration_type(day) == "Regular"


def _underlying(facade: TradierSandbox, symbol: str) -> str | None:
    """The symbol if it is a valid underlying (not an option) with listed options, else
    None."""
    symbol = symbol.strip().upper()
    if not symbol or parse_occ_symbol(symbol) or not chains.has_options(symbol):
        return None
    if facade.market_symbol(symbol) is None:
        return None
    return symbol


def _dates(facade: TradierSandbox, symbol: str, all_roots: bool) -> list[tuple[dt.date, str]]:
    """(expiration, root) pairs: an index's weeklies trade under its extra root and are
    only listed with includeAllRoots, as at Tradier."""
    out = []
    for day in chains.expirations(facade.sandbox.market_date()):
        if symbol in EXTRA_ROOTS and not _standard(day):
            if all_roots:
                out.append((day, EXTRA_ROOTS[symbol]))
        else:
            out.append((day, symbol))
    return out


def _strike_list(facade: TradierSandbox, symbol: str) -> list[float]:
    """The strikes the chain lists right now (the same grid as /options/chains)."""
    return [float(k) for k in chains.strikes(facade.sandbox.market.mid(symbol))]


# -- options reference ---------------------------------------------------------------------
async def expirations(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Dates only, or with strikes/contractSize/expirationType one object per date."""
    symbol = _underlying(facade, request.query_params.get("symbol", ""))
    if symbol is None:
        return render(request, {"expirations": None})
    dates = _dates(facade, symbol, _flag(request, "includeAllRoots"))
    want_strikes = _flag(request, "strikes")
    want_size = _flag(request, "contractSize")
    want_type = _flag(request, "expirationType")
    if not (want_strikes or want_size or want_type):
        return render(
            request, {"expirations": {"date": collapse([d.isoformat() for d, _ in dates])}}
        )
    strikes = _strike_list(facade, symbol) if want_strikes else []
    items = []
    for day, _root in dates:
        item: dict[str, Any] = {"date": day.isoformat()}
        if want_size:
            item["contract_size"] = 100
        if want_type:
            item["expiration_type"] = "standard" if _standard(day) else "weeklys"
        if want_strikes:
            item["strikes"] = {"strike": collapse(strikes)}
        items.append(item)
    return render(request, {"expirations": {"expiration": collapse(items)}})


async def strikes(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    symbol = _underlying(facade, request.query_params.get("symbol", ""))
    try:
        expiry = dt.date.fromisoformat(request.query_params.get("expiration", ""))
    except ValueError:
        return errors(request, "expiration must be YYYY-MM-DD")
    listed = (
        {d for d, _ in _dates(facade, symbol, _flag(request, "includeAllRoots"))}
        if symbol
        else set()
    )
    if symbol is None or expiry not in listed:
        return render(request, {"strikes": None})
    return render(request, {"strikes": {"strike": collapse(_strike_list(facade, symbol))}})


async def options_lookup(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Every option symbol of an underlying, grouped by root (a plain JSON list)."""
    symbol = _underlying(facade, request.query_params.get("underlying", ""))
    if symbol is None:
        return render(request, {"symbols": None})
    grid = chains.strikes(facade.sandbox.market.mid(symbol))
    roots: dict[str, list[str]] = {symbol: []}  # the underlying's own root first
    for day, root in _dates(facade, symbol, True):
        for strike in grid:
            for right in ("C", "P"):
                occ = OptionSymbol(root, day, right, Decimal(strike)).occ_symbol
                roots.setdefault(root, []).append(occ.replace(" ", ""))
    return render(
        request, {"symbols": [{"rootSymbol": r, "options": o} for r, o in roots.items() if o]}
    )


async def option_chains(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Every strike's call and put of one expiration, under the root that date trades as
    (an index's weeklies under SPXW, NDXP, ...), with greeks when asked for."""
    symbol = _underlying(facade, request.query_params.get("symbol", ""))
    greeks = _flag(request, "greeks")
    facade.sandbox.counters["tradier_chain_requests"] += 1
    c.chain_requests += 1
    try:
        expiry = dt.date.fromisoformat(request.query_params.get("expiration", ""))
    except ValueError:
        return errors(request, "expiration must be YYYY-MM-DD")
    # per chain too, so a test can count the fetches of one (underlying, expiration)
    facade.sandbox.counters[f"tradier_chain_requests:{symbol}:{expiry.isoformat()}"] += 1
    root = dict(_dates(facade, symbol, True)).get(expiry) if symbol else None
    if symbol is None or root is None:
        return render(request, {"options": None})
    market = facade.sandbox.market
    rows = []
    for strike in chains.strikes(market.mid(symbol)):
        for right in ("C", "P"):
            option = OptionSymbol(root, expiry, right, Decimal(strike))
            if market.ensure(option.streamer_symbol):
                rows.append(facade.quote_item(occ_symbol(option), option.streamer_symbol, greeks))
    return render(request, {"options": {"option": collapse(rows)}})


# -- clock and calendar --------------------------------------------------------------------
async def clock(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    now = _now(facade)
    state = cal.clock(now)
    return render(
        request,
        {
            "clock": {
                "date": state.date.isoformat(),
                "description": state.description,
                "state": state.state,
                "timestamp": int(now.timestamp()),
                "next_change": f"{state.next_change:%H:%M}",
                "next_state": state.next_state,
            }
        },
    )


def _calendar_day(day: dt.date) -> dict[str, Any]:
    hours = cal.session(day)
    if hours is None:
        holiday = cal.holidays(day.year).get(day)
        text = f"Market is closed for {holiday}" if holiday else "Market is closed"
        return {"date": day.isoformat(), "status": "closed", "description": text}
    span = {
        name: {"start": f"{a:%H:%M}", "end": f"{b:%H:%M}"}
        for name, (a, b) in (
            ("premarket", hours.premarket),
            ("open", hours.open),
            ("postmarket", hours.postmarket),
        )
    }
    return {"date": day.isoformat(), "status": "open", "description": "Market is open", **span}


async def calendar(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    today = _now(facade).date()
    try:
        month = int(request.query_params.get("month") or today.month)
        year = int(request.query_params.get("year") or today.year)
        first = dt.date(year, month, 1)
    except ValueError:
        return errors(request, "month must be MM (01-12) and year YYYY")
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    days = [_calendar_day(first + dt.timedelta(days=i)) for i in range((following - first).days)]
    return render(request, {"calendar": {"month": month, "year": year, "days": {"day": days}}})


# -- symbol look-up ------------------------------------------------------------------------
def _security_type(description: str, index: bool) -> str:
    if index:
        return "index"
    return "etf" if "ETF" in description or "Trust" in description else "stock"


async def lookup(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """Listed symbols whose ticker starts with, or whose name contains, `q`."""
    query = request.query_params.get("q", "").strip().upper()
    types = {t.strip() for t in request.query_params.get("types", "").split(",") if t.strip()}
    exchanges = {
        e.strip().upper() for e in request.query_params.get("exchanges", "").split(",") if e.strip()
    }
    found = []
    for symbol, description, index in listed_symbols():
        if query and not (symbol.startswith(query) or query in description.upper()):
            continue
        kind = _security_type(description, index)
        if (types and kind not in types) or (exchanges and "Q" not in exchanges):
            continue
        found.append({"symbol": symbol, "exchange": "Q", "type": kind, "description": description})
    return render(request, {"securities": {"security": collapse(found)} if found else None})


# -- bars ----------------------------------------------------------------------------------
def _history_of(facade: TradierSandbox, raw: str) -> History | None:
    """The bar source of a Tradier symbol (ticker or OCC option), or None if unknown."""
    symbol = raw.strip().upper()
    name = facade.market_symbol(symbol)
    if name is None:
        return None
    figures = day_figures(facade.sandbox.market, name)
    option = parse_occ_symbol(symbol) is not None
    return History(facade.sandbox.config.seed, name, figures, _now(facade), option)


def _money(value: float) -> float:
    return round(value, 4)


def _day_row(bar: Bar) -> dict[str, Any]:
    return {
        "date": bar.start.date().isoformat(),
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }


def _timesale_row(bar: Bar) -> dict[str, Any]:
    return {
        "time": bar.start.strftime("%Y-%m-%dT%H:%M:%S"),
        "timestamp": int(bar.start.timestamp()),
        "price": _money((bar.open + bar.high + bar.low + bar.close) / 4),
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
        "vwap": _money((bar.high + bar.low + bar.close) / 3),
    }


async def history(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    interval = request.query_params.get("interval", "daily").strip().lower()
    if interval not in HISTORY_INTERVALS:
        return errors(request, f"Invalid interval: {interval}. One of: daily, weekly, monthly")
    today = _now(facade).date()
    try:
        start = dt.date.fromisoformat(request.query_params.get("start") or "1900-01-01")
        end = dt.date.fromisoformat(request.query_params.get("end") or today.isoformat())
    except ValueError:
        return errors(request, "start and end must be YYYY-MM-DD")
    source = _history_of(facade, request.query_params.get("symbol", ""))
    if source is None:
        return render(request, {"history": None})
    bars = getattr(source, interval)(start, end)
    if not bars:
        return render(request, {"history": None})
    return render(request, {"history": {"day": collapse([_day_row(b) for b in bars])}})


def _moment(text: str, default: dt.datetime, *, end: bool = False) -> dt.datetime:
    """`YYYY-MM-DD HH:MM` in New York time; a bare date is the start of that day (or, for
    an `end`, its last minute); ValueError if neither."""
    if not text:
        return default
    text = text.strip().replace("T", " ")
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        parsed = dt.datetime.combine(
            dt.date.fromisoformat(text), dt.time(23, 59) if end else dt.time(0)
        )
    return parsed.replace(tzinfo=cal.NEW_YORK)


async def timesales(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    interval = request.query_params.get("interval", "tick").strip().lower()
    if interval not in TIMESALES:
        return errors(request, f"Invalid interval: {interval}. One of: 1min, 5min, 15min")
    minutes, reach = TIMESALES[interval]
    now = _now(facade)
    live = cal.current_session_day(now)
    session = cal.session(live)
    assert session is not None
    try:
        start = _moment(request.query_params.get("start", ""), session.at(session.open[0]))
        end = _moment(request.query_params.get("end", ""), now, end=True)
    except ValueError:
        return errors(request, "start and end must be YYYY-MM-DD HH:MM")
    source = _history_of(facade, request.query_params.get("symbol", ""))
    if source is None:
        return render(request, {"series": None})
    oldest = live - dt.timedelta(days=reach * 7 // 5)
    start = max(start, dt.datetime.combine(oldest, dt.time(0), tzinfo=cal.NEW_YORK))
    bars = source.intraday(minutes, start, end)
    if not bars:
        return render(request, {"series": None})
    return render(request, {"series": {"data": collapse([_timesale_row(b) for b in bars])}})


routes = [
    Route(f"{PREFIX}/v1/markets/options/expirations", endpoint(expirations), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/options/strikes", endpoint(strikes), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/options/lookup", endpoint(options_lookup), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/options/chains", endpoint(option_chains), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/clock", endpoint(clock), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/calendar", endpoint(calendar), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/lookup", endpoint(lookup), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/history", endpoint(history), methods=["GET"]),
    Route(f"{PREFIX}/v1/markets/timesales", endpoint(timesales), methods=["GET"]),
]
