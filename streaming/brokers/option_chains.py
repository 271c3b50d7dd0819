"""Option chain structure from each broker, in one shape, shared and paced.

tastytrade: the unmodified SDK's `NestedOptionChain` (every expiration and strike of an
underlying in one call); Tradier: `/v1/markets/options/expirations` and
`/v1/markets/options/chains?greeks=true` (one expiration, with quotes and greeks that
Tradier recomputes hourly). Each fetch goes through the cluster-wide cache
(`streaming/brokers/market_data_cache.py`: one broker fetch per key and TTL) and takes a slot of its
broker's pacing window (`streaming/brokers/rate_limit.py`) first. Failures become
`market_data_cache.FetchFailed` with a code and status the chain API answers with.

The shapes (docs/streaming-contract.md "Option chains"):

- expirations: `[{date: "YYYY-MM-DD", type: "Weekly"|"Regular", dte}]`
- strikes of one expiration: `{multiplier, rows: [{strike, call, put}]}`, each side
  `{symbol (streamer), occ}` plus, from Tradier, the row's values.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tastytrade import Session
from tastytrade.instruments import NestedOptionChain
from tastytrade.market_data import get_market_data, get_market_data_by_type
from tastytrade.order import InstrumentType

from streaming.brokers import rate_limit as pacing
from streaming.brokers.errors import CredentialRejected, describe, http_status, retry_after
from streaming.brokers.market_data_cache import FetchFailed, cache_key, cached
from streaming.brokers.tradier.client import as_list
from streaming.brokers.values import num, time_ms
from streaming.instruments.symbols import NEW_YORK, occ_to_streamer_symbol

#: tastytrade publishes no REST rate limit: one call a second per credential is a
#: conservative pace for reference data (chains are cached for minutes anyway).
TASTYTRADE_PER_MINUTE = 60
#: Tradier's documented market-data limits per token (reference §1.9).
TRADIER_PER_MINUTE = 120
TRADIER_PAPER_PER_MINUTE = 60
#: How long a fetch waits for a pacing slot before answering "rate-limited".
PACING_WAIT = 8.0
#: An underlying's REST price is reused this long (it only centres the strike window).
PRICE_TTL = 5.0
#: tastytrade's market-data snapshot of a chain's options (bid, ask, volume, open
#: interest: DXLink's Quote carries neither volume nor open interest) is reused this long.
MARKET_DATA_TTL = 30.0
#: tastytrade's market-data endpoint takes at most this many symbols per call.
MARKET_DATA_BATCH = 100

Fetch = Callable[[], Awaitable[Any]]


def secret_tag(secret: str) -> str:
    """A short, non-reversible name for a credential (pacing buckets are per credential)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def tradier_market_bucket(token: str, env: str) -> tuple[str, int]:
    """The pacing bucket of a Tradier token's market-data calls (chains, history: one
    limit for both) and its per-minute limit."""
    paper = env == "sandbox.tradier.com"
    per_minute = TRADIER_PAPER_PER_MINUTE if paper else TRADIER_PER_MINUTE
    return f"tradier:market:{secret_tag(token)}", per_minute


def as_failure(exc: BaseException, what: str) -> FetchFailed:
    """A broker failure as the chain API's error: 429 → rate_limited (with Retry-After),
    404 → no_options, anything else → broker_error with the broker's reason."""
    if isinstance(exc, FetchFailed):
        return exc
    if isinstance(exc, pacing.PacingTimeout):
        return FetchFailed("rate_limited", "rate-limited", 429, round(exc.retry_in, 1))
    status = http_status(exc)
    if status == 429:
        wait = retry_after(exc) or 5.0
        return FetchFailed("rate_limited", "rate-limited", 429, round(wait, 1))
    if status == 404:
        return FetchFailed("no_options", f"the broker lists no options for {what}", 404)
    if isinstance(exc, CredentialRejected):
        return FetchFailed("broker_error", f"the broker refused the link: {exc}", 502)
    if isinstance(exc, TimeoutError):
        return FetchFailed("broker_error", "the broker did not answer in time", 502)
    return FetchFailed("broker_error", describe(exc), 502)


async def _paced(bucket: str, per_minute: int, fetch: Fetch, what: str) -> Any:
    try:
        await pacing.acquire(bucket, per_minute, deadline=time.monotonic() + PACING_WAIT)
        return await fetch()
    except Exception as exc:
        raise as_failure(exc, what) from exc


def _dte(date: str, today: dt.date) -> int:
    return (dt.date.fromisoformat(date) - today).days


def _today() -> dt.date:
    return dt.datetime.now(NEW_YORK).date()


def _side(occ: str, streamer: str | None = None) -> dict[str, Any]:
    occ = occ.replace(" ", "")
    return {"symbol": streamer or occ_to_streamer_symbol(occ), "occ": occ}


