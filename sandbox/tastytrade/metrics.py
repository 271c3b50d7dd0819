"""tastytrade's market metrics (`get_market_metrics`, `get_dividends`, `get_earnings`,
`get_risk_free_rate`), rendered from the core's reference facts.

The IV index is the at-the-money volatility the market prices its options (and their
Greeks) with; beta and shares are its Profile's; the risk-free rate is the pricing's.
Decimals go out as strings and ranks as fractions, as the real API sends them. A coin is
known by its pair (`BTC/USD`, as tastytrade's positions and orders name it; the feed's
`BTC/USD:CXTALP` is no metrics symbol) and lists no option expirations; a future by its
product (`/ES`) or its contract.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import chains
from sandbox.core.fundamentals import Fundamentals, fundamentals
from sandbox.core.market.listings import coin_named, crypto_feed_symbol
from sandbox.core.market.state import RISK_FREE_RATE
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import classify
from sandbox.tastytrade.query import bad_request
from sandbox.tastytrade.rest import authed, data_response, not_found

MAX_SYMBOLS = 500


def _now_iso() -> str:
    """Now, as tastytrade stamps times: ISO-8601 UTC with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _facts(sandbox: Simulation, symbol: str) -> Fundamentals | None:
    """The one adapter to the core's reference data (underlyings: equities, indices,
    futures, coins by their pair)."""
    market_symbol = _market_symbol(symbol)
    if market_symbol is None:
        return None
    return fundamentals(sandbox.market, market_symbol, sandbox.market_date())


def _market_symbol(symbol: str) -> str | None:
    """The market's symbol of a metrics symbol: a coin's pair is its feed symbol
    (`BTC/USD` → `BTC/USD:CXTALP`); a coin in any other spelling is none (None)."""
    coin = coin_named(symbol)
    if coin is None:
        return symbol
    return crypto_feed_symbol(coin) if symbol == coin else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _quarter_end(day: dt.date) -> dt.date:
    """The last calendar quarter end before a report date."""
    month = (day.month - 1) // 3 * 3  # first month of the quarter, minus one
    year = day.year if month else day.year - 1
    month = month or 12
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    return next_month - dt.timedelta(days=1)


def metric_item(
    sandbox: Simulation, facts: Fundamentals, now: str, symbol: str | None = None
) -> dict[str, Any]:
    """One MarketMetricInfo, named `symbol` (the one asked; else the facts')."""
    item: dict[str, Any] = {
        "symbol": symbol or facts.symbol,
        "implied-volatility-index": str(facts.iv_index),
        "implied-volatility-index-5-day-change": str(facts.iv_index_5_day_change),
        "implied-volatility-index-rank": str(facts.iv_rank),
        "tos-implied-volatility-index-rank": str(facts.iv_rank),
        "tw-implied-volatility-index-rank": str(facts.iv_rank),
        "tos-implied-volatility-index-rank-updated-at": now,
        "implied-volatility-index-rank-source": "tos",
        "implied-volatility-percentile": str(facts.iv_percentile),
        "implied-volatility-updated-at": now,
        "implied-volatility-30-day": str(facts.iv_index),
        "historical-volatility-30-day": str(facts.hv_30),
        "historical-volatility-60-day": str(facts.hv_60),
        "historical-volatility-90-day": str(facts.hv_90),
        "iv-hv-30-day-difference": str(facts.iv_index - facts.hv_30),
        "liquidity-value": str(facts.liquidity_value),
        "liquidity-rank": str(facts.liquidity_rank),
        "liquidity-rating": facts.liquidity_rating,
        "updated-at": now,
        "created-at": now,
        "beta": _text(facts.beta),
        "beta-updated-at": now,
        "corr-spy-3month": str(facts.corr_spy_3month),
        "market-cap": str(facts.market_cap),
        "lendability": facts.lendability,
        "borrow-rate": str(facts.borrow_rate),
        "earnings-per-share": _text(facts.eps),
        "price-earnings-ratio": _text(facts.pe_ratio),
        "dividend-rate-per-share": _text(facts.dividend_rate),
        "dividend-yield": _text(facts.dividend_yield),
    }
    if facts.kind not in ("future", "crypto"):
        price = sandbox.market.mid(facts.symbol)
        item["option-expiration-implied-volatilities"] = [
            {
                "expiration-date": day.isoformat(),
                "settlement-type": "PM",
                "option-chain-type": "Standard",
                # the market prices every expiration at the same ATM vol: no term structure
                "implied-volatility": str(facts.iv_index),
            }
            for day in chains.expirations(sandbox.market_date())
            if price > 0
        ]
    if facts.dividends and facts.next_dividend:
        item["dividend-ex-date"] = facts.dividends[0].ex_date.isoformat()
        item["dividend-pay-date"] = facts.dividends[0].pay_date.isoformat()
        item["dividend-next-date"] = facts.next_dividend.ex_date.isoformat()
        item["dividend-updated-at"] = now
    if facts.next_earnings:
        report = facts.next_earnings
        item["earnings"] = {
            "visible": True,
            "expected-report-date": report.report_date.isoformat(),
            "estimated": report.estimated,
            "late-flag": 0,
            "quarter-end-date": _quarter_end(report.report_date).isoformat(),
            "actual-eps": None,
            "consensus-estimate": str(report.eps),
            "time-of-day": report.time_of_day,
            "updated-at": now,
        }
    return {k: v for k, v in item.items() if v is not None}


