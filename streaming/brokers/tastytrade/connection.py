"""What a tastytrade link holds open while it runs, for its adapter's parts to ask on:
the OAuth session and the DXLink streamer (None between connections), and the candle
snapshots being collected on that DXLink.

The adapter's session loop (adapter.py) sets the session and its quotes stream
(quotes.py) the streamer; its reads (reads.py), its order entry (orders.py) and its
chains (chains.py) ask on them and never open a connection of their own: a chart, the
P&L page, the metrics listener or a ticket would otherwise cost a login or a DXLink per
ask, and a broker's limits count those.
"""

from __future__ import annotations

import asyncio

from tastytrade import DXLinkStreamer, Session

from streaming.brokers.tastytrade.candles import CandleRequests


class Connection:
    """A tastytrade link's session and DXLink, as its loops leave them."""

    def __init__(self, link_id: int) -> None:
        #: The OAuth session while the link holds one (None between connections).
        self.session: Session | None = None
        #: The connected DXLink (None between connections): candle history asks it.
        self.dx: DXLinkStreamer | None = None
        #: Set while the DXLink is connected (a request waits for it).
        self.dx_up = asyncio.Event()
        #: Candle snapshots being collected on this DXLink.
        self.candles = CandleRequests(link_id)
