"""Option chains the sandbox lists: weekly and monthly expirations, strikes around the money."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandbox.core import trading_calendar as cal
from sandbox.core.symbols import OptionSymbol


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (4 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 14)


def _on_trading_day(friday: dt.date) -> dt.date:
    """A Friday expiration moved to the trading day before it when the Friday is an NYSE
    holiday (Good Friday, a Friday Independence Day, Juneteenth, Christmas or New Year's
    Day), as listed options then expire."""
    return friday if cal.is_trading_day(friday) else cal.previous_trading_day(friday)


def listed_expiration(day: dt.date) -> dt.date:
    """The expiration of the week (Monday to Sunday) `day` is in: its Friday, or the
    trading day before a holiday Friday (Good Friday 2027-03-26 -> Thursday 2027-03-25)."""
    return _on_trading_day(day + dt.timedelta(days=4 - day.weekday()))


def monthly_expiration(year: int, month: int) -> dt.date:
    """The month's standard (monthly) expiration: the third Friday, or the trading day
    before it when it is a holiday (Juneteenth 2026-06-19 -> Thursday 2026-06-18)."""
    return _on_trading_day(_third_friday(year, month))


def expiration_type(expiry: dt.date) -> str:
    """ "Regular" for the monthly expiration (also when a holiday moved it off its third
    Friday), "Weekly" for the others. Tradier says "standard" / "weeklys" for the same."""
    return "Regular" if expiry == monthly_expiration(expiry.year, expiry.month) else "Weekly"


def expirations(today: dt.date, weeklies: int = 4, monthlies: int = 3) -> list[dt.date]:
    """The expirations listed on the market date `today` (`trading_calendar.market_date`):
    the next few weeklies plus the next few monthlies, each after `today` and on a trading
    day (a holiday Friday's expiration is the Thursday before)."""
    dates: set[dt.date] = set()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7)
    while len(dates) < weeklies:
        expiry = _on_trading_day(friday)
        if expiry > today:
            dates.add(expiry)
        friday += dt.timedelta(days=7)
    year, month = today.year, today.month
    while len([d for d in dates if expiration_type(d) == "Regular"]) < monthlies:
        monthly = monthly_expiration(year, month)
        if monthly > today:
            dates.add(monthly)
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


#: Underlyings the market quotes but lists no options for (as Berkshire's class A shares):
#: a chain request for them finds none at every broker.
UNOPTIONED = frozenset({"BRK.A"})
#: Strikes listed either side of the money (51 in all: a 40-strike window fits).
STRIKES_EACH_SIDE = 25


def has_options(underlying: str) -> bool:
    """Whether the sandbox lists options on an underlying it quotes."""
    return underlying not in UNOPTIONED


def strikes(price: float, count: int = STRIKES_EACH_SIDE) -> list[Decimal]:
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
                "expiration-type": expiration_type(d),
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


def is_listed(option: OptionSymbol) -> bool:
    """Whether the sandbox lists a contract: its week's expiration (`listed_expiration`: the
    Friday, the Thursday before a holiday Friday) on the half-dollar strike grid. Every
    chain's contracts are listed, and so are the ones a position still holds after the
    price walked its strike off today's chain or the market date passed them; "SPY
    2025-02-20" (a Thursday), Good Friday 2027-03-26 or a strike of 590.25 are not."""
    return option.expiry == listed_expiration(option.expiry) and (option.strike * 2) % 1 == 0


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
