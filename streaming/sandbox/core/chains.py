"""Option chains the sandbox lists: weekly and monthly expirations, strikes around the money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .symbols import OptionSymbol


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def expirations(today: dt.date, weeklies: int = 4, monthlies: int = 3) -> list[dt.date]:
    """The next few Friday weeklies plus the next few monthly (third-Friday) expirations."""
    dates: set[dt.date] = set()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    if friday == today:
        friday += dt.timedelta(days=7)
    for i in range(weeklies):
        dates.add(friday + dt.timedelta(days=7 * i))
    year, month = today.year, today.month
    while len([d for d in dates if d == _third_friday(d.year, d.month)]) < monthlies:
        third = _third_friday(year, month)
        if third > today:
            dates.add(third)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return sorted(dates)


def strike_step(price: float) -> Decimal:
    if price < 25:
        return Decimal("0.5")
    if price < 250:
        return Decimal("1")
    if price < 1000:
        return Decimal("5")
    return Decimal("25")


def strikes(price: float, count: int = 10) -> list[Decimal]:
    """`count` strikes either side of the money, on the instrument's strike grid."""
    step = strike_step(price)
    atm = (Decimal(str(price)) / step).quantize(Decimal("1")) * step
    return [atm + step * i for i in range(-count, count + 1) if atm + step * i > 0]


def _strike_text(strike: Decimal) -> str:
    return format(strike.normalize(), "f")


def option_symbols(underlying: str, expiry: dt.date, strike: Decimal) -> dict[str, str]:
    call = OptionSymbol(underlying, expiry, "C", strike)
    put = OptionSymbol(underlying, expiry, "P", strike)
    return {
        "call": call.occ_symbol,
        "put": put.occ_symbol,
        "call-streamer-symbol": call.streamer_symbol,
        "put-streamer-symbol": put.streamer_symbol,
    }


def nested_chain(underlying: str, price: float, today: dt.date) -> dict[str, Any]:
    """The `/option-chains/{sym}/nested` item for an underlying."""
    grid = strikes(price)
    return {
        "underlying-symbol": underlying,
        "root-symbol": underlying,
        "option-chain-type": "Standard",
        "shares-per-contract": 100,
        "tick-sizes": [{"value": "0.01", "threshold": "3.0"}, {"value": "0.05"}],
        "deliverables": [],
        "expirations": [
            {
                "expiration-type": "Regular" if d == _third_friday(d.year, d.month) else "Weekly",
                "expiration-date": d.isoformat(),
                "days-to-expiration": (d - today).days,
                "settlement-type": "PM",
                "strikes": [
                    {"strike-price": _strike_text(k), **option_symbols(underlying, d, k)}
                    for k in grid
                ],
            }
            for d in expirations(today)
        ],
    }


def expiration_type(expiry: dt.date) -> str:
    """ "Regular" for the monthly (third-Friday) expiration, "Weekly" for the others."""
    return "Regular" if expiry == _third_friday(expiry.year, expiry.month) else "Weekly"


def is_listed(option: OptionSymbol) -> bool:
    """Whether the sandbox lists a contract: a Friday expiration on the half-dollar strike
    grid. Every chain's contracts are listed, and so are the ones a position still holds
    after the price walked its strike off today's chain; "SPY 2025-02-20" or a strike of
    590.25 are not."""
    return option.expiry.weekday() == 4 and (option.strike * 2) % 1 == 0


def option_instrument(option: OptionSymbol, today: dt.date, underlying: str) -> dict[str, Any]:
    """One equity option as tastytrade's Option object (the flat chain's items)."""
    d = option.expiry
    expired = d < today
    return {
        "instrument-type": "Equity Option",
        "symbol": option.occ_symbol,
        "streamer-symbol": option.streamer_symbol,
        "active": not expired,
        "strike-price": _strike_text(option.strike),
        "root-symbol": option.underlying,
        "underlying-symbol": underlying,
        "expiration-date": d.isoformat(),
        "exercise-style": "American",
        "shares-per-contract": 100,
        "option-type": option.right,
        "option-chain-type": "Standard",
        "expiration-type": expiration_type(d),
        "settlement-type": "PM",
        "stops-trading-at": f"{d.isoformat()}T20:15:00.000+00:00",
        "expires-at": f"{d.isoformat()}T20:15:00.000+00:00",
        "market-time-instrument-collection": "Equity Option",
        "days-to-expiration": max(0, (d - today).days),
        "is-closing-only": expired,
    }


def chain_options(underlying: str, price: float, today: dt.date) -> list[OptionSymbol]:
    """Every contract the chain lists today: each expiration x strike, call then put."""
    return [
        OptionSymbol(underlying, d, right, k)
        for d in expirations(today)
        for k in strikes(price)
        for right in ("C", "P")
    ]


def flat_chain(underlying: str, price: float, today: dt.date) -> list[dict[str, Any]]:
    """The `/option-chains/{sym}` items: one Option object per call and put."""
    return [
        option_instrument(option, today, underlying)
        for option in chain_options(underlying, price, today)
    ]
