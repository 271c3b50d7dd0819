"""Alpaca's option contracts (`/v2/options/contracts`), built from the chains the simulated
market lists (`core/chains.py`) and priced by the market itself: a contract's close price
and open interest are the market's previous close and open interest of that option, so
Alpaca agrees with every other façade.

Only stocks have contracts (Alpaca lists no index options); only today's chain is listed
(no expired contracts: `status=inactive` lists nothing). A contract's id is the same uuid
a position in it carries as `asset_id`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.alpaca.assets import is_stock, known_stocks
from sandbox.alpaca.wire import NOT_FOUND, Refusal, alpaca_symbol, asset_uuid, bad, s, tasty_symbol
from sandbox.core import chains
from sandbox.core.market.listings import option_underlying
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import OptionSymbol, parse_occ_symbol, parse_option_streamer_symbol

LIMIT_DEFAULT, LIMIT_MAX = 100, 10000
_EPOCH = dt.date(1970, 1, 1)


def _key(option: OptionSymbol) -> tuple[str, dt.date, Decimal, str]:
    """The listing order: underlying, expiration, strike, call before put."""
    return (option.underlying, option.expiry, option.strike, option.right)


def _token(option: OptionSymbol) -> str:
    return base64.urlsafe_b64encode(option.occ_symbol.encode()).decode()


def _after_token(token: str) -> OptionSymbol:
    try:
        option = parse_occ_symbol(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        option = None
    if option is None:
        raise bad("invalid page_token")
    return option


def render(sandbox: Simulation, option: OptionSymbol) -> dict[str, Any]:
    """One contract as alpaca-py's `OptionContract`, its numbers from the market."""
    market = sandbox.market
    streamer = option.streamer_symbol
    market.ensure(streamer)
    summary = market.summary(streamer)
    close_day = (_EPOCH + dt.timedelta(days=summary["prevDayId"])).isoformat()
    symbol = alpaca_symbol(option.occ_symbol)
    underlying = option_underlying(option.underlying)
    kind = "Call" if option.is_call else "Put"
    return {
        "id": asset_uuid(symbol),
        "symbol": symbol,
        "name": f"{underlying} {option.expiry:%b %d %Y} {s(option.strike)} {kind}",
        "status": "active",
        "tradable": True,
        "expiration_date": option.expiry.isoformat(),
        "root_symbol": option.underlying,
        "underlying_symbol": underlying,
        "underlying_asset_id": asset_uuid(underlying),
        "type": kind.lower(),
        "style": "american",
        "strike_price": s(option.strike),
        "multiplier": "100",
        "size": "100",
        "open_interest": str(summary["openInterest"]),
        "open_interest_date": close_day,
        "close_price": s(Decimal(str(market.prev_close(streamer)))),
        "close_price_date": close_day,
    }


def chain(sandbox: Simulation, underlying: str) -> list[OptionSymbol]:
    """Today's chain of a stock (empty for anything Alpaca would not list)."""
    if not is_stock(sandbox, underlying):
        return []
    return chains.chain_options(underlying, sandbox.market.mid(underlying), sandbox.market_date())


def _date(params: Any, name: str) -> dt.date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise bad(f"{name} must be a date (YYYY-MM-DD)") from None


def _strike(params: Any, name: str) -> Decimal | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise bad(f"{name} must be a number") from None
    if not value.is_finite():
        raise bad(f"{name} must be a number")
    return value


def _limit(params: Any) -> int:
    try:
        limit = int(params.get("limit") or LIMIT_DEFAULT)
    except ValueError:
        raise bad("limit must be an integer") from None
    if not 0 < limit <= LIMIT_MAX:
        raise bad(f"limit must be between 1 and {LIMIT_MAX}")
    return limit


def _choice(params: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in allowed:
        raise bad(f"{name} must be one of {', '.join(allowed)}")
    return value


def select(sandbox: Simulation, params: Any) -> dict[str, Any]:
    """`GET /options/contracts`: `underlying_symbols` (comma-separated; default every stock
    the market has registered), `root_symbol`, `status`, `expiration_date`,
    `expiration_date_gte`/`_lte`, `type`, `style`, `strike_price_gte`/`_lte`, `limit`
    (100, at most 10000) and `page_token` (`next_page_token` of the previous page)."""
    status = _choice(params, "status", ("active", "inactive")) or "active"
    kind = _choice(params, "type", ("call", "put"))
    style = _choice(params, "style", ("american", "european"))
    on, since, until = (_date(params, f"expiration_date{x}") for x in ("", "_gte", "_lte"))
    low, high = _strike(params, "strike_price_gte"), _strike(params, "strike_price_lte")
    limit = _limit(params)
    after = _after_token(params["page_token"]) if params.get("page_token") else None
    root = (params.get("root_symbol") or "").strip().upper() or None
    wanted = [u.strip().upper() for u in params.get("underlying_symbols", "").split(",")]
    underlyings = [u for u in wanted if u]
    if not underlyings:
        underlyings = [option_underlying(root)] if root else known_stocks(sandbox)
    if status != "active" or style == "european":
        return {"option_contracts": [], "next_page_token": None}
    found = [
        o
        for u in dict.fromkeys(underlyings)
        for o in chain(sandbox, u)
        if (root is None or o.underlying == root)
        and (kind is None or o.right == kind[0].upper())
        and (on is None or o.expiry == on)
        and (since is None or o.expiry >= since)
        and (until is None or o.expiry <= until)
        and (low is None or o.strike >= low)
        and (high is None or o.strike <= high)
        and (after is None or _key(o) > _key(after))
    ]
    found.sort(key=_key)
    page = found[:limit]
    more = len(found) > limit
    return {
        "option_contracts": [render(sandbox, o) for o in page],
        "next_page_token": _token(page[-1]) if more else None,
    }


def _listed(sandbox: Simulation, option: OptionSymbol | None) -> bool:
    return (
        option is not None
        and chains.is_listed(option)
        and option.expiry >= sandbox.market_date()
        and is_stock(sandbox, option_underlying(option.underlying))
        and sandbox.market.ensure(option.streamer_symbol)
    )


def lookup(sandbox: Simulation, key: str) -> dict[str, Any]:
    """One contract by symbol (OCC, padded or not) or by id; 404 when not listed."""
    option = parse_occ_symbol(tasty_symbol(key))
    if option is not None:
        if _listed(sandbox, option):
            return render(sandbox, option)
        raise Refusal(404, NOT_FOUND, "option contract not found")
    wanted = key.strip().lower()
    seen = [parse_option_streamer_symbol(s) for s in sandbox.market.symbols]
    stocks = [c for u in known_stocks(sandbox) for c in chain(sandbox, u)]
    for candidate in (*seen, *stocks):
        if candidate is None or asset_uuid(alpaca_symbol(candidate.occ_symbol)) != wanted:
            continue
        if _listed(sandbox, candidate):
            return render(sandbox, candidate)
    raise Refusal(404, NOT_FOUND, "option contract not found")
