"""Alpaca's real-time crypto market data socket (alpaca-docs market-data-api
crypto-pricing-data/realtime.md; alpaca-py data/live/crypto.py and websocket.py).

Real host `wss://stream.data.alpaca.markets/v1beta3/crypto/us`; here
`ws://<sandbox>/alpaca/data/v1beta3/crypto/us`, beside the news socket, so the unmodified
alpaca-py connects with `CryptoDataStream(key, secret, url_override=<that url>)`. The
protocol is the market data socket's (market_data.py `DataSocket`: connected, auth within
`alpaca_crypto_auth_timeout`, errors, JSON or MessagePack frames); session kind
`alpaca-crypto` (drop, silence, blackout and refuse_sessions faults aim at it).

Channels `trades`, `quotes`, `orderbooks`, `bars`, `updatedBars`, `dailyBars`, each a list
of pairs (`BTC/USD`) or `*` (every coin); the `subscription` answer lists all six. On every
tick of a subscribed coin's feed symbol (`BTC/USD:CXTALP`: the walk, or a control API
jump) the socket pushes `{"T":"q","S":"BTC/USD","bp","bs","ap","as","t"}` (the feed's bid
and ask) to `quotes`, `{"T":"t","S","p","s","t","i","tks"}` to `trades` when the tick
traded, and, to `bars`, `{"T":"b","S","t","o","h","l","c","v","n","vw"}` for each minute
(with trades) that closed since the last tick: the market's one-minute candle, the same as
the REST bars (crypto_data.py).

Not pushed (subscriptions are acknowledged): `orderbooks`, `updatedBars`, `dailyBars`.
Guesses (UNCONFIRMED): any symbol is accepted into a subscription (only the market's coins
ever push); the messages of one tick share one frame.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from sandbox.alpaca import crypto_data
from sandbox.alpaca import market_data as md
from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.core.market.listings import CRYPTO_PAIRS, crypto_feed_symbol
from sandbox.core.symbols import crypto_pair

__all__ = ["CryptoSession", "routes"]

PATH = crypto_data.PREFIX
#: Channels whose messages the sandbox pushes (the others are only acknowledged).
PUSHED = ("trades", "quotes", "bars")


class CryptoSession(md.DataSocket):
    """One real-time crypto socket; the hub tells it about every tick of its coins."""

    kind = "alpaca-crypto"
    channels = ("trades", "quotes", "orderbooks", "bars", "updatedBars", "dailyBars")
    auth_timeout_setting = "alpaca_crypto_auth_timeout"

    def __init__(self, websocket: WebSocket, facade: AlpacaSandbox) -> None:
        super().__init__(websocket, facade)
        self.subscribed: dict[str, set[str]] = {channel: set() for channel in self.channels}
        #: The feed symbols the hub tells this socket about.
        self.watched: set[str] = set()
        #: Per feed symbol: the last trade already seen, and the live minute's start.
        self._trade_seen: dict[str, tuple[int, int]] = {}
        self._minute_seen: dict[str, int] = {}

    def subscribe(self, action: str, wanted: dict[str, set[str]]) -> None:
        for channel, symbols in wanted.items():
            if action == "subscribe":
                self.subscribed[channel] |= symbols
            else:
                self.subscribed[channel] -= symbols
        self._rewatch()

    def subscriptions(self) -> dict[str, list[str]]:
        return {channel: sorted(self.subscribed[channel]) for channel in self.channels}

    def _wants(self, channel: str, pair: str) -> bool:
        symbols = self.subscribed[channel]
        return pair in symbols or "*" in symbols

    def _rewatch(self) -> None:
        """Watch exactly the coins a pushed channel asks for."""
        market, hub = self.sandbox.market, self.sandbox.hub
        wanted: set[str] = set()
        for pair in CRYPTO_PAIRS:
            feed = crypto_feed_symbol(pair)
            if feed and any(self._wants(channel, pair) for channel in PUSHED):
                wanted.add(feed)
        for feed in wanted - self.watched:
            market.ensure(feed)
            hub.watch_symbol(feed, self)
            trade = market.trade(feed)
            self._trade_seen[feed] = (trade["sequence"], trade["time"])
        for feed in self.watched - wanted:
            hub.unwatch_symbol(feed, self)
        self.watched = wanted
        for feed in wanted:
            pair = crypto_pair(feed) or ""
            if self._wants("bars", pair) and feed not in self._minute_seen:
                minute = crypto_data.candle_symbol(market, feed, "1m")
                self._minute_seen[feed] = market.candle(minute)["time"]
            elif not self._wants("bars", pair):
                self._minute_seen.pop(feed, None)

    def mark(self, symbol: str) -> None:
        """The hub's news that a watched coin ticked: push what its channels ask for."""
        pair = crypto_pair(symbol)
        if self._closed or not self.authenticated or pair is None or symbol not in self.watched:
            return
        market = self.sandbox.market
        when = crypto_data.stamp(self.msgpack)
        batch: list[dict[str, Any]] = []
        if self._wants("quotes", pair):
            batch.append({"T": "q", "S": pair, **crypto_data.quote(market, symbol, when)})
        trade = market.trade(symbol)
        seen = (trade["sequence"], trade["time"])
        if seen != self._trade_seen.get(symbol):
            self._trade_seen[symbol] = seen
            if self._wants("trades", pair):
                batch.append({"T": "t", "S": pair, **crypto_data.trade(market, symbol, when)})
        if symbol in self._minute_seen:
            batch += [{"T": "b", "S": pair, **bar} for bar in self._closed_minutes(symbol, when)]
        if batch:
            self.send(batch)

    def _closed_minutes(self, feed: str, when: crypto_data.Stamp) -> list[dict[str, Any]]:
        """The minute bars (with trades) that closed since the last look, oldest first."""
        market = self.sandbox.market
        live = market.candle(crypto_data.candle_symbol(market, feed, "1m"))["time"]
        since = self._minute_seen[feed]
        if live <= since:
            return []
        self._minute_seen[feed] = live
        closed = crypto_data.minute_candles(market, feed, since)
        return [
            crypto_data.bar(c, when) for c in closed if since <= c["time"] < live and c["count"] > 0
        ]

    def _cleanup(self) -> None:
        for feed in self.watched:
            self.sandbox.hub.unwatch_symbol(feed, self)
        self.watched = set()


async def crypto_socket(websocket: WebSocket) -> None:
    await CryptoSession(websocket, websocket.app.state.alpaca).run()


routes = [WebSocketRoute(PATH, crypto_socket)]
