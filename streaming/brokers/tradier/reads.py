"""What a Tradier link answers when asked: its candle history (tradier/candles.py), paced
under the token's market-data limit it shares with the chains; one of the parts its
adapter holds. Through the link's running client, or a short one (a token needs no
session)."""

from __future__ import annotations

from streaming.brokers.rate_limit import BrokerPacing
from streaming.brokers.tradier.candles import Get, history_candles


class TradierReads:
    """The asks of a Tradier link: `get` is its connection's GET, `market_bucket` the
    token's market-data pacing bucket and per-minute limit, paced in the process's
    `pacing`."""

    def __init__(self, get: Get, market_bucket: tuple[str, int], pacing: BrokerPacing) -> None:
        self._get = get
        self._pacing = pacing
        self._market_bucket = market_bucket

    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of `symbol` from `from_ms` (tradier/candles.py)."""
        return await history_candles(
            self._get, self._pacing, self._market_bucket, symbol, tf, from_ms, within=within
        )
