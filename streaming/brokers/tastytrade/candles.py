"""tastytrade's candle history: the DXLink snapshot of a candle symbol, asked on the
link's running streamer (the one DXLink session per credential) and collected from the
Candle events until SNAPSHOT_END. DXLink ignores a symbol it does not know, so no candle
within `CANDLE_QUIET` seconds of subscribing means "unknown symbol" — unless DXLink
quotes the symbol: it knows it, and a late snapshot (a long history on a busy feed) is
waited for to the deadline.

The candle symbol says what the chart shows of each kind (docs/streaming-contract.md,
"Candle charts"): a stock's regular hours (`SPY{=5m,tho=true}`), the whole session of what
trades round the clock (`BTC/USD:CXTALP{=5m}`, `/ESZ26:XCME{=5m}`), and an option's mark
(`price=mark`: its quote has no trades here, so the app values it at its bid/ask mid)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Candle

from streaming.brokers.bars import HistoryError, bucket_start, candle, daily_t, ordered
from streaming.brokers.errors import describe
from streaming.instruments.instrument import parse
from streaming.instruments.kinds import Kind

log = logging.getLogger(__name__)

#: Seconds without any candle after a subscription: DXLink does not know the symbol.
CANDLE_QUIET = 3.0
#: The kinds whose chart is their whole session (they trade round the clock, or Sun-Fri).
WHOLE_SESSION = frozenset({Kind.FUTURE, Kind.FUTURE_OPTION, Kind.CRYPTO})


def candle_series(symbol: str, tf: str) -> tuple[str, bool]:
    """The SDK's `interval` and `extended_trading_hours` of `symbol`'s candles: the SDK
    spells the candle symbol `{symbol}{={interval}}` (extended) or
    `{symbol}{={interval},tho=true}`, so dxFeed's other attributes ride on the interval."""
    instrument = parse(symbol)
    kind = instrument.kind if instrument is not None else None
    interval = f"{tf},price=mark" if kind is not None and kind.is_option else tf
    return interval, kind in WHOLE_SESSION


def candle_symbol(symbol: str, tf: str) -> str:
    """The candle symbol the SDK subscribes for `symbol` and `tf` (its events' symbol)."""
    interval, extended = candle_series(symbol, tf)
    return f"{symbol}{{={interval}}}" if extended else f"{symbol}{{={interval},tho=true}}"


class MarketPulse(Protocol):
    """What a link's quotes stream tells of a symbol (quotes.py)."""

    def knows(self, symbol: str) -> bool:
        """Whether this DXLink connection quoted `symbol`."""
        ...


class MarketDataDropped(HistoryError):
    """The link's DXLink went down under a request: the request may be asked again on the
    next connection (`TastytradeReads.candles`), it says nothing about the symbol."""

    def __init__(self) -> None:
        super().__init__("broker_error", "tastytrade's market data dropped")


