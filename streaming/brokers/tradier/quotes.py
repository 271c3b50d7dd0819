"""A Tradier link's quotes: its HTTP market stream, and greeks from its option chains; one
of the parts its adapter holds (adapter.py runs it as the `quotes` kind's loop).

Each connection runs the market stream, a greeks refresher and a watchdog. Tradier's
streaming rules shape it: a session id (`POST /v1/markets/events/session`) may only
*start* a stream, within 5 minutes, and a token may have one stream at a time. So every
stream start takes a fresh session id, a symbol change closes the old stream before a new
session is created, and nothing is streamed while no symbol is wanted (`idle`). Greeks
come from the option chains (tradier/chains.py: shared for `chain_cache_ttl`, Tradier
recomputes them hourly), on a symbol change and every TTL. It reports through the
adapter's supervision (supervised.py): its status, the lease gate, the quotes and the
watchdog's clock.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import orjson

from streaming.brokers.base import AdapterSink
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import BrokerHTTPError, StreamEnded
from streaming.brokers.market_data_cache import FetchFailed
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tradier.chains import TradierChains
from streaming.brokers.tradier.client import TradierClient
from streaming.brokers.tradier.connection import Connection
from streaming.brokers.tradier.payloads import TradierChainRow
from streaming.brokers.tradier.wire import greeks_fields, quote_fields
from streaming.brokers.values import num
from streaming.instruments.symbols import is_option, occ_parts, streamer_to_occ_symbol

log = logging.getLogger(__name__)

STREAM_FILTER = "quote,trade,summary"
#: Debounce of symbol changes: a burst of set_symbols calls costs one new session.
SYMBOL_SETTLE = 0.05


class MarketStream:
    """The `quotes` kind of a Tradier link: the market stream, greeks and the watchdog."""

    def __init__(
        self,
        adapter: SupervisedAdapter,
        connection: Connection,
        chains: TradierChains,
        delay: DelayMonitor,
        stream_url: str,
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        self._chains = chains
        self._delay = delay
        self.stream_url = stream_url.rstrip("/")
        self._symbols: set[str] = set()
        self._symbols_changed = asyncio.Event()
        self._greeks_wanted = asyncio.Event()
        self._subscribed: set[str] = set()
        self._prev_close: dict[str, float] = {}
        self.sessions_created = 0
        self.streams_started = 0
        self.bad_lines = 0
        self.stream_errors: list[str] = []

    def set_symbols(self, symbols: set[str]) -> None:
        """The quote symbols wanted now (streamer form): a new stream, and new greeks."""
        if symbols != self._symbols:
            self._symbols = set(symbols)
            self._symbols_changed.set()
            self._greeks_wanted.set()

    async def once(self, sink: AdapterSink) -> None:
        """One connection: the market stream, greeks and the watchdog, until one fails."""
        client = self._connection.client
        assert client is not None
        self._subscribed = set()
        self._adapter.last_data = time.monotonic()
        self._greeks_wanted.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._market_loop(client, sink))
            tg.create_task(self._greeks_loop(sink))
            tg.create_task(
                self._adapter._watchdog("market data", armed=lambda: bool(self._subscribed))
            )

    async def _market_loop(self, client: TradierClient, sink: AdapterSink) -> None:
        """One stream at a time, each started with a brand-new session id."""
        while True:
            self._symbols_changed.clear()
            wanted = {s for s in self._symbols if not s.startswith("/")}  # no futures
            if not wanted:
                self._subscribed = set()
                await self._adapter._report_change(sink, "quotes", "idle", "no symbols wanted")
                await self._symbols_changed.wait()
                await asyncio.sleep(SYMBOL_SETTLE)
                continue
            if self._adapter.kind_state("quotes") != "live":
                await self._adapter._report_change(sink, "quotes", "connecting")
            by_wire = {streamer_to_occ_symbol(s) or s: s for s in sorted(wanted)}
            await self._adapter._gate(sink)
            body = await client.post("/v1/markets/events/session")
            session_id = (body or {}).get("stream", {}).get("sessionid")
            if not session_id:
                raise BrokerHTTPError(200, "no session id in the session answer")
            self.sessions_created += 1
            form = {
                "symbols": ",".join(by_wire),
                "sessionid": session_id,
                "linebreak": "true",
                "filter": STREAM_FILTER,
            }
            async with client.stream(f"{self.stream_url}/v1/markets/events", form) as response:
                self.streams_started += 1
                self._subscribed = wanted
                self._adapter.last_data = time.monotonic()
                self._delay.forget()
                if self._adapter.kind_state("quotes") != "live":
                    await self._adapter._report(sink, "quotes", "live")
                reader = asyncio.create_task(self._read(response, by_wire, sink))
                changed = asyncio.create_task(self._symbols_changed.wait())
                try:
                    await asyncio.wait({reader, changed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
                    if not reader.done():
                        reader.cancel()
                    results = await asyncio.gather(reader, changed, return_exceptions=True)
                if reader.done() and not reader.cancelled():
                    error = results[0]
                    if isinstance(error, BaseException):
                        raise error
                    raise StreamEnded("broker closed the market stream")
            # symbols changed: the old stream is closed before a new session is created
            await asyncio.sleep(SYMBOL_SETTLE)

    async def _read(
        self, response: httpx.Response, by_wire: dict[str, str], sink: AdapterSink
    ) -> None:
        async for line in response.aiter_lines():
            line = line.strip()
            if not line:
                continue
            self._adapter.last_data = time.monotonic()
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.bad_lines += 1
                if self.bad_lines <= 5 or self.bad_lines % 100 == 0:
                    log.warning("tradier link %s: unparsable stream line", self._adapter.link_id)
                continue
            if not isinstance(event, dict):
                self.bad_lines += 1
                continue
            if "error" in event:
                self.stream_errors.append(str(event["error"])[:200])
                log.warning(
                    "tradier link %s: stream error %s", self._adapter.link_id, event["error"]
                )
                continue
            symbol = by_wire.get(str(event.get("symbol", "")))
            if symbol is None:
                continue
            if event.get("type") == "summary":
                prev = num(event.get("prevClose"))
                if prev is not None:
                    self._prev_close[symbol] = float(prev)
            fields = quote_fields(event, self._prev_close.get(symbol))
            if fields:
                await self._adapter._quote(sink, symbol, fields)

    async def option_chain(self, symbol: str, expiration: str) -> list[TradierChainRow]:
        """The chain of one expiration with greeks, as Tradier sends it: shared by every
        process for `chain_cache_ttl` (one broker fetch per TTL, whoever asks: this
        greeks loop or a chain page) and paced under the token's market-data limit."""
        rows, _ = await self._chains.raw_rows(symbol, expiration)
        return rows

    async def expirations(self, symbol: str) -> list[str]:
        """The underlying's expiration dates, cached like the chains."""
        dates, _ = await self._chains.expirations(symbol)
        return [d["date"] for d in dates]

    async def refresh_greeks(self, sink: AdapterSink) -> int:
        """Report greeks of every wanted option from (cached) chains; returns how many."""
        by_chain: dict[tuple[str, str], dict[str, str]] = {}
        for symbol in sorted(self._symbols):
            if not is_option(symbol):
                continue
            occ = streamer_to_occ_symbol(symbol)
            parts = occ_parts(occ) if occ else None
            if occ and parts:
                by_chain.setdefault(parts, {})[occ] = symbol
        reported = 0
        for (root, expiration), wanted in by_chain.items():
            try:
                rows = await self.option_chain(root, expiration)
            except (FetchFailed, TimeoutError) as exc:
                log.info(
                    "tradier link %s: chain %s %s: %s", self._adapter.link_id, root, expiration, exc
                )
                continue
            for row in rows:
                streamer = wanted.get(str(row.get("symbol")))
                fields = greeks_fields(row) if streamer else None
                if streamer and fields:
                    sink.greeks(streamer, fields)
                    reported += 1
        return reported

    async def _greeks_loop(self, sink: AdapterSink) -> None:
        """On a symbol change and every `chain_cache_ttl` (Tradier refreshes hourly)."""
        while True:
            self._greeks_wanted.clear()
            if any(is_option(s) for s in self._symbols):
                await self._adapter._gate(sink)
                await self.refresh_greeks(sink)
            try:
                async with asyncio.timeout(self._adapter.config.chain_cache_ttl):
                    await self._greeks_wanted.wait()
                await asyncio.sleep(SYMBOL_SETTLE)
            except TimeoutError:
                pass