# -- tastytrade ----------------------------------------------------------------------------
class TastytradeChains:
    """Chains through one tastytrade session (the owner's)."""

    greeks_source = "stream"

    def __init__(self, session: Callable[[], Session | None], secret: str, env: str, ttl: float):
        self._session = session
        self._bucket = f"tastytrade:{secret_tag(secret)}"
        self._env = env
        self._ttl = ttl

    def _live_session(self) -> Session:
        session = self._session()
        if session is None:
            raise FetchFailed("broker_error", "the tastytrade session is not up yet", 503, 2)
        return session

    async def _nested(self, symbol: str) -> dict[str, Any]:
        """The nested chain (every expiration) as plain data, cached per underlying."""

        async def fetch() -> dict[str, Any]:
            session = self._live_session()
            chains = await _paced(
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
                                "call": {**_side(s.call, s.call_streamer_symbol), "wire": s.call},
                                "put": {**_side(s.put, s.put_streamer_symbol), "wire": s.put},
                            }
                            for s in sorted(e.strikes, key=lambda s: s.strike_price)
                        ],
                    }
                    for e in chain.expirations
                },
            }

        key = cache_key("tastytrade", self._env, symbol)
        value, at = await cached(key, fetch, ttl=self._ttl)
        return {**value, "fetched_at": at}

    async def expirations(self, symbol: str) -> tuple[list[dict[str, Any]], int]:
        nested = await self._nested(symbol)
        today = _today()
        dates = [
            {"date": d, "type": e["type"], "dte": _dte(d, today)}
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
        self, symbol: str, expiration: str, rows: list[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """occ -> {bid, ask, last, volume, open_interest, quote_t} from tastytrade's
        market-data snapshot (shared for MARKET_DATA_TTL). Best effort: the structure is
        served without it, and DXLink fills bid/ask at once."""
        wires = [r[side]["wire"] for r in rows for side in ("call", "put")]

        async def fetch() -> dict[str, dict[str, Any]]:
            session = self._live_session()
            out: dict[str, dict[str, Any]] = {}
            for i in range(0, len(wires), MARKET_DATA_BATCH):
                batch = wires[i : i + MARKET_DATA_BATCH]
                items = await _paced(
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
            values, _ = await cached(key, fetch, ttl=MARKET_DATA_TTL)
        except (FetchFailed, TimeoutError):
            return {}
        return values

    async def underlying_price(self, symbol: str) -> float | None:
        async def fetch() -> float | None:
            session = self._live_session()
            data = await _paced(
                self._bucket,
                TASTYTRADE_PER_MINUTE,
                lambda: get_market_data(session, symbol, InstrumentType.EQUITY),
                symbol,
            )
            return _mid_or_last(num(data.bid), num(data.ask), num(data.last) or num(data.mark))

        value, _ = await cached(
            cache_key("price", "tastytrade", self._env, symbol), fetch, ttl=PRICE_TTL
        )
        return value


# -- Tradier -------------------------------------------------------------------------------
class TradierChains:
    """Chains through one Tradier token; `get` is the adapter's REST call."""

    greeks_source = "chain"

    def __init__(
        self, get: Callable[[str, dict[str, Any]], Awaitable[Any]], token: str, env: str, ttl: float
    ):
        self._get = get
        self._bucket, self._per_minute = tradier_market_bucket(token, env)
        self._env = env
        self._ttl = ttl

    async def _call(self, path: str, params: dict[str, Any], what: str) -> Any:
        return await _paced(self._bucket, self._per_minute, lambda: self._get(path, params), what)

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

        dates, at = await cached(cache_key("tradier", self._env, symbol), fetch, ttl=self._ttl)
        today = _today()
        return [{**d, "dte": _dte(d["date"], today)} for d in dates], at

    async def raw_rows(self, symbol: str, expiration: str) -> tuple[list[dict[str, Any]], int]:
        """Tradier's chain rows with greeks, as it sends them (the greeks loop reads them)."""

        async def fetch() -> list[dict[str, Any]]:
            params = {"symbol": symbol, "expiration": expiration, "greeks": "true"}
            body = await self._call("/v1/markets/options/chains", params, f"{symbol} {expiration}")
            wrapper = (body or {}).get("options") if isinstance(body, dict) else None
            return [
                r
                for r in as_list(wrapper.get("option") if isinstance(wrapper, dict) else None)
                if isinstance(r, dict)
            ]

        key = cache_key("tradier", self._env, symbol, expiration)
        return await cached(key, fetch, ttl=self._ttl)

    async def strikes(self, symbol: str, expiration: str) -> dict[str, Any]:
        rows, at = await self.raw_rows(symbol, expiration)
        by_strike: dict[float, dict[str, Any]] = {}
        multiplier = 100
        for row in rows:
            strike = num(row.get("strike"))
            right = row.get("option_type")
            if strike is None or right not in ("call", "put") or not row.get("symbol"):
                continue
            multiplier = int(num(row.get("contract_size")) or multiplier)
            side = {**_side(str(row["symbol"])), **tradier_values(row)}
            by_strike.setdefault(float(strike), {"strike": float(strike)})[right] = side
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
            return _mid_or_last(num(item.get("bid")), num(item.get("ask")), num(item.get("last")))

        value, _ = await cached(
            cache_key("price", "tradier", self._env, symbol), fetch, ttl=PRICE_TTL
        )
        return value


def tradier_values(row: dict[str, Any]) -> dict[str, Any]:
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


def _mid_or_last(bid: float | None, ask: float | None, last: float | None) -> float | None:
    if bid is not None and ask is not None and bid > 0 and ask > 0:
        return round((bid + ask) / 2, 4)
    return last
