"""What an Alpaca link answers when asked: its coins' candles (bars.py: its crypto bars,
the only market data it quotes) and one day of an account's equity (portfolio.py); one of
the parts its adapter holds, in both modes. Keys need no session: each ask opens a
short client of the link's key (a history request never waits for the stream)."""

from __future__ import annotations

from datetime import date

from django.conf import settings

from streaming.brokers.alpaca.bars import crypto_bars
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.portfolio import TRADING_PATH, broker_path, portfolio_history
from streaming.brokers.bars import HistoryError
from streaming.instruments.symbols import coin_pair


class AlpacaReads:
    """The asks of an Alpaca link (Broker API or Trading API, as its connection says)."""

    #: The crypto data's base URL; None: the configured one (`ALPACA_DATA_URL`).
    data_url: str | None = None

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of a coin (`BTC/USD:CXTALP`) from `from_ms`, ascending."""
        pair = coin_pair(symbol)
        if pair is None:
            raise HistoryError("unknown_symbol", f"Alpaca has no market data for {symbol}")
        url = self.data_url or settings.ALPACA_DATA_URL
        return await crypto_bars(url, pair, tf, from_ms, within=within)

    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        """One day of the account's equity from Alpaca's portfolio history
        (alpaca/portfolio.py): a short REST client of this link's key (keys need no session)."""
        ids = [i for i, number in self._connection.accounts.items() if number == account]
        if not ids:
            raise RuntimeError(f"Alpaca account {account} is not connected on this link")
        path = TRADING_PATH if self._connection.trading_api else broker_path(ids[0])
        async with self._connection.client() as client:
            return await portfolio_history(client, path, day)
