"""Tradier's option chains in the one shape (chains.py): `/v1/markets/options/expirations`
and `/v1/markets/options/chains?greeks=true` (one expiration, with quotes and greeks that
Tradier recomputes hourly), through one token.

Each fetch goes through the cluster-wide cache (market_data_cache.py: one broker fetch
per key and TTL) and takes a slot of the token's market-data pacing window first
(paced.py; the candle history shares that window: `tradier_market_bucket`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from streaming.brokers.chains import (
    PRICE_TTL,
    ChainSide,
    ChainValues,
    StrikeRow,
    chain_side,
    dte,
    mid_or_last,
    new_york_today,
)
from streaming.brokers.market_data_cache import FetchFailed, MarketDataCache, cache_key
from streaming.brokers.paced import paced, secret_tag
from streaming.brokers.rate_limit import BrokerPacing
from streaming.brokers.tradier.client import as_list
from streaming.brokers.tradier.payloads import TradierChainRow
from streaming.brokers.values import num, time_ms
from streaming.instruments.symbols import NEW_YORK

#: Tradier's documented market-data limits per token.
TRADIER_PER_MINUTE = 120
TRADIER_PAPER_PER_MINUTE = 60


def tradier_market_bucket(token: str, env: str) -> tuple[str, int]:
    """The pacing bucket of a Tradier token's market-data calls (chains, history: one
    limit for both) and its per-minute limit."""
    paper = env == "sandbox.tradier.com"
    per_minute = TRADIER_PAPER_PER_MINUTE if paper else TRADIER_PER_MINUTE
    return f"tradier:market:{secret_tag(token)}", per_minute


class TradierChains:
    """Chains through one Tradier token; `get` is the adapter's REST call, paced and
    cached in the process's `pacing` and `cache`."""

    greeks_source = "chain"

    def __init__(
        self,
        get: Callable[[str, dict[str, str]], Awaitable[Any]],
        token: str,
        env: str,
        ttl: float,
        *,
        pacing: BrokerPacing,
        cache: MarketDataCache,
    ):
        self._get = get
        self._pacing = pacing
        self._cache = cache
        self._bucket, self._per_minute = tradier_market_bucket(token, env)
        self._env = env
        self._ttl = ttl

    async def _call(self, path: str, params: dict[str, str], what: str) -> Any:
        return await paced(
            self._pacing, self._bucket, self._per_minute, lambda: self._get(path, params), what
        )

    async def expirations(self, symbol: str) -> tuple[list[dict[str, Any]], int]:
        async def fetch() -> list[dict[str, str]]:
            params = {"symbol": symbol, "expirationType": "true"}
            body = await self._call("/v1/markets/options/expirations", params, symbol)
            wrapper = (body or {}).get("expirations") if isinstance(body, dict) else None
            items = as_list(wrapper.get("expiration") if isinstance(wrapper, dict) else None)
            dates = [
                {
                    "date": str(i["date"]),
                    "type": _TRADIER_TYPES.get(str(i.get("expiration_type")), "Weekly"),
                }
                for i in items
                if isinstance(i, dict) and i.get("date")
            ]
            if not dates:
                raise FetchFailed("no_options", f"the broker lists no options for {symbol}", 404)
            return dates

        dates, at = await self._cache.cached(
            cache_key("tradier", self._env, symbol), fetch, ttl=self._ttl
        )
        today = new_york_today()
        return [{**d, "dte": dte(d["date"], today)} for d in dates], at

    async def raw_rows(self, symbol: str, expiration: str) -> tuple[list[TradierChainRow], int]:
        """Tradier's chain rows with greeks, as it sends them (the greeks loop reads them)."""

        async def fetch() -> list[TradierChainRow]:
            params = {"symbol": symbol, "expiration": expiration, "greeks": "true"}
            body = await self._call("/v1/markets/options/chains", params, f"{symbol} {expiration}")
            wrapper = (body or {}).get("options") if isinstance(body, dict) else None
            rows = as_list(wrapper.get("option") if isinstance(wrapper, dict) else None)
            # the edge: Tradier's JSON objects as the chain rows they are
            return [cast(TradierChainRow, r) for r in rows if isinstance(r, dict)]

        key = cache_key("tradier", self._env, symbol, expiration)
        return await self._cache.cached(key, fetch, ttl=self._ttl)

    async def strikes(self, symbol: str, expiration: str) -> dict[str, Any]:
        rows, at = await self.raw_rows(symbol, expiration)
        by_strike: dict[float, StrikeRow] = {}
        multiplier = 100
        for row in rows:
            strike = num(row.get("strike"))
            right = row.get("option_type")
            if strike is None or right not in ("call", "put") or not row.get("symbol"):
                continue
            multiplier = int(num(row.get("contract_size")) or multiplier)
            side: ChainSide = {**chain_side(str(row["symbol"])), **tradier_values(row)}
            strike_row = by_strike.setdefault(float(strike), {"strike": float(strike)})
            if right == "call":
                strike_row["call"] = side
            else:
                strike_row["put"] = side
        out = [r for _, r in sorted(by_strike.items()) if "call" in r and "put" in r]
        return {"multiplier": multiplier, "rows": out, "fetched_at": at}

    async def underlying_price(self, symbol: str) -> float | None:
        async def fetch() -> float | None:
            body = await self._call("/v1/markets/quotes", {"symbols": symbol}, symbol)
            quotes = (body or {}).get("quotes") if isinstance(body, dict) else None
            items = as_list(quotes.get("quote") if isinstance(quotes, dict) else None)
            item = next(
                (q for q in items if isinstance(q, dict) and q.get("symbol") == symbol), None
            )
            if item is None:
                return None
            return mid_or_last(num(item.get("bid")), num(item.get("ask")), num(item.get("last")))

        value, _ = await self._cache.cached(
            cache_key("price", "tradier", self._env, symbol), fetch, ttl=PRICE_TTL
        )
        return value


def tradier_values(row: TradierChainRow) -> ChainValues:
    """A Tradier chain row's values in the chain's side shape (greeks as of `greeks_t`)."""
    g = row.get("greeks") if isinstance(row.get("greeks"), dict) else {}
    bid, ask = num(row.get("bid")), num(row.get("ask"))
    return {
        "bid": bid,
        "ask": ask,
        "last": num(row.get("last")),
        "volume": num(row.get("volume")),
        "open_interest": num(row.get("open_interest")),
        "iv": (num(g.get("mid_iv")) or num(g.get("smv_vol"))) if g else None,
        "delta": num(g.get("delta")) if g else None,
        "gamma": num(g.get("gamma")) if g else None,
        "theta": num(g.get("theta")) if g else None,
        "vega": num(g.get("vega")) if g else None,
        "greeks_t": time_ms(g.get("updated_at"), zone=NEW_YORK) if g else None,
        "quote_t": max(
            (t for t in (time_ms(row.get("bid_date")), time_ms(row.get("ask_date"))) if t),
            default=None,
        ),
    }


#: Tradier's expiration types in tastytrade's words.
_TRADIER_TYPES = {"standard": "Regular", "weeklys": "Weekly", "quarterlys": "Quarterly"}
