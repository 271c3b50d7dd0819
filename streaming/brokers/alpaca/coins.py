"""An Alpaca link's coin quotes: its crypto market data socket (`v1beta3/crypto/us`).

Alpaca streams no stock quotes here, but its crypto data is the one feed a user whose
quote source has no crypto (Tradier) can mark a coin with: the quote feed makes such a
link the user's coin feed (stream/quote_feed.py) and gives it the wanted coins as
streamer symbols (`BTC/USD:CXTALP`). Each connection: `connected`, the key, subscribe
`quotes` (bid and ask) and `trades` (the last price) for the pairs (`BTC/USD`), report the
`quotes` kind `live`, then read; a change of the wanted coins is a subscribe or an
unsubscribe on the open socket. Nothing wanted: no socket (`idle`). A socket silent for
`watchdog_timeout` while coins are subscribed is dropped and opened again (the supervised
loop's backoff); a refused key is the kind's `error`. Times are Alpaca's own (RFC 3339).
One of the parts an Alpaca adapter holds (the `quotes` kind's loop, in both modes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import orjson
from websockets.asyncio.client import ClientConnection, connect

from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.data_socket import authenticate, receive_or
from streaming.brokers.base import AdapterSink
from streaming.brokers.errors import StreamSilent
from streaming.brokers.payloads import QuoteFields
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.values import num, time_ms
from streaming.instruments.symbols import coin_pair

log = logging.getLogger(__name__)

#: The channels a coin is subscribed on.
CHANNELS = ("quotes", "trades")
NO_FEED = "the broker streams no quotes here"


def coin_fields(message: Mapping[str, object]) -> QuoteFields | None:
    """A `q` (bid and ask) or `t` (a trade) message as quote fields; None for another."""
    kind = message.get("T")
    fields: QuoteFields = {}
    if kind == "q":
        bid, bid_size = num(message.get("bp")), num(message.get("bs"))
        ask, ask_size = num(message.get("ap")), num(message.get("as"))
        if bid is not None:
            fields["bid"] = float(bid)
        if bid_size is not None:
            fields["bid_size"] = float(bid_size)
        if ask is not None:
            fields["ask"] = float(ask)
        if ask_size is not None:
            fields["ask_size"] = float(ask_size)
    elif kind == "t":
        price = num(message.get("p"))
        if price is not None:
            fields["last"] = float(price)
    else:
        return None
    at = time_ms(message.get("t"))
    if at is not None:
        fields["t"] = at
    return fields if set(fields) - {"t"} else None


class CoinQuotes:
    """The coin quotes loop an Alpaca adapter runs beside its account loop."""

    def __init__(
        self, adapter: SupervisedAdapter, connection: Connection, coin_stream_url: str | None
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        #: The crypto data socket's URL; None: the link quotes nothing (`idle`).
        self.coin_stream_url = coin_stream_url
        #: The wanted coins: pair (`BTC/USD`) -> the streamer symbol it is reported as.
        self._coins: dict[str, str] = {}
        self._coins_changed = asyncio.Event()
        self.coin_connects = 0

    def set_symbols(self, symbols: set[str]) -> None:
        """The symbols the quote feed asks of this link: only coins are streamed."""
        wanted = {pair: s for s in symbols if (pair := coin_pair(s)) is not None}
        if wanted != self._coins:
            self._coins = wanted
            self._coins_changed.set()

    async def once(self, sink: AdapterSink) -> None:
        """The `quotes` kind's connections, until one fails: a socket while coins are
        wanted, none (`idle`) while none are. Coins no longer wanted close the socket
        here, not by ending the loop: that is no reconnect."""
        url = self.coin_stream_url
        if url is None:
            await self._adapter._report_change(sink, "quotes", "idle", NO_FEED)
            await asyncio.Event().wait()  # until cancelled
            return
        while True:
            while not self._coins:
                self._coins_changed.clear()
                await self._adapter._report_change(sink, "quotes", "idle", "no coins wanted")
                await self._coins_changed.wait()
            if self._adapter.kind_state("quotes") != "live":
                await self._adapter._report_change(sink, "quotes", "connecting")
            await self._adapter._gate(sink)
            timeout = max(self._adapter.config.watchdog_timeout, 1.0)
            async with connect(url, open_timeout=timeout, ping_interval=20) as ws:
                await authenticate(
                    ws,
                    self._connection.key_id,
                    self._connection.secret_key,
                    within=timeout,
                    what="crypto market data",
                )
                subscribed: dict[str, str] = {}
                await self._sync_coins(ws, subscribed)
                self.coin_connects += 1
                if self._adapter.kind_state("quotes") != "live":
                    await self._adapter._report(sink, "quotes", "live")
                await self._read_coins(ws, subscribed, sink)

    async def _sync_coins(self, ws: ClientConnection, subscribed: dict[str, str]) -> None:
        """Subscribe the wanted pairs not subscribed yet, unsubscribe the others."""
        self._coins_changed.clear()
        wanted = dict(self._coins)
        removed = sorted(set(subscribed) - set(wanted))
        added = sorted(set(wanted) - set(subscribed))
        if removed:
            body = {"action": "unsubscribe", **{c: removed for c in CHANNELS}}
            await ws.send(orjson.dumps(body).decode())
        if added:
            body = {"action": "subscribe", **{c: added for c in CHANNELS}}
            await ws.send(orjson.dumps(body).decode())
        subscribed.clear()
        subscribed.update(wanted)

    async def _read_coins(
        self, ws: ClientConnection, subscribed: dict[str, str], sink: AdapterSink
    ) -> None:
        """Read until the socket ends or goes silent, following the wanted coins."""
        silent_after = self._adapter.config.watchdog_timeout
        heard = time.monotonic()
        while True:
            if not subscribed:
                return  # nothing wanted any more: the next connection waits, idle
            left = max(0.0, silent_after - (time.monotonic() - heard))
            raw = await receive_or(ws, self._coins_changed, left)
            if raw is not None:
                heard = time.monotonic()
                await self._on_coin_frame(raw, subscribed, sink)
            elif time.monotonic() - heard >= silent_after and not self._coins_changed.is_set():
                raise StreamSilent(f"no crypto market data for {silent_after:.0f} s (watchdog)")
            if self._coins_changed.is_set():
                await self._sync_coins(ws, subscribed)

    async def _on_coin_frame(
        self, raw: str | bytes, subscribed: dict[str, str], sink: AdapterSink
    ) -> None:
        try:
            messages = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.warning(
                "alpaca link %s: garbage on the crypto socket: %r", self._adapter.link_id, raw[:200]
            )
            return
        for message in messages if isinstance(messages, list) else []:
            if not isinstance(message, dict):
                continue
            if message.get("T") == "error":
                log.warning(
                    "alpaca link %s: crypto socket error %s %s",
                    self._adapter.link_id,
                    message.get("code"),
                    message.get("msg"),
                )
                continue
            symbol = subscribed.get(str(message.get("S", "")))
            fields = coin_fields(message) if symbol is not None else None
            if symbol is not None and fields is not None:
                # not `_quote`: its stamp of `last_data` is the account stream's watchdog's
                sink.quote(symbol, fields)
