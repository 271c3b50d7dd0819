"""Market metrics of a user's position underlyings, kept in the user's stream.

A `StreamListener` (streaming/stream/listener.py) handed to the manager by
streaming/wiring.py. It keeps SPY streamed (the benchmark every β is measured against)
and fetches metrics for every position underlying and SPY: when the stream starts, when
the positions bring an underlying it has none for, and every `refresh` seconds. An
underlying is its contract symbol (`BTC/USD:CXTALP`, `/ESZ26:XCME`: the stream names the
positions' underlyings so), which is its own instrument's quote, the key of its metrics
and the symbol of its candle history. tastytrade's market metrics where a link serves
them (the manager asks the first such link; it asks tastytrade by tastytrade's own
symbols: brokers/tastytrade/metrics.py); β from one year of daily closes against SPY
(beta.py) for a symbol without a tastytrade β. A failure never stops the stream: it is
logged once per run of failures, retried with backoff, and the last values stay (their `t`
shows their age).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

from streaming.brokers.bars import Candle, HistoryError
from streaming.brokers.values import now_ms
from streaming.contract.risk import Metrics
from streaming.risk.exposure import BENCHMARK, underlying_of
from streaming.risk.metrics import beta
from streaming.stream.listener import QuietHooks, StreamHost

log = logging.getLogger(__name__)

#: Seconds a candle history may take (one year of daily candles, per symbol).
HISTORY_WITHIN = 30.0
#: After new underlyings appear, wait this long for the rest of the positions to arrive.
SETTLE = 0.5
#: History answers that mean "no β from history" rather than "try again".
NO_HISTORY = frozenset({"unknown_symbol", "no_market_data"})


class MetricsRunner(QuietHooks):
    """Fetches and refreshes the user's market metrics (one per user's stream)."""

    def __init__(
        self, *, refresh: float, retry_base: float = 2.0, retry_cap: float = 300.0
    ) -> None:
        self.refresh = refresh
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._stream: StreamHost | None = None
        self._wake = asyncio.Event()
        #: The symbols of the last successful round: a new underlying wakes the loop.
        self._fetched: set[str] = set()
        self.failures = 0
        self.rounds = 0
        #: Waiting for the positions to stream (no page, no limit): no metrics fetched.
        self._parked = False

    # -- StreamListener -----------------------------------------------------------------
    def attach(self, stream: StreamHost) -> None:
        self._stream = stream

    def symbols(self) -> set[str]:
        """SPY and every position's underlying stream while the stream runs: an option
        position streams its own quote, and its β-weighted delta, expected move and
        what-if curve price from its underlying's. Only while the positions stream (a page,
        a limit): a stream run for an alert with no page open fetches and streams none."""
        assert self._stream is not None
        return self.wanted() if self._stream.positions_streamed else set()

    def watches_positions(self) -> bool:
        """It follows the positions when they stream; it watches none itself."""
        return False

    def on_symbols(self, wanted: set[str]) -> None:
        """Called when the positions change (among others): a new underlying wakes us, and
        so do the positions starting to stream while we wait for them."""
        if not self.wanted() <= self._fetched or (self._parked and self.symbols()):
            self._wake.set()

    def on_tab_opened(self) -> None:
        return None  # the snapshot carries the metrics

    # -- the loop -------------------------------------------------------------------------
    def wanted(self) -> set[str]:
        """Every position underlying of the user, and SPY."""
        assert self._stream is not None
        found = {BENCHMARK}
        for account in self._stream.state.accounts.values():
            found.update(underlying_of(p) for p in account.positions.values())
        found.discard("")
        return found

    async def run(self) -> None:
        assert self._stream is not None
        while True:
            if not self._stream.positions_streamed:
                self._parked = True
                await self._wake.wait()
                self._wake.clear()
                continue
            self._parked = False
            wanted = self.wanted()
            try:
                await self.refresh_once(wanted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.failures == 0:
                    log.warning("market metrics for %s failed (retrying): %s", sorted(wanted), exc)
                self.failures += 1
                delay = min(self.retry_cap, self.retry_base * 2 ** (self.failures - 1))
            else:
                if self.failures:
                    log.warning("market metrics work again")
                self.failures = 0
                self._fetched = wanted
                delay = self.refresh
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
                    await asyncio.sleep(SETTLE)
            self._wake.clear()

    async def refresh_once(self, symbols: set[str]) -> None:
        """One round: tastytrade's metrics, a regression β where they lack one. What was
        fetched is reported even when a later symbol fails (then this raises)."""
        assert self._stream is not None
        stream = self._stream
        # the broker's metrics are the contract's Metrics (brokers/tastytrade: every field)
        found = cast(dict[str, Metrics], await stream.market_metrics(sorted(symbols)))
        needs_beta = sorted(
            s for s in symbols if (m := found.get(s)) is None or m.get("beta") is None
        )
        try:
            if needs_beta:
                await self._regression(needs_beta, found)
        finally:
            if found:
                stream.metrics_changed(found)
            self.rounds += 1

    async def _regression(self, symbols: list[str], found: dict[str, Metrics]) -> None:
        """β from daily closes against SPY's into `found` (other fields kept). A symbol no
        link has (or no link with history at all) gets no β; other failures raise."""
        now = now_ms()
        start = beta.history_start(now)
        spy = beta.complete_closes(await self._closes(BENCHMARK, start), now)
        for symbol in symbols:
            if symbol == BENCHMARK or not spy:
                closes = spy if symbol == BENCHMARK else {}
            else:
                closes = beta.complete_closes(await self._closes(symbol, start), now)
            fit = beta.regression_beta(closes, spy)
            base = found.get(symbol) or beta.empty_metrics(now_ms())
            if fit is None:
                found[symbol] = base
            else:
                regression = beta.regression_metrics(fit[0], fit[1], now_ms())
                found[symbol] = {
                    **base,
                    "beta": regression["beta"],
                    "beta_source": regression["beta_source"],
                    "beta_window": regression["beta_window"],
                    "beta_as_of": regression["beta_as_of"],
                }

    async def _closes(self, symbol: str, start: int) -> list[Candle]:
        """One year of daily candles; [] when no link has the symbol or any history."""
        assert self._stream is not None
        try:
            history = await self._stream.candles(symbol, "1d", start, within=HISTORY_WITHIN)
        except HistoryError as exc:
            if exc.code in NO_HISTORY:
                return []
            raise
        return history["candles"]
