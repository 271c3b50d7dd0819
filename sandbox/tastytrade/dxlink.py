"""The DXLink market-data websocket, as tastytrade's quote streamer speaks it.

Flow (the DXLink protocol as the tastytrade SDK drives it; docs/sandbox.md): SETUP →
AUTH_STATE UNAUTHORIZED → AUTH → AUTH_STATE AUTHORIZED → CHANNEL_REQUEST /
CHANNEL_OPENED → FEED_SETUP / FEED_CONFIG → FEED_SUBSCRIPTION add/remove/reset →
FEED_DATA (COMPACT, the client's field order, one event type per message, each
under the SDK's 64 KiB limit) → KEEPALIVE both ways → CHANNEL_CANCEL / CHANNEL_CLOSED.
Data is aggregated per channel: a symbol that ticks several times within the
aggregation period is sent once, with its latest values. TimeAndSale is the exception:
it is a stream of every trade, so each flush sends all the trades since the last one
(and a subscription with `fromTime` first gets the remembered trades as a snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

import orjson
from starlette.websockets import WebSocket

from sandbox.core.hub import WsSession, encode_compact
from sandbox.core.market.events import EVENT_FIELDS
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import classify, parse_candle_symbol

log = logging.getLogger(__name__)

TIME_AND_SALE = "TimeAndSale"


class FeedChannel:
    """One FEED channel: its setup, its subscriptions and what changed since the last flush."""

    def __init__(self, session: DXLinkSession, number: int, contract: str) -> None:
        self.session = session
        self.number = number
        self.contract = contract
        self.aggregation_period = 0.1
        self.data_format = "COMPACT"
        self.fields: dict[str, tuple[str, ...]] = {}
        self.types_by_symbol: dict[str, set[str]] = defaultdict(set)
        self.dirty: set[tuple[str, str]] = set()
        #: TimeAndSale: the sequence of the last trade sent, per symbol.
        self.sale_cursor: dict[str, int] = {}
        self.wake = asyncio.Event()
        self.last_flush = 0.0
        self.flusher: asyncio.Task[None] | None = None

    def mark(self, symbol: str) -> None:
        """The market has news for a symbol: queue each subscribed type of it (latest wins)."""
        types = self.types_by_symbol.get(symbol)
        if types:
            for event_type in types:
                self.dirty.add((event_type, symbol))
            self.wake.set()

    def field_order(self, event_type: str) -> tuple[str, ...]:
        return self.fields.get(event_type) or EVENT_FIELDS[event_type]

    def subscriptions(self) -> dict[str, list[str]]:
        by_type: dict[str, list[str]] = defaultdict(list)
        for symbol, types in self.types_by_symbol.items():
            for event_type in types:
                by_type[event_type].append(symbol)
        return {k: sorted(v) for k, v in by_type.items()}


class DXLinkSession(WsSession):
    """One DXLink connection, from SETUP to close."""

    kind = "dxlink"

    def __init__(self, websocket: WebSocket, sandbox: Simulation) -> None:
        super().__init__(websocket, sandbox)
        self.authorized = False
        self.channels: dict[int, FeedChannel] = {}
        self.last_client_message = time.monotonic()
        self.last_keepalive = time.monotonic()
        self.events_sent = 0
        #: Candle subscriptions taken late (the candle_delay fault), kept until taken.
        self._late: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------
    async def _background(self) -> None:
        await self._keepalive()

    def _cleanup(self) -> None:
        for channel in list(self.channels.values()):
            self._close_channel(channel)
        for task in self._late:
            task.cancel()

    async def _receive_loop(self) -> None:
        while not self.closed:
            text = await self.websocket.receive_text()
            self.messages_received += 1
            self.last_client_message = time.monotonic()
            try:
                message = orjson.loads(text)
                if not isinstance(message, dict):
                    raise ValueError("message is not an object")
            except ValueError:
                await self._fatal("BAD_ACTION", "Malformed message")
                return
            await self._handle(message)

    async def _keepalive(self) -> None:
        """Server KEEPALIVE, and the client keepalive timeout the client itself declared."""
        config = self.sandbox.config
        while not self.closed:
            await asyncio.sleep(min(config.keepalive_interval, 1.0))
            if self.sandbox.faults.blackouts and await self.hold():
                # a frozen server times no client out for its own freeze
                self.last_client_message = max(self.last_client_message, time.monotonic())
            now = time.monotonic()
            timeout = config.client_keepalive_timeout
            if timeout and now - self.last_client_message > timeout:
                await self._fatal("TIMEOUT", "No keepalive received")
                return
            if now - self.last_keepalive >= config.keepalive_interval:
                self.last_keepalive = now
                await self.send_json({"type": "KEEPALIVE", "channel": 0})

    async def _fatal(self, error: str, message: str) -> None:
        await self.send_json({"type": "ERROR", "channel": 0, "error": error, "message": message})
        await self.close(1000)

    # -- protocol ---------------------------------------------------------------
    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel", 0)
        if kind == "SETUP":
            await self.send_json(
                {
                    "type": "SETUP",
                    "channel": 0,
                    "version": "1.0-streamdesk-sandbox",
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                }
            )
            await self.send_json({"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"})
        elif kind == "AUTH":
            await self._auth(str(message.get("token", "")))
        elif kind == "KEEPALIVE":
            pass
        elif not self.authorized:
            await self._fatal("UNAUTHORIZED", "Authorization required")
        elif kind == "CHANNEL_REQUEST":
            await self._channel_request(channel, message)
        elif kind == "CHANNEL_CANCEL":
            feed = self.channels.get(channel)
            if feed is not None:
                self._close_channel(feed)
                await self.send_json({"type": "CHANNEL_CLOSED", "channel": channel})
        elif kind == "FEED_SETUP":
            await self._feed_setup(channel, message)
        elif kind == "FEED_SUBSCRIPTION":
            await self._feed_subscription(channel, message)
        else:
            await self._fatal("UNSUPPORTED_PROTOCOL", f"Unknown message type: {kind}")

    async def _auth(self, token: str) -> None:
        sandbox = self.sandbox
        try:
            credential = sandbox.credentials.check_quote_token(token)
        except Exception as exc:
            await self._fatal("UNAUTHORIZED", str(getattr(exc, "message", exc)))
            return
        if sandbox.faults.hang_auth:
            return  # never AUTHORIZED: the SDK waits forever without a timeout of its own
        self.credential = credential
        self.authorized = True
        await self.send_json(
            {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": credential}
        )

    async def _channel_request(self, number: int, message: dict[str, Any]) -> None:
        if message.get("service") != "FEED":
            await self._fatal("UNSUPPORTED_PROTOCOL", "Only the FEED service is available")
            return
        if number in self.channels or not isinstance(number, int) or number <= 0:
            await self._fatal("BAD_ACTION", f"Invalid channel {number}")
            return
        parameters = message.get("parameters") or {}
        self.channels[number] = FeedChannel(self, number, parameters.get("contract", "AUTO"))
        if self.sandbox.faults.hang_channels:
            return
        await self.send_json(
            {
                "type": "CHANNEL_OPENED",
                "channel": number,
                "service": "FEED",
                "parameters": {"contract": parameters.get("contract", "AUTO"), "subFormat": "LIST"},
            }
        )

    def _channel(self, number: int) -> FeedChannel | None:
        return self.channels.get(number)

    async def _feed_setup(self, number: int, message: dict[str, Any]) -> None:
        feed = self._channel(number)
        if feed is None:
            await self._fatal("BAD_ACTION", f"Channel {number} is not open")
            return
        period = message.get("acceptAggregationPeriod")
        if isinstance(period, int | float):
            feed.aggregation_period = max(float(period), self.sandbox.config.min_aggregation_period)
        data_format = message.get("acceptDataFormat")
        if data_format in ("COMPACT", "FULL"):
            feed.data_format = data_format
        accept = message.get("acceptEventFields") or {}
        for event_type, names in accept.items():
            if event_type in EVENT_FIELDS and isinstance(names, list):
                known = [n for n in names if n in EVENT_FIELDS[event_type]]
                if "eventSymbol" not in known:
                    known.insert(0, "eventSymbol")
                feed.fields[event_type] = tuple(known)
        await self.send_json(
            {
                "type": "FEED_CONFIG",
                "channel": number,
                "dataFormat": feed.data_format,
                "aggregationPeriod": feed.aggregation_period,
                "eventFields": {t: list(f) for t, f in feed.fields.items()},
            }
        )

    async def _feed_subscription(
        self, number: int, message: dict[str, Any], *, late: bool = False
    ) -> None:
        feed = self._channel(number)
        if feed is None:
            await self._fatal("BAD_ACTION", f"Channel {number} is not open")
            return
        hub = self.sandbox.hub
        market = self.sandbox.market
        if message.get("reset"):
            for symbol in list(feed.types_by_symbol):
                hub.unwatch_symbol(symbol, feed)
            feed.types_by_symbol.clear()
            feed.dirty.clear()
            feed.sale_cursor.clear()
        for item in message.get("remove") or ():
            symbol, event_type = _item(item)
            types = feed.types_by_symbol.get(symbol)
            if types is not None:
                types.discard(event_type)
                feed.dirty.discard((event_type, symbol))
                if event_type == TIME_AND_SALE:
                    feed.sale_cursor.pop(symbol, None)
                if not types:
                    del feed.types_by_symbol[symbol]
                    hub.unwatch_symbol(symbol, feed)
        # built here, with no await in between, so the live cursor starts where they end
        snapshots: list[tuple[str, list[dict[str, Any]]]] = []
        for item in message.get("add") or ():
            symbol, event_type = _item(item)
            if event_type not in EVENT_FIELDS or not symbol:
                continue  # the real feed ignores what it cannot serve
            if not _applies(event_type, symbol) or not market.ensure(symbol):
                continue
            if event_type == "Candle" and self.sandbox.faults.candle_delay and not late:
                self._subscribe_later(self.sandbox.faults.candle_delay, feed, item)
                continue
            feed.types_by_symbol[symbol].add(event_type)
            hub.watch_symbol(symbol, feed)
            if event_type == "Candle":
                from_time = int(item.get("fromTime") or 0)
                snapshots.append((event_type, market.candles(symbol, from_time)))
            elif event_type == TIME_AND_SALE:
                market.keep_sales(symbol)
                if item.get("fromTime") is not None:
                    from_time = int(item.get("fromTime") or 0)
                    snapshots.append((event_type, market.sales_snapshot(symbol, from_time)))
                    feed.sale_cursor[symbol] = market.last_sale_sequence(symbol)
                elif symbol not in feed.sale_cursor:
                    # a plain subscription starts with the latest trade, as Trade does
                    feed.sale_cursor[symbol] = market.last_sale_sequence(symbol) - 1
                    feed.dirty.add((event_type, symbol))
            else:
                feed.dirty.add((event_type, symbol))
        if feed.flusher is None and feed.types_by_symbol:
            feed.flusher = asyncio.create_task(self._flush_loop(feed))
        for event_type, events in snapshots:
            await self._send_rows(feed, event_type, events)
        if feed.dirty:
            feed.wake.set()

    def _subscribe_later(self, delay: float, feed: FeedChannel, item: Any) -> None:
        """A candle subscription taken `delay` seconds late (the candle_delay fault): its
        snapshot and its live candles start then, as a slow history would on the real
        feed; unless the socket or its channel closed meanwhile."""

        async def subscribe() -> None:
            await asyncio.sleep(delay)
            if not self.closed and self.channels.get(feed.number) is feed:
                await self._feed_subscription(feed.number, {"add": [item]}, late=True)

        task = asyncio.create_task(subscribe())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    def _close_channel(self, feed: FeedChannel) -> None:
        for symbol in feed.types_by_symbol:
            self.sandbox.hub.unwatch_symbol(symbol, feed)
        feed.types_by_symbol.clear()
        if feed.flusher is not None:
            feed.flusher.cancel()
        self.channels.pop(feed.number, None)

    # -- data -------------------------------------------------------------------
    async def _flush_loop(self, feed: FeedChannel) -> None:
        """Send what changed, at most once per aggregation period."""
        with contextlib.suppress(asyncio.CancelledError):
            while not self.closed:
                await feed.wake.wait()
                wait = feed.last_flush + feed.aggregation_period - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                feed.wake.clear()
                feed.last_flush = time.monotonic()
                dirty, feed.dirty = feed.dirty, set()
                await self._flush(feed, dirty)

    async def _flush(self, feed: FeedChannel, dirty: set[tuple[str, str]]) -> None:
        by_type: dict[str, list[str]] = defaultdict(list)
        for event_type, symbol in dirty:
            by_type[event_type].append(symbol)
        hub = self.sandbox.hub
        build = self.sandbox.market.event
        for event_type, symbols in by_type.items():
            if event_type == TIME_AND_SALE:
                await self._send_rows(feed, event_type, self._new_sales(feed, symbols))
                continue
            if feed.data_format == "FULL":
                events = [e for s in symbols if (e := build(event_type, s)) is not None]
                await self._send_full(feed, event_type, events)
                continue
            fields = feed.field_order(event_type)
            rows = [hub.encoded_row(event_type, s, fields, build) for s in symbols]
            await self._send_encoded(feed, event_type, [r for r in rows if r is not None])

    def _new_sales(self, feed: FeedChannel, symbols: list[str]) -> list[dict[str, Any]]:
        """Every trade of these symbols the channel has not been sent yet, oldest first."""
        market = self.sandbox.market
        events: list[dict[str, Any]] = []
        for symbol in symbols:
            if symbol not in feed.sale_cursor:
                continue
            events += market.sales_since(symbol, feed.sale_cursor[symbol])
            feed.sale_cursor[symbol] = market.last_sale_sequence(symbol)
        return events

    async def _send_rows(self, feed: FeedChannel, event_type: str, events: list[dict]) -> None:
        if feed.data_format == "FULL":
            await self._send_full(feed, event_type, events)
            return
        fields = feed.field_order(event_type)
        await self._send_encoded(feed, event_type, [encode_compact(e, fields) for e in events])

    async def _send_encoded(self, feed: FeedChannel, event_type: str, rows: list[bytes]) -> None:
        """FEED_DATA messages, split so that none exceeds the size limit."""
        if not rows:
            return  # an empty data list kills the SDK's reader
        prefix = b'{"type":"FEED_DATA","channel":%d,"data":["%s",[' % (
            feed.number,
            event_type.encode(),
        )
        suffix = b"]]}"
        limit = self.sandbox.config.max_message_bytes - len(prefix) - len(suffix)
        batch: list[bytes] = []
        size = 0
        for row in rows:
            if batch and size + len(row) + 1 > limit:
                await self._emit(prefix + b",".join(batch) + suffix, len(batch))
                batch, size = [], 0
            batch.append(row)
            size += len(row) + 1
        if batch:
            await self._emit(prefix + b",".join(batch) + suffix, len(batch))

    async def _send_full(self, feed: FeedChannel, event_type: str, events: list[dict]) -> None:
        for start in range(0, len(events), 100):
            chunk = [{"eventType": event_type, **e} for e in events[start : start + 100]]
            if chunk:
                await self.send_json({"type": "FEED_DATA", "channel": feed.number, "data": chunk})
                self.events_sent += len(chunk)

    async def _emit(self, payload: bytes, events: int) -> None:
        await self.send_bytes_text(payload)
        if not self.silent:
            self.events_sent += events
            self.sandbox.counters["dxlink_events_sent"] += events

    def state(self) -> dict[str, Any]:
        data = super().state()
        data["authorized"] = self.authorized
        data["events_sent"] = self.events_sent
        data["channels"] = {
            str(n): {
                "aggregation_period": c.aggregation_period,
                "data_format": c.data_format,
                "subscriptions": c.subscriptions(),
            }
            for n, c in self.channels.items()
        }
        return data


def _item(item: Any) -> tuple[str, str]:
    if not isinstance(item, dict):
        return "", ""
    return str(item.get("symbol", "")), str(item.get("type", ""))


def _applies(event_type: str, symbol: str) -> bool:
    """Greeks and TheoPrice exist only for options, Candle only for candle symbols."""
    kind = classify(symbol)
    if event_type == "Candle":
        return kind == "candle" and parse_candle_symbol(symbol) is not None
    if kind == "candle":
        return False
    if event_type in ("Greeks", "TheoPrice"):
        return kind == "option"
    return kind is not None


async def dxlink_endpoint(websocket: WebSocket) -> None:
    """ASGI websocket route for /dxlink."""
    await DXLinkSession(websocket, websocket.app.state.sandbox).run()