async def market_metrics(request: Request, sandbox: Simulation, credential: str) -> Response:
    """`?symbols=A,B`: one item per symbol the market has; unknown ones are left out."""
    raw = request.query_params.get("symbols")
    if raw is None:
        return bad_request("Invalid parameters", symbols="is missing")
    symbols = [s.strip() for s in raw.split(",") if s.strip()]
    if len(symbols) > MAX_SYMBOLS:
        return bad_request("Too many symbols", symbols=f"at most {MAX_SYMBOLS}")
    now = _now_iso()
    items = [
        metric_item(sandbox, facts, now, symbol)
        for symbol in dict.fromkeys(symbols)
        if (facts := _facts(sandbox, symbol)) is not None
    ]
    return data_response(request, {"items": items})


async def dividends(request: Request, sandbox: Simulation, credential: str) -> Response:
    """Past dividends, oldest first (none for a stock that pays none)."""
    facts = _facts(sandbox, request.path_params["symbol"])
    if facts is None:
        return not_found("Symbol")
    items = [
        {"occurred-date": d.ex_date.isoformat(), "amount": str(d.amount)}
        for d in reversed(facts.dividends)
    ]
    return data_response(request, {"items": items})


def _date_param(request: Request, name: str) -> dt.date | Response | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return bad_request("Invalid parameter", **{name: "must be a date (YYYY-MM-DD)"})


async def earnings_reports(request: Request, sandbox: Simulation, credential: str) -> Response:
    """Past quarterly reports from `start-date` (required) to `end-date`, oldest first."""
    start = _date_param(request, "start-date")
    end = _date_param(request, "end-date")
    if isinstance(start, Response):
        return start
    if isinstance(end, Response):
        return end
    if start is None:
        return bad_request("Invalid parameters", **{"start-date": "is missing"})
    symbol = request.path_params["symbol"]
    facts = _facts(sandbox, symbol) if classify(symbol) == "equity" else None
    if facts is None:
        return not_found("Symbol")
    items = [
        {"occurred-date": e.report_date.isoformat(), "eps": str(e.eps)}
        for e in reversed(facts.earnings)
        if e.report_date >= start and (end is None or e.report_date <= end)
    ]
    return data_response(request, {"items": items})


async def public_configuration(request: Request) -> Response:
    """Public (no token): the risk-free rate the market prices options with."""
    return data_response(request, {"risk-free-rate": str(RISK_FREE_RATE)})


routes = [
    Route("/market-metrics", authed(market_metrics)),
    Route("/market-metrics/historic-corporate-events/dividends/{symbol:path}", authed(dividends)),
    Route(
        "/market-metrics/historic-corporate-events/earnings-reports/{symbol:path}",
        authed(earnings_reports),
    ),
    Route("/margin-requirements-public-configuration", public_configuration),
]