class CandleRequests:
    """The candle snapshots being collected on one link's DXLink, by candle symbol (one
    request per series: a second ask for the same series shares the first's answer)."""

    def __init__(self, link_id: int) -> None:
        self.link_id = link_id
        self._waits: dict[str, _CandleWait] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def fetch(
        self,
        dx: DXLinkStreamer,
        symbol: str,
        tf: str,
        from_ms: int,
        *,
        within: float,
        connected: Callable[[], DXLinkStreamer | None],
        pulse: MarketPulse,
    ) -> list[dict]:
        """Candles of `symbol` from `from_ms` (ascending, the last one forming).
        `connected()`: the link's DXLink now (a request ending on a dropped one does not
        unsubscribe from it); `pulse`: whether DXLink knows the symbol."""
        key = candle_symbol(symbol, tf)
        interval, extended = candle_series(symbol, tf)
        wait = self._waits.get(key)
        if wait is not None:  # the same series is being asked already: share its answer
            async with asyncio.timeout(within):
                return await asyncio.shield(wait.done)
        wait = self._waits[key] = _CandleWait(tf, from_ms)
        try:
            start = dt.datetime.fromtimestamp(from_ms / 1000, dt.UTC)
            await dx.subscribe_candle(
                [symbol], interval, start_time=start, extended_trading_hours=extended
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            await _first_candle(wait, symbol, deadline, pulse)
            async with asyncio.timeout(max(0.1, deadline - loop.time())):
                return await asyncio.shield(wait.done)
        except HistoryError as exc:
            wait.fail(exc)
            raise
        except (TimeoutError, asyncio.CancelledError):
            wait.fail(HistoryError("broker_error", f"tastytrade candles for {symbol}: no answer"))
            raise
        except Exception as exc:  # the streamer failed under the request
            error = HistoryError(
                "broker_error", f"tastytrade candles for {symbol}: {describe(exc)}"
            )
            wait.fail(error)
            raise error from exc
        finally:
            self._waits.pop(key, None)
            if connected() is dx:  # in its own task: a cancelled request still unsubscribes
                task = asyncio.create_task(self._unsubscribe(dx, symbol, tf))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _unsubscribe(self, dx: DXLinkStreamer, symbol: str, tf: str) -> None:
        interval, extended = candle_series(symbol, tf)
        try:
            await dx.unsubscribe_candle(symbol, interval, extended_trading_hours=extended)
        except Exception as exc:  # the stream is going anyway
            log.info("tastytrade link %s: candle unsubscribe: %s", self.link_id, exc)

    def add(self, event: Candle) -> None:
        """To the request collecting its symbol's snapshot; live updates after a snapshot
        (nobody waits) are dropped."""
        wait = self._waits.get(event.event_symbol)
        if wait is not None:
            wait.add(event)

    def fail_all(self, exc: BaseException) -> None:
        """The streamer dropped: every request still collecting fails with `exc`."""
        for wait in self._waits.values():
            wait.fail(exc)


async def _first_candle(
    wait: _CandleWait, symbol: str, deadline: float, pulse: MarketPulse
) -> None:
    """Wait for the series' first candle. Silence for `CANDLE_QUIET` means DXLink does not
    know the symbol; a symbol it quotes it knows: its snapshot is late (a long history on
    a busy feed), waited for to `deadline` (the caller's share for this link: a silent
    feed then hands over to the next link, stream/history.py)."""
    loop = asyncio.get_running_loop()
    known = pulse.knows(symbol)
    quiet = deadline if known else min(deadline, loop.time() + CANDLE_QUIET)
    try:
        async with asyncio.timeout_at(quiet):
            await wait.first.wait()
    except TimeoutError:
        if quiet < deadline:
            raise HistoryError(
                "unknown_symbol", f"tastytrade has no candles for {symbol}"
            ) from None
        raise HistoryError(  # the deadline ended the wait, not DXLink's silence
            "broker_error", f"tastytrade candles for {symbol}: no answer in time"
        ) from None


class _CandleWait:
    """One candle snapshot being collected: the events until SNAPSHOT_END (or SNIP)."""

    def __init__(self, tf: str, from_ms: int) -> None:
        self.tf = tf
        self.from_ms = daily_t(from_ms) if tf == "1d" else bucket_start(from_ms, tf)
        self.rows: dict[int, dict] = {}
        self.first = asyncio.Event()
        self.done: asyncio.Future[list[dict]] = asyncio.get_running_loop().create_future()

    def add(self, event: Candle) -> None:
        self.first.set()
        if self.done.done():
            return
        t = daily_t(int(event.time)) if self.tf == "1d" else bucket_start(int(event.time), self.tf)
        row = (
            None
            if event.remove
            else candle(t, event.open, event.high, event.low, event.close, event.volume)
        )
        if row is None:
            self.rows.pop(t, None)
        elif t >= self.from_ms:
            self.rows[t] = row
        if event.snapshot_end:
            self.done.set_result(ordered(self.rows.values()))

    def fail(self, exc: BaseException) -> None:
        """The request ends with `exc`; one still waiting for its first candle hears it
        now (a dropped connection is not a symbol DXLink does not know)."""
        if not self.done.done():
            self.done.set_exception(exc)
            self.done.exception()  # retrieved: nobody may be waiting any more
        self.first.set()
