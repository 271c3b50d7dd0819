"""tastytrade's option chains in the one shape (chains.py): the unmodified SDK's
`NestedOptionChain` (every expiration and strike of an underlying in one call), the
options' values from its market-data snapshot, through one session (the owner's).

Each fetch goes through the cluster-wide cache (market_data_cache.py: one broker fetch
per key and TTL) and takes a slot of the credential's pacing window first (paced.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

from tastytrade import Session
from tastytrade.instruments import NestedOptionChain
from tastytrade.market_data import get_market_data, get_market_data_by_type
from tastytrade.order import InstrumentType

from streaming.brokers.chains import (
    PRICE_TTL,
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
from streaming.brokers.values import num, time_ms

#: tastytrade publishes no REST rate limit: one call a second per credential is a
#: conservative pace for reference data (chains are cached for minutes anyway).
TASTYTRADE_PER_MINUTE = 60
#: tastytrade's market-data snapshot of a chain's options (bid, ask, volume, open
#: interest: DXLink's Quote carries neither volume nor open interest) is reused this long.
MARKET_DATA_TTL = 30.0
#: tastytrade's market-data endpoint takes at most this many symbols per call.
MARKET_DATA_BATCH = 100


class NestedExpiration(TypedDict):
    """One expiration of the nested chain: its type (tastytrade's words) and its strike
    rows, each side with tastytrade's `wire` symbol."""

    type: str
    rows: list[StrikeRow]


class NestedChain(TypedDict):
    """The nested chain as cached: the deliverable per contract and each expiration
    (YYYY-MM-DD) with its rows."""

    multiplier: int
    expirations: dict[str, NestedExpiration]


class FetchedChain(NestedChain):
    """The nested chain with when it was fetched (ms)."""

    fetched_at: int


class TastytradeChains:
    """Chains through one tastytrade session (the owner's), paced and cached in the
    process's `pacing` and `cache`."""

    greeks_source = "stream"

    def __init__(
        self,
        session: Callable[[], Session | None],
        secret: str,
        env: str,
        ttl: float,
        *,
        pacing: BrokerPacing,
        cache: MarketDataCache,
    ):
        self._session = session
        self._pacing = pacing
        self._cache = cache
        self._bucket = f"tastytrade:{secret_tag(secret)}"
        self._env = env
        self._ttl = ttl

    def _live_session(self) -> Session:
        session = self._session()
        if session is None:
            raise FetchFailed("broker_error", "the tastytrade session is not up yet", 503, 2)
        return session

    async def _nested(self, symbol: str) -> FetchedChain:
        """The nested chain (every expiration) as plain data, cached per underlying."""

        async def fetch() -> NestedChain:
            session = self._live_session()
            chains = await paced(
                self._pacing,
                self._bucket,
                TASTYTRADE_PER_MINUTE,
                lambda: NestedOptionChain.get(session, symbol),
                symbol,
            )
            chain = next((c for c in chains if c.underlying_symbol == symbol), None)
            if chain is None and chains:
                chain = chains[0]
            if chain is None or not chain.expirations:
                raise FetchFailed("no_options", f"the broker lists no options for {symbol}", 404)
            return {
                "multiplier": chain.shares_per_contract,
                "expirations": {
                    e.expiration_date.isoformat(): {
                        "type": e.expiration_type,
                        "rows": [
                            {
                                "strike": float(s.strike_price),
                                "call": {
                                    **chain_side(s.call, s.call_streamer_symbol),
                                    "wire": s.call,
                                },
                                "put": {**chain_side(s.put, s.put_streamer_symbol), "wire": s.put},
                            }
                            for s in sorted(e.strikes, key=lambda s: s.strike_price)
                        ],
                    }
                    for e in chain.expirations
                },
            }

        key = cache_key("tastytrade", self._env, symbol)
        value: NestedChain  # the cache's copy of what `fetch` returned
        value, at = await self._cache.cached(key, fetch, ttl=self._ttl)
        return {**value, "fetched_at": at}

    async def expirations(self, symbol: str) -> tuple[list[dict[str, Any]], int]:
        nested = await self._nested(symbol)
        today = new_york_today()
        dates = [
            {"date": d, "type": e["type"], "dte": dte(d, today)}
            for d, e in sorted(nested["expirations"].items())
        ]
        return dates, nested["fetched_at"]

    async def strikes(self, symbol: str, expiration: str) -> dict[str, Any]:
        nested = await self._nested(symbol)
        entry = nested["expirations"].get(expiration)
        rows = entry["rows"] if entry else []
        values = await self._market_data(symbol, expiration, rows) if rows else {}
        rows = [
            {
                "strike": r["strike"],
                "call": {**r["call"], **values.get(r["call"]["occ"], {})},
                "put": {**r["put"], **values.get(r["put"]["occ"], {})},
            }
            for r in rows
        ]
        return {
            "multiplier": nested["multiplier"],
            "rows": rows,
            "fetched_at": nested["fetched_at"],
        }

    async def _market_data(
        self, symbol: str, expiration: str, rows: Sequence[Mapping[str, Any]]
    ) -> dict[str, ChainValues]:
        """occ -> {bid, ask, last, volume, open_interest, quote_t} from tastytrade's
        market-data snapshot (shared for MARKET_DATA_TTL). Best effort: the structure is
        served without it, and DXLink fills bid/ask at once."""
        wires = [r[side]["wire"] for r in rows for side in ("call", "put")]

        async def fetch() -> dict[str, ChainValues]:
            session = self._live_session()
            out: dict[str, ChainValues] = {}
            for i in range(0, len(wires), MARKET_DATA_BATCH):
                batch = wires[i : i + MARKET_DATA_BATCH]
                items = await paced(
                    self._pacing,
                    self._bucket,
                    TASTYTRADE_PER_MINUTE,
                    functools.partial(get_market_data_by_type, session, options=batch),
                    f"{symbol} {expiration}",
                )
                for item in items:
                    out[item.symbol.replace(" ", "")] = {
                        "bid": num(item.bid),
                        "ask": num(item.ask),
                        "last": num(item.last),
                        "volume": num(item.volume),
                        "open_interest": num(item.open_interest),
                        "quote_t": time_ms(item.updated_at),
                    }
            return out

        key = cache_key("tastytrade-md", self._env, symbol, expiration)
        try:
            values, _ = await self._cache.cached(key, fetch, ttl=MARKET_DATA_TTL)
        except (FetchFailed, TimeoutError):
            return {}
        return values

    async def underlying_price(self, symbol: str) -> float | None:
        async def fetch() -> float | None:
            session = self._live_session()
            data = await paced(
                self._pacing,
                self._bucket,
                TASTYTRADE_PER_MINUTE,
                lambda: get_market_data(session, symbol, InstrumentType.EQUITY),
                symbol,
            )
            return mid_or_last(num(data.bid), num(data.ask), num(data.last) or num(data.mark))

        value, _ = await self._cache.cached(
            cache_key("price", "tastytrade", self._env, symbol), fetch, ttl=PRICE_TTL
        )
        return value
