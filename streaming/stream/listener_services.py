"""What a user's stream does for the features run beside it (listener.py's `StreamHost`).

The frames a listener hands in (stored news, the news feed's state, market metrics) go
out through the stream's ordered outbox like its own; the asks it makes of the brokers
(market metrics, candle history) go to the first of the user's links that serves them.
Kept apart from the manager (manager.py), which runs the adapters, the state and the
outbox: a feature needs none of that, only these few doors into it.
"""

from __future__ import annotations

from typing import Any

from streaming.brokers.base import BrokerAdapter, SupportsMarketMetrics
from streaming.contract.frames import MetricsFrame, NewsArticle, NewsFrame
from streaming.contract.layer import CandleHistory
from streaming.contract.risk import Metrics
from streaming.runtime.clock import Clock
from streaming.stream.history import candle_history
from streaming.stream.outbox import Outbox
from streaming.stream.quote_feed import QuoteFeed
from streaming.stream.state import LinkInfo, UserState


class ListenerServices:
    """The manager's side of `StreamHost` for news, metrics and candles (a base of
    `UserStreamManager`, which sets the attributes below)."""

    user_id: int
    state: UserState
    links: dict[int, LinkInfo]
    adapters: dict[int, BrokerAdapter]
    feed: QuoteFeed
    clock: Clock
    _outbox: Outbox

    # -- news (a news listener reports here: news/feed.py) ----------------------------------
    def news_items(self, items: list[NewsArticle]) -> None:
        """Stored articles (the contract's news items) for the user's tabs."""
        frame: NewsFrame = {"type": "news", "items": items, "t": self.clock.now_ms()}
        self._outbox.put(frame)

    def news_status(self, state: str, reason: str) -> None:
        """The news feed's state changed (e.g. the key was rejected), or a new tab joined."""
        feed = {"state": state, "reason": reason}
        frame: NewsFrame = {"type": "news", "items": [], "feed": feed, "t": self.clock.now_ms()}
        self._outbox.put(frame)

    # -- market metrics (a metrics listener asks and reports: streaming/risk/) -------------
    async def market_metrics(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Metrics from the first link whose adapter serves them ({} without one)."""
        for adapter in self.adapters.values():
            if isinstance(adapter, SupportsMarketMetrics):
                return await adapter.market_metrics(symbols)
        return {}

    def metrics_changed(self, metrics: dict[str, Metrics]) -> None:
        """New metrics: the state's (the snapshot's) and, if any changed, every tab's."""
        if self.state.set_metrics(metrics):
            self._send_metrics()

    def _send_metrics(self) -> None:
        frame: MetricsFrame = {
            "type": "metrics",
            "metrics": dict(self.state.metrics),
            "t": self.clock.now_ms(),
        }
        self._outbox.put(frame)

    # -- candle history (a chart, the β regression) -----------------------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> CandleHistory:
        """Candle history from the first link that can serve it (history.py)."""
        return await candle_history(
            self.user_id,
            links=self.links,
            adapters=self.adapters,
            health=self.feed.health,
            source=self.feed.source,
            coin_link=self.feed.coin_link,
            symbol=symbol,
            tf=tf,
            from_ms=from_ms,
            within=within,
        )
