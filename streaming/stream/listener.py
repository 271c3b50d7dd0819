"""What a feature run beside a user's stream sees of it, and what the stream calls on it.

The stream knows no feature: the composition root (streaming/wiring.py) hands the
manager its listeners (the price alerts, the news feed, …). Each is attached to the
manager when it is built, runs as one of its tasks while it runs (cancelled on stop),
and is told of the per-tick and subscription events through the hooks below.
"""

from __future__ import annotations

from typing import Any, Protocol

from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import QuoteFields
from streaming.contract.frames import NewsArticle
from streaming.contract.layer import CandleHistory
from streaming.contract.risk import Metrics
from streaming.stream.state import UserState


class StreamHost(Protocol):
    """The user's stream as a listener uses it (the manager)."""

    user_id: int
    state: UserState

    @property
    def viewed(self) -> bool:
        """Whether a page shows the stream (not only a watch with no page open)."""
        ...

    @property
    def positions_streamed(self) -> bool:
        """Whether the positions' quotes stream (a page, or a listener watching them)."""
        ...

    def accounts_known(self) -> bool:
        """Whether every link's account snapshot was taken."""
        ...

    async def authorized(self) -> bool:
        """Whether this process may still speak for the user (the lease gate)."""
        ...

    def symbols_changed(self) -> None:
        """The listener's `symbols()` changed: the stream subscribes the new union."""
        ...

    async def account_event_logged(
        self, kind: str, link_id: int, account: str, payload: Any
    ) -> None:
        """A numbered account frame, returning once it is in the event log."""
        ...

    def news_items(self, items: list[NewsArticle]) -> None:
        """Stored articles (the contract's news items) for the user's tabs."""
        ...

    def news_status(self, state: str, reason: str) -> None:
        """The news feed's state, for the user's tabs."""
        ...

    async def market_metrics(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Market metrics (the contract's Metrics) from the first link that serves them;
        {} without one. Raises what the broker raised."""
        ...

    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> CandleHistory:
        """Candle history from the first link that can serve it."""
        ...

    def metrics_changed(self, metrics: dict[str, Metrics]) -> None:
        """New market metrics per underlying, for the snapshot and the user's tabs."""
        ...


class StreamListener(Protocol):
    """A feature run by the user's stream manager."""

    def attach(self, stream: StreamHost) -> None:
        """Called once, when the manager is built."""
        ...

    async def run(self) -> None:
        """Run while the stream runs (a task of the manager's, cancelled on stop)."""
        ...

    def symbols(self) -> set[str]:
        """Symbols the listener wants streamed, beside the tabs' (e.g. active alerts)."""
        ...

    def watches_positions(self) -> bool:
        """Whether the listener evaluates the positions with no page open (a limit set):
        their quotes then stream though no tab shows them."""
        ...

    def on_symbols(self, wanted: set[str]) -> None:
        """The stream's wanted-symbol union changed (or was confirmed)."""
        ...

    def on_quote(self, symbol: str, quote: QuoteFields) -> None:
        """Per tick: a quote's merged last values. Dictionary work only, no I/O."""
        ...

    def on_tab_opened(self) -> None:
        """A new tab joined the user's stream (it may need the listener's state)."""
        ...

    def on_user_changed(self, what: str) -> None:
        """Something the user edited outside the stream changed (e.g. "alerts")."""
        ...

    def on_order(self, link_id: int, account: str, order: Order) -> None:
        """An order event, as the stream applied it (a fill, a status). No I/O here."""
        ...


class QuietHooks:
    """The hooks a listener does not use, as no-ops: a listener that cares about few of the
    stream's events inherits these and writes only its own (and `attach`, `run`)."""

    def symbols(self) -> set[str]:
        return set()

    def watches_positions(self) -> bool:
        return False

    def on_symbols(self, wanted: set[str]) -> None:
        pass

    def on_quote(self, symbol: str, quote: QuoteFields) -> None:
        pass

    def on_tab_opened(self) -> None:
        pass

    def on_user_changed(self, what: str) -> None:
        pass

    def on_order(self, link_id: int, account: str, order: Order) -> None:
        pass
