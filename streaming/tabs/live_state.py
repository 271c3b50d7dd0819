"""A tab's live state against the last snapshot it was sent: the link statuses, quotes,
metrics and watchlist a refresh sends, and the quotes or statuses older than it, not sent.

Account frames are numbered and checked by position (tabs/session.py); the live state is
not. A snapshot holds the newest values: after a resume or an owner change the session
sends them as frames (`send`), and a quotes or status frame the owner made before the last
snapshot is dropped (`older`), because the layer does not order an owner's frames against
its answer to a snapshot request (docs/performance.md, "Quote times: `t` never goes back";
a link's state never goes back either).
"""

from __future__ import annotations

from typing import Protocol

from streaming.contract.frames import SnapshotFrame
from streaming.tabs import frames
from streaming.tabs.quote_pacing import QuotePacing

#: Frames of the live state a snapshot carries too (a newer snapshot supersedes them).
LIVE_STATE_KINDS = frozenset({"quotes", "status"})


class LiveTab(Protocol):
    """What the live state needs of its tab (tabs/session.TabSession is one)."""

    @property
    def pacing(self) -> QuotePacing:
        """The tab's quotes waiting for its interval."""

    async def send_frame(self, frame: frames.TabFrame) -> None: ...


class LiveState:
    """When the tab's last snapshot was made, and the live frames a refresh sends."""

    def __init__(self, tab: LiveTab) -> None:
        self.tab = tab
        #: The owner's time of the last snapshot sent: a quotes or status frame made
        #: before it is older than its values (it waited in the outbox, or behind another
        #: tab's send) and is not sent after it.
        self.at: int | None = None

    def snapshot_sent(self, snapshot: SnapshotFrame) -> None:
        self.at = snapshot["t"]

    def older(self, kind: str, t: int | None) -> bool:
        """Whether a quotes or status frame was made before the last snapshot sent (the
        snapshot holds its values or newer ones): the layer does not order an owner's
        frames against its answer to a snapshot request, so an older one can come after."""
        return kind in LIVE_STATE_KINDS and t is not None and self.at is not None and t < self.at

    async def send(self, snapshot: SnapshotFrame) -> None:
        """A refresh's live part: the snapshot's link statuses, quotes, metrics and
        watchlist, each as its frame."""
        t = snapshot["t"]
        self.at = t
        self.tab.pacing.drop_quotes()  # older than the snapshot's
        for link in snapshot["links"]:
            await self.tab.send_frame(frames.status(link, t))
        if snapshot["quotes"] or snapshot["greeks"]:
            await self.tab.send_frame(frames.quotes(snapshot["quotes"], snapshot["greeks"], t))
        market_metrics = snapshot.get("metrics")  # an owner older than metrics has none
        if market_metrics:
            await self.tab.send_frame(frames.metrics(market_metrics, t))
        watchlist = snapshot.get("watchlist")
        if watchlist is not None:
            await self.tab.send_frame(frames.watchlist(watchlist))
