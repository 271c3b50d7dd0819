"""What a tastytrade link answers when asked, on the connections it already holds: one of
the parts its adapter holds.

Candle history on its running DXLink (tastytrade/candles.py), one day of net liq
(tastytrade/net_liq.py) and market metrics (tastytrade/metrics.py) over REST on its
OAuth session. None of them opens a connection of its own: a chart, the P&L page or the
metrics listener would otherwise cost a login or a DXLink per ask, and a broker's limits
count those. The adapter's loops set the session and the streamer these read, in the
link's `Connection`, and clear them when a connection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date
from typing import Any

from streaming.brokers.bars import HistoryError
from streaming.brokers.tastytrade.candles import MarketDataDropped, MarketPulse
from streaming.brokers.tastytrade.connection import Connection
from streaming.brokers.tastytrade.metrics import market_metrics
from streaming.brokers.tastytrade.net_liq import net_liq_history

#: Seconds a market metrics request waits for the link to connect.
METRICS_WAIT = 30.0


class TastytradeReads:
    """The asks of a tastytrade link, over its session and its DXLink (set by the loops).
    `wants`: whether the link streams an account (its adapter's); `pulse`: what its
    quotes stream knows (a candle request waits longer for a symbol DXLink quotes)."""

    def __init__(
        self, connection: Connection, wants: Callable[[object], bool], pulse: MarketPulse
    ) -> None:
        self._connection = connection
        self._wants = wants
        self._pulse = pulse

    # -- candle history (DXLink Candle on the running streamer) ---------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of `symbol` from `from_ms` (ascending, the last one forming), asked on
        this link's running streamer (tastytrade/candles.py)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        dropped: MarketDataDropped | None = None
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._connection.dx_up.wait()
            except TimeoutError:
                if dropped is not None:  # it did not come back in time: say why
                    raise dropped from None
                raise
            dx = self._connection.dx
            if dx is None:
                raise HistoryError(
                    "broker_error", "tastytrade's market data stream is not connected"
                )
            try:
                return await self._connection.candles.fetch(
                    dx,
                    symbol,
                    tf,
                    from_ms,
                    within=deadline - loop.time(),
                    connected=lambda: self._connection.dx,
                    pulse=self._pulse,
                )
            except MarketDataDropped as exc:  # asked again on the next connection
                dropped = exc

    # -- REST on the running session ------------------------------------------------------
    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        """One day of the account's net liq from tastytrade's own history
        (tastytrade/net_liq.py), on the session this link already holds."""
        if self._connection.session is None or not self._wants(account):
            raise RuntimeError(f"tastytrade account {account} is not connected on this link")
        return await net_liq_history(self._connection.session, account, day)

    async def market_metrics(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """tastytrade's market metrics through this link's session, per contract symbol
        asked (`BTC/USD:CXTALP` asked as `BTC/USD`, `/ESZ26:XCME` as `/ES`: metrics.py)."""
        with contextlib.suppress(TimeoutError):  # the link may be connecting still
            async with asyncio.timeout(METRICS_WAIT):
                await self._connection.dx_up.wait()
        if self._connection.session is None:
            raise RuntimeError("tastytrade's session is not connected")
        return await market_metrics(self._connection.session, symbols)
