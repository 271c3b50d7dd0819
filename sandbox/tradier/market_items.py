"""Tradier's market data from the shared market: symbols, quotes with greeks, and the
stream's payloads (serialized once per market generation, whoever streams them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from sandbox.core import chains, series
from sandbox.core.market.listings import instrument_kind, option_underlying
from sandbox.core.records import EQUITY, EQUITY_OPTION
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import OptionSymbol, parse_occ_symbol
from sandbox.tradier.wire import NEW_YORK, stream_price

__all__ = ["MarketItems"]


class MarketItems:
    """The market half of `TradierSandbox` (see `api.py`)."""

    sandbox: Simulation
    _generation: tuple[int, int]
    _encoded: dict[tuple[str, str], bytes | None]

    def market_symbol(self, symbol: str) -> str | None:
        """The market's (streamer) symbol of a Tradier symbol, if valid: an OCC symbol is an
        equity option, anything else an equity or index (`core/series.py`; Tradier lists no
        coins and no futures, so `BTC/USD` or `/ESZ6` is unmatched)."""
        symbol = symbol.strip().upper()
        kind = EQUITY_OPTION if parse_occ_symbol(symbol) is not None else EQUITY
        name = series.feed_symbol(symbol, kind, self.sandbox.market_date())
        return name if name is not None and self.sandbox.market.ensure(name) else None

    @property
    def delay_ms(self) -> int:
        """How far back Tradier's market data reports its times (`tradier_quote_delay`)."""
        return int(self.sandbox.config.tradier_quote_delay * 1000)

    def stream_event(self, kind: str, name: str, symbol: str) -> dict[str, Any] | None:
        """One stream payload with Tradier's exact field types, or None."""
        market = self.sandbox.market
        lag = self.delay_ms
        if kind == "quote":
            q = market.quote(name)
            return {
                "type": "quote",
                "symbol": symbol,
                "bid": q["bidPrice"],
                "bidsz": q["bidSize"],
                "bidexch": q["bidExchangeCode"],
                "biddate": str(q["bidTime"] - lag),
                "ask": q["askPrice"],
                "asksz": q["askSize"],
                "askexch": q["askExchangeCode"],
                "askdate": str(q["askTime"] - lag),
            }
        if kind in ("trade", "tradex"):
            t = market.trade(name)
            if not t["size"]:
                return None
            return {
                "type": kind,
                "symbol": symbol,
                "exch": t["exchangeCode"],
                "price": stream_price(t["price"]),
                "size": str(t["size"]),
                "cvol": str(t["dayVolume"]),
                "date": str(t["time"] - lag),
                "last": stream_price(t["price"]),
            }
        if kind == "summary":
            s = market.summary(name)
            return {
                "type": "summary",
                "symbol": symbol,
                "open": stream_price(s["dayOpenPrice"]),
                "high": stream_price(s["dayHighPrice"]),
                "low": stream_price(s["dayLowPrice"]),
                "prevClose": stream_price(s["prevDayClosePrice"]),
            }
        if kind == "timesale":
            t = market.trade(name)
            q = market.quote(name)
            if not t["size"]:
                return None
            return {
                "type": "timesale",
                "symbol": symbol,
                "exch": t["exchangeCode"],
                "bid": stream_price(q["bidPrice"]),
                "ask": stream_price(q["askPrice"]),
                "last": stream_price(t["price"]),
                "size": str(t["size"]),
                "date": str(t["time"] - lag),
                "seq": t["sequence"],
                "flag": "",
                "cancel": False,
                "correction": False,
                "session": "normal",
            }
        return None

    def encoded(self, kind: str, name: str, symbol: str) -> bytes | None:
        """A payload serialized once per market generation, whoever streams it."""
        generation = (self.sandbox.hub.generation, self.delay_ms)
        if generation != self._generation:
            self._generation = generation
            self._encoded.clear()
        key = (kind, symbol)
        if key not in self._encoded:
            event = self.stream_event(kind, name, symbol)
            self._encoded[key] = None if event is None else orjson.dumps(event)
        return self._encoded[key]

    def quote_item(self, symbol: str, name: str, greeks: bool) -> dict[str, Any]:
        """A `/v1/markets/quotes` entry (and chain row) for a valid symbol."""
        market = self.sandbox.market
        q, t, s = market.quote(name), market.trade(name), market.summary(name)
        last, prev = t["price"], s["prevDayClosePrice"]
        lag = self.delay_ms
        option = parse_occ_symbol(symbol)
        item: dict[str, Any] = {
            "symbol": symbol,
            "description": market.profile(name)["description"],
            "exch": q["bidExchangeCode"],
            "type": "option" if option else (instrument_kind(name) or "stock"),
            "last": last,
            "change": round(last - prev, 2),
            "volume": t["dayVolume"],
            "open": s["dayOpenPrice"],
            "high": s["dayHighPrice"],
            "low": s["dayLowPrice"],
            "close": None,
            "bid": q["bidPrice"],
            "ask": q["askPrice"],
            "change_percentage": round((last - prev) / prev * 100, 2) if prev else 0.0,
            "average_volume": s["prevDayVolume"],
            "last_volume": t["size"] or 0,
            "trade_date": t["time"] - lag,
            "prevclose": prev,
            "week_52_high": max(s["dayHighPrice"], last),
            "week_52_low": min(s["dayLowPrice"], last),
            "bidsize": q["bidSize"],
            "bidexch": q["bidExchangeCode"],
            "bid_date": q["bidTime"] - lag,
            "asksize": q["askSize"],
            "askexch": q["askExchangeCode"],
            "ask_date": q["askTime"] - lag,
        }
        if option is None:
            item["root_symbols"] = name
            return item
        item.update(
            {
                "underlying": option_underlying(option.underlying),
                "strike": float(option.strike),
                "open_interest": s["openInterest"],
                "contract_size": 100,
                "expiration_date": option.expiry.isoformat(),
                "expiration_type": "standard"
                if chains.expiration_type(option.expiry) == "Regular"
                else "weeklys",
                "option_type": "call" if option.right == "C" else "put",
                "root_symbol": option.underlying,
            }
        )
        if greeks:
            item["greeks"] = self.greeks_item(name, option, q["bidPrice"])
        return item

    def greeks_item(self, name: str, option: OptionSymbol, bid: float) -> dict[str, Any]:
        """ORATS-style greeks; `mid_iv` is 0 on rows without a bid, as on illiquid rows."""
        g = self.sandbox.market.greeks(name)
        iv = g["volatility"]
        years = max(0.0, (option.expiry - self.sandbox.market_date()).days / 365.0)
        try:
            spot = self.sandbox.market.mid(option.underlying)
        except KeyError:
            spot = 0.0
        now = dt.datetime.fromtimestamp(self.sandbox.now(), NEW_YORK)
        now -= dt.timedelta(milliseconds=self.delay_ms)
        return {
            "delta": g["delta"],
            "gamma": g["gamma"],
            "theta": g["theta"],
            "vega": g["vega"],
            "rho": g["rho"],
            "phi": round(-g["delta"] * spot * years / 100, 6),
            "bid_iv": iv if bid > 0 else 0.0,
            "mid_iv": iv if bid > 0 else 0.0,
            "ask_iv": iv,
            "smv_vol": round(iv, 3),
            "updated_at": now.strftime("%Y-%m-%d %H:%M:%S"),
        }
