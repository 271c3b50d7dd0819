"""The market's events as plain dicts keyed by dxFeed field names (`EVENT_FIELDS`):
Quote, Trade, Summary, Profile, Greeks, TheoPrice, Candle, and time and sales; plus the
prices the brokerage reads and the reference data the fundamentals derive from."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox.core.market.state import (
    RISK_FREE_RATE,
    SALES_CAP,
    SEQ_MASK,
    CandleRow,
    CandleSeries,
    OptionContract,
    Sale,
    Underlying,
    candle_index,
    prev_trading_day_id,
    smile_vol,
)

_FIELD_NAMES = {
    "Quote": (
        "eventSymbol eventTime sequence timeNanoPart bidTime bidExchangeCode askTime "
        "askExchangeCode bidPrice askPrice bidSize askSize"
    ),
    "Greeks": (
        "eventSymbol eventTime eventFlags index time sequence price volatility delta gamma "
        "theta rho vega"
    ),
    "Trade": (
        "eventSymbol eventTime time timeNanoPart sequence exchangeCode dayId tickDirection "
        "extendedTradingHours price change size dayVolume dayTurnover"
    ),
    "Summary": (
        "eventSymbol eventTime dayId dayClosePriceType prevDayId prevDayClosePriceType "
        "openInterest dayOpenPrice dayHighPrice dayLowPrice dayClosePrice prevDayClosePrice "
        "prevDayVolume"
    ),
    "Candle": (
        "eventSymbol eventTime eventFlags index time sequence count volume vwap bidVolume "
        "askVolume impVolatility openInterest open high low close"
    ),
    "TheoPrice": (
        "eventSymbol eventTime eventFlags index time sequence price underlyingPrice delta "
        "gamma dividend interest"
    ),
    "TimeAndSale": (
        "eventSymbol eventTime eventFlags index time timeNanoPart sequence exchangeCode price "
        "size bidPrice askPrice tradeThroughExempt aggressorSide spreadLeg extendedTradingHours "
        "validTick type buyer seller exchangeSaleConditions"
    ),
    "Profile": (
        "eventSymbol eventTime description shortSaleRestriction tradingStatus haltStartTime "
        "haltEndTime exDividendDayId statusReason high52WeekPrice low52WeekPrice beta shares "
        "highLimitPrice lowLimitPrice earningsPerShare exDividendAmount dividendFrequency "
        "freeFloat"
    ),
}
#: Field names, in the SDK's order, of every event type the market produces.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {k: tuple(v.split()) for k, v in _FIELD_NAMES.items()}

#: dxFeed IndexedEvent flags used on candle snapshots.
SNAPSHOT_BEGIN = 0x4
SNAPSHOT_END = 0x8


class MarketEvents:
    """The event half of `Market` (see `walk.py`): reads what the walk left behind."""

    _seed: int
    _known: dict[str, Underlying | OptionContract | CandleSeries]
    _dispatch: dict[str, Callable[[str], dict[str, Any]]]

    def _now_ms(self) -> int:
        raise NotImplementedError

    def _underlying(self, symbol: str, now_ms: int) -> Underlying:
        raise NotImplementedError

    def _get_priced(self, symbol: str, now_ms: int) -> Underlying | OptionContract:
        raise NotImplementedError

    def _get_option(self, symbol: str, now_ms: int) -> OptionContract:
        raise NotImplementedError

    def _get_series(self, symbol: str, now_ms: int) -> CandleSeries:
        raise NotImplementedError

    def set_price(self, symbol: str, price: float) -> set[str]:
        """Move an underlying to `price` at once (a test's jump): a new quote around it and
        a trade at it; the walk goes on from there. Returns the symbols that changed."""
        now_ms = self._now_ms()
        u = self._underlying(symbol, now_ms)
        u.price = price
        u.requote()
        u.version += 1
        u.quote_time = now_ms
        price_c = max(1, round(price * 100))
        up = price_c > u.last_c
        u.tick_dir, u.last_up = ("UP", True) if up else ("DOWN", False)
        u.last_c = price_c
        u.last_size = u.lot
        u.trade_time = now_ms
        u.trade_seq += 1
        u.day_high_c = max(u.day_high_c, price_c)
        u.day_low_c = min(u.day_low_c, price_c) if u.day_low_c else price_c
        u.day_volume += u.lot
        for series in u.candles:  # the trade is in the candles too (bought if it went up)
            series.on_trade(now_ms, price_c, u.lot, up)
        return {u.symbol, *u.dependents}

    def mid(self, symbol: str) -> float:
        """Mid of the current quote of an underlying or option."""
        obj = self._get_priced(symbol, self._now_ms())
        return (obj.bid_c + obj.ask_c) / 200.0

    def last(self, symbol: str) -> float:
        """Last trade price of an underlying or option."""
        return self._get_priced(symbol, self._now_ms()).last_c / 100.0

    def prev_close(self, symbol: str) -> float:
        """The previous day's close of an underlying or option: the single number behind
        Summary's ``prevDayClosePrice`` and every façade's previous close."""
        return self._get_priced(symbol, self._now_ms()).prev_close_c / 100.0

    # ------------------------------------------------------------------------- events

    def event(self, event_type: str, symbol: str) -> dict[str, Any] | None:
        """The event of type ``event_type`` ("Quote", ...) or None if it does not apply.

        Unregistered symbols and unsupported types (e.g. "TimeAndSale") also give None.
        """
        obj = self._known.get(symbol)
        handler = self._dispatch.get(event_type)
        if obj is None or handler is None:
            return None
        if isinstance(obj, CandleSeries) != (event_type == "Candle"):
            return None
        if event_type in ("Greeks", "TheoPrice") and not isinstance(obj, OptionContract):
            return None
        return handler(symbol)

    def quote(self, symbol: str) -> dict[str, Any]:
        """Quote of an underlying (sizes in round lots) or option (sizes 1-200)."""
        now_ms = self._now_ms()
        obj = self._get_priced(symbol, now_ms)
        if isinstance(obj, OptionContract):
            exchange, version, qtime = "C", obj.under.version, obj.under.quote_time
        else:
            exchange, version, qtime = obj.exchange, obj.version, obj.quote_time
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "sequence": version & SEQ_MASK,
            "timeNanoPart": 0,
            "bidTime": qtime,
            "bidExchangeCode": exchange,
            "askTime": qtime,
            "askExchangeCode": exchange,
            "bidPrice": obj.bid_c / 100.0,
            "askPrice": obj.ask_c / 100.0,
            "bidSize": obj.bid_size,
            "askSize": obj.ask_size,
        }

    def trade(self, symbol: str) -> dict[str, Any]:
        """Last trade of an underlying or option, with the day's running totals."""
        obj = self._get_priced(symbol, self._now_ms())
        exchange = "C" if isinstance(obj, OptionContract) else obj.exchange
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "time": obj.trade_time,
            "timeNanoPart": 0,
            "sequence": obj.trade_seq & SEQ_MASK,
            "exchangeCode": exchange,
            "dayId": obj.day_id,
            "tickDirection": obj.tick_dir,
            "extendedTradingHours": False,
            "price": obj.last_c / 100.0,
            "change": (obj.last_c - obj.prev_close_c) / 100.0,
            "size": obj.last_size,
            "dayVolume": obj.day_volume,
            "dayTurnover": round(obj.day_turnover, 2),
        }

    def summary(self, symbol: str) -> dict[str, Any]:
        """Day OHLC so far; ``openInterest`` is 0 for anything but options."""
        obj = self._get_priced(symbol, self._now_ms())
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "dayId": obj.day_id,
            "dayClosePriceType": "REGULAR",
            "prevDayId": prev_trading_day_id(obj.day_id),
            "prevDayClosePriceType": "FINAL",
            "openInterest": obj.open_interest if isinstance(obj, OptionContract) else 0,
            "dayOpenPrice": obj.day_open_c / 100.0,
            "dayHighPrice": obj.day_high_c / 100.0,
            "dayLowPrice": obj.day_low_c / 100.0,
            "dayClosePrice": obj.last_c / 100.0,
            "prevDayClosePrice": obj.prev_close_c / 100.0,
            "prevDayVolume": obj.prev_volume,
        }

    def profile(self, symbol: str) -> dict[str, Any]:
        """Static description; 52-week range always contains today's range."""
        obj = self._get_priced(symbol, self._now_ms())
        high52 = low52 = beta = shares = None
        if isinstance(obj, Underlying):
            high52 = max(round(obj.start_c * 1.3), obj.day_high_c) / 100.0
            low52 = min(round(obj.start_c * 0.7), obj.day_low_c) / 100.0
            beta, shares = obj.beta, obj.shares
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "description": obj.description,
            "shortSaleRestriction": "INACTIVE",
            "tradingStatus": "ACTIVE",
            "haltStartTime": 0,
            "haltEndTime": 0,
            "exDividendDayId": 0,
            "statusReason": None,
            "high52WeekPrice": high52,
            "low52WeekPrice": low52,
            "beta": beta,
            "shares": shares,
            "highLimitPrice": None,
            "lowLimitPrice": None,
            "earningsPerShare": None,
            "exDividendAmount": None,
            "dividendFrequency": None,
            "freeFloat": None,
        }

    def greeks(self, symbol: str) -> dict[str, Any]:
        """Black-Scholes greeks of an option; KeyError for non-options."""
        now_ms = self._now_ms()
        o = self._get_option(symbol, now_ms)
        g = o.greeks
        seq = o.under.version & SEQ_MASK
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": candle_index(now_ms, seq),
            "time": now_ms,
            "sequence": seq,
            "price": round(g.price, 4),
            "volatility": round(o.iv, 6),
            "delta": round(g.delta, 6),
            "gamma": round(g.gamma, 6),
            "theta": round(g.theta, 6),
            "rho": round(g.rho, 6),
            "vega": round(g.vega, 6),
        }

    def theo_price(self, symbol: str) -> dict[str, Any]:
        """Theoretical price of an option; KeyError for non-options."""
        now_ms = self._now_ms()
        o = self._get_option(symbol, now_ms)
        g = o.greeks
        seq = o.under.version & SEQ_MASK
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": candle_index(now_ms, seq),
            "time": now_ms,
            "sequence": seq,
            "price": round(g.price, 4),
            "underlyingPrice": round(o.spot, 4),
            "delta": round(g.delta, 6),
            "gamma": round(g.gamma, 6),
            "dividend": 0.0,
            "interest": RISK_FREE_RATE,
        }

    # --------------------------------------------------------------- time and sales

    def _sale_dict(
        self, symbol: str, obj: Underlying | OptionContract, sale: Sale, flags: int = 0
    ) -> dict[str, Any]:
        time_ms, seq, price_c, size, bid_c, ask_c, at_ask = sale
        return {
            "eventSymbol": symbol,
            "eventTime": 0,
            "eventFlags": flags,
            "index": candle_index(time_ms, seq),
            "time": time_ms,
            "timeNanoPart": 0,
            "sequence": seq & SEQ_MASK,
            "exchangeCode": "C" if isinstance(obj, OptionContract) else obj.exchange,
            "price": price_c / 100.0,
            "size": size,
            "bidPrice": bid_c / 100.0,
            "askPrice": ask_c / 100.0,
            "tradeThroughExempt": "",
            "aggressorSide": "BUY" if at_ask else "SELL",
            "spreadLeg": False,
            "extendedTradingHours": False,
            "validTick": True,
            "type": "NEW",
            "buyer": None,
            "seller": None,
            "exchangeSaleConditions": None,
        }

    def keep_sales(self, symbol: str) -> None:
        """Remember the trades of a symbol from now on (the last SALES_CAP of them), starting
        with its latest trade. Only symbols someone follows trade by trade keep them, so a
        market of thousands of quoted symbols does not hold thousands of trade logs."""
        obj = self._get_priced(symbol, self._now_ms())
        if obj.sales is None:
            obj.sales = deque(maxlen=SALES_CAP)
            if obj.last_sale is not None:
                obj.sales.append(obj.last_sale)

    def last_trade_bought(self, symbol: str) -> bool | None:
        """Whether the latest trade hit the ask (a buyer took it: True) or the bid (False);
        None when the walk did not make it (a `set_price` jump, or the opening state)."""
        obj = self._get_priced(symbol, self._now_ms())
        sale = obj.last_sale
        if sale is None or sale[1] != obj.trade_seq:
            return None
        return sale[6]

    def last_sale_sequence(self, symbol: str) -> int:
        """The trade sequence of the newest simulated trade (0 if none yet)."""
        sale = self._get_priced(symbol, self._now_ms()).last_sale
        return sale[1] if sale else 0

    def sales_since(self, symbol: str, after_sequence: int) -> list[dict[str, Any]]:
        """TimeAndSale events, oldest first, for every remembered trade after a sequence:
        each trade once, unlike Trade, which only ever shows the latest (see keep_sales)."""
        obj = self._get_priced(symbol, self._now_ms())
        sales = obj.sales or ()
        return [self._sale_dict(symbol, obj, s) for s in sales if s[1] > after_sequence]

    def sales_snapshot(self, symbol: str, from_time_ms: int) -> list[dict[str, Any]]:
        """The remembered trades at or after ``from_time_ms``, newest first, the first
        flagged SNAPSHOT_BEGIN and the last SNAPSHOT_END (dxFeed's time-series order)."""
        obj = self._get_priced(symbol, self._now_ms())
        picked = [s for s in reversed(obj.sales or ()) if s[0] >= from_time_ms]
        out = [self._sale_dict(symbol, obj, s) for s in picked]
        if out:
            out[0]["eventFlags"] |= SNAPSHOT_BEGIN
            out[-1]["eventFlags"] |= SNAPSHOT_END
        return out

    # ------------------------------------------------------------------ reference data

    @property
    def seed(self) -> int:
        """The seed every made-up number of this market derives from."""
        return self._seed

    def reference_price(self, symbol: str) -> float:
        """The price an underlying started the run at: the fixed scale of its made-up
        reference data (dividends, earnings), so those do not drift with the walk."""
        u = self._get_priced(symbol, self._now_ms())
        if not isinstance(u, Underlying):
            raise KeyError(symbol)
        return u.start_c / 100.0

    def implied_volatility(self, symbol: str, strike: float | None = None) -> float:
        """The volatility the market prices options of an underlying with: the smile at
        ``strike``, or at the money (the underlying's own vol) when none is given."""
        u = self._get_priced(symbol, self._now_ms())
        if not isinstance(u, Underlying):
            raise KeyError(symbol)
        spot = (u.bid_c + u.ask_c) / 200.0
        return smile_vol(u.vol, spot, spot if strike is None else strike)

    # ------------------------------------------------------------------------ candles

    @staticmethod
    def _candle_dict(series: CandleSeries, row: CandleRow, flags: int) -> dict[str, Any]:
        start, open_c, high_c, low_c, close_c, volume, turnover, bid_v, ask_v, count = row
        vwap = round(turnover / volume, 4) if volume else close_c / 100.0
        return {
            "eventSymbol": series.symbol,
            "eventTime": 0,
            "eventFlags": flags,
            "index": candle_index(start),
            "time": start,
            "sequence": 0,
            "count": count,
            "volume": volume,
            "vwap": vwap,
            "bidVolume": bid_v,
            "askVolume": ask_v,
            "impVolatility": series.under.vol,
            "openInterest": None,
            "open": open_c / 100.0,
            "high": high_c / 100.0,
            "low": low_c / 100.0,
            "close": close_c / 100.0,
        }

    def candle(self, candle_symbol: str) -> dict[str, Any]:
        """The current (open) candle as a live update (``eventFlags`` 0)."""
        series = self._get_series(candle_symbol, self._now_ms())
        return self._candle_dict(series, series.row(), 0)

    def candles(
        self, candle_symbol: str, from_time_ms: int, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """History snapshot from ``from_time_ms`` (aligned down), newest first, at most
        ``limit`` candles, the first flagged SNAPSHOT_BEGIN and the last SNAPSHOT_END.

        The newest is the live candle; the candle containing ``from_time_ms`` is included
        when within ``limit``.  A ``from_time_ms`` in the future gives just the live one.
        """
        series = self._get_series(candle_symbol, self._now_ms())
        if limit <= 0:
            return []
        w = series.width
        first = max(0, from_time_ms) // w * w
        wanted = min(limit, max(0, (series.start - first) // w) + 1)
        rows: list[CandleRow] = [series.row()]
        done = series.done
        k = len(done) - 1
        while len(rows) < wanted and k >= 0:
            rows.append(done[k])
            k -= 1
        while len(rows) < wanted:
            newer = rows[-1]
            rows.append(series.synthetic(newer[0] - w, newer[1]))
        out = [self._candle_dict(series, row, 0) for row in rows]
        out[0]["eventFlags"] |= SNAPSHOT_BEGIN
        out[-1]["eventFlags"] |= SNAPSHOT_END
        return out
