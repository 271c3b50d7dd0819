"""The Tradier adapter: REST snapshot and polling for accounts, the HTTP market stream for
quotes, option chains (with hourly greeks) for greeks.

One adapter per broker link and one REST client (one rate-limit book per token), with two
independent supervised loops, each with its own backoff and status:

- **account**: list the token's accounts, take a REST snapshot (balances, positions,
  orders), report live, then poll (Tradier's HTTP API has no account push): balances and
  positions every `account_poll_interval` — and at once after a fill — and orders every
  `order_poll_interval` — and at once after this link placed, replaced or cancelled an
  order (tradier/orders.py). A successful balances round confirms the account data fresh; a
  failed round reports `stale`; `poll_failures_before_reconnect` failures in a row
  reconnect the account side.
- **quotes**: the market stream, a greeks refresher and a watchdog. Tradier's streaming
  rules shape it: a session id (`POST /v1/markets/events/session`) may only *start* a
  stream, within 5 minutes, and a token may have one stream at a time. So every stream
  start takes a fresh session id, a symbol change closes the old stream before a new
  session is created, and nothing is streamed while no symbol is wanted (`idle`).

A failure of one loop never restarts the other. Tradier's paper environment
(sandbox.tradier.com) serves delayed quotes: such a link reports `delayed`. Every
upstream connect and REST batch first asks the sink's lease gate. See
docs/streaming-contract.md.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import orjson

from streaming.brokers.base import AdapterSink, StreamConfig
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import BrokerHTTPError, StreamEnded, describe
from streaming.brokers.market_data_cache import FetchFailed
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tradier.candles import history_candles
from streaming.brokers.tradier.chains import TradierChains, tradier_market_bucket
from streaming.brokers.tradier.client import TradierClient, as_list
from streaming.brokers.tradier.fills import FillBook, fill_ids
from streaming.brokers.tradier.orders import TradierOrders
from streaming.brokers.tradier.pacing import Reserve
from streaming.brokers.tradier.wire import (
    balance_payload,
    greeks_fields,
    order_payloads,
    position_payload,
    quote_fields,
)
from streaming.brokers.values import num
from streaming.instruments.symbols import is_option, occ_parts, streamer_to_occ_symbol

log = logging.getLogger(__name__)

__all__ = ["StreamConfig", "TradierAdapter"]

STREAM_FILTER = "quote,trade,summary"
#: Debounce of symbol changes: a burst of set_symbols calls costs one new session.
SYMBOL_SETTLE = 0.05
#: Tradier's paper environment serves quotes 15 minutes late.
DELAYED_HOSTS = {"sandbox.tradier.com": 15 * 60 * 1000}


def known_delay_ms(*urls: str) -> int | None:
    """The delay of a known delayed environment the URLs point at, else None."""
    for url in urls:
        delay = DELAYED_HOSTS.get((urlsplit(url).hostname or "").lower())
        if delay is not None:
            return delay
    return None


class TradierAdapter(TradierOrders, SupervisedAdapter):
    """Streams one Tradier link into a sink, forever, healing on every failure."""

    broker = "tradier"
    #: Always set: the quotes kind reports whether the data is delayed.
    delay: DelayMonitor

    def __init__(
        self,
        *,
        link_id: int,
        access_token: str,
        account_numbers: Iterable[str] = (),
        api_url: str,
        stream_url: str,
        config: StreamConfig | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        self._token = access_token
        self.api_url = api_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
        self._symbols: set[str] = set()
        self._symbols_changed = asyncio.Event()
        self._greeks_wanted = asyncio.Event()
        #: Set when an order filled: balances and positions are re-read at once.
        self._account_wanted = asyncio.Event()
        #: Set after an order was placed, replaced or cancelled (tradier/orders.py): the
        #: orders are polled at once, by the one poll that reports them.
        self._orders_wanted = asyncio.Event()
        self._subscribed: set[str] = set()
        self._client: TradierClient | None = None
        self._fills = FillBook()
        #: Option chains through the cluster-wide cache and pacing (tradier/chains.py).
        self.chains = TradierChains(
            self._get, access_token, urlsplit(self.api_url).netloc, self.config.chain_cache_ttl
        )
        #: History calls share the token's market-data limit with the chains.
        self._market_bucket = tradier_market_bucket(access_token, urlsplit(self.api_url).netloc)
        self._prev_close: dict[str, float] = {}
        self.delay = DelayMonitor(known_delay_ms(self.api_url, self.stream_url))
        #: Failed poll rounds in a row, per poll ("balances", "orders").
        self._poll_failures: dict[str, int] = {}
        self.sessions_created = 0
        self.streams_started = 0
        self.account_polls = 0  # balances/positions rounds (started)
        self.order_polls = 0  # order rounds (started)
        #: Order lists read, per account (a round woken by an order call reads one).
        self.accounts_polled: collections.Counter[str] = collections.Counter()
        #: Balances/positions rounds per account (a round woken by a fill reads one).
        self.balances_polled: collections.Counter[str] = collections.Counter()
        #: The accounts an order call changed since the last order round.
        self._orders_changed_in: set[str] = set()
        #: The accounts the order polls read (set when the account loop starts).
        self._order_accounts: list[str] = []
        #: The accounts with a new fill since the last balances round.
        self._filled_in: set[str] = set()
        self.bad_lines = 0
        self.stream_errors: list[str] = []

    # -- control ------------------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        if symbols != self._symbols:
            self._symbols = set(symbols)
            self._symbols_changed.set()
            self._greeks_wanted.set()

    @property
    def account_every(self) -> float:
        return self.config.account_poll_interval

    # -- the two loops over one client ----------------------------------------------------------
    async def run(self, sink: AdapterSink) -> None:
        async with TradierClient(
            access_token=self._token,
            api_url=self.api_url,
            timeout=self.config.handshake_timeout,
        ) as client:
            self._client = client
            try:
                await self._run_loops(
                    sink, {"quotes": self._quotes_once, "account": self._account_once}
                )
            finally:
                self._client = None

    # -- account: snapshot, then polls --------------------------------------------------------
    async def _account_once(self, sink: AdapterSink) -> None:
        client = self._client
        assert client is not None
        await self._report_change(sink, "account", "connecting")
        await self._gate(sink)
        accounts = await self._accounts(client)
        await self._poll_accounts(client, accounts, sink, full=True)
        await self._poll_orders(client, accounts, sink, full=True)
        self._poll_failures.clear()
        self._account_wanted.clear()
        await self._report(sink, "account", "live")
        sink.fresh(self.link_id, "account")
        async with asyncio.TaskGroup() as tg:
            tg.create_task(
                self._poll_every(
                    "balances",
                    self.config.account_poll_interval,
                    self._poll_accounts,
                    client,
                    accounts,
                    sink,
                    wake=self._account_wanted,
                )
            )
            tg.create_task(
                self._poll_every(
                    "orders",
                    self.config.order_poll_interval,
                    self._poll_orders,
                    client,
                    accounts,
                    sink,
                    wake=self._orders_wanted,
                )
            )

    async def _accounts(self, client: TradierClient) -> list[str]:
        self._order_accounts = [n for n in await client.account_numbers() if self._wants(n)]
        return self._order_accounts

    def _orders_room(self) -> Reserve:
        """The reads the order polls need in a window: every account each interval, and a
        round an order call may wake at any time."""
        accounts = len(self._order_accounts)
        return Reserve(per_second=accounts / self.config.order_poll_interval, base=accounts)

    async def _poll_every(
        self,
        name: str,
        interval: float,
        poll: Any,
        client: TradierClient,
        accounts: list[str],
        sink: AdapterSink,
        *,
        wake: asyncio.Event | None = None,
    ) -> None:
        """Poll on a schedule (or when woken). A failed round makes the account data
        `stale` at once; enough failures in a row end the account loop (reconnect)."""
        last_full = time.monotonic()
        while True:
            woken = False
            if wake is None:
                await asyncio.sleep(interval)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await wake.wait()
                        woken = True
                wake.clear()
            await self._gate(sink)
            targets = accounts
            changed = self._orders_changed_in if name == "orders" else self._filled_in
            if woken and time.monotonic() - last_full < interval:
                # woken by an order call or a fill: that account only (the schedule keeps
                # the rest): Tradier's 120 reads a minute are shared by every poll
                targets = [a for a in accounts if a in changed] or accounts
            changed.clear()
            if targets is accounts:
                last_full = time.monotonic()
            try:
                await poll(client, targets, sink, full=False)
            except (BrokerHTTPError, httpx.TransportError) as exc:
                failures = self._poll_failures[name] = self._poll_failures.get(name, 0) + 1
                if failures >= self.config.poll_failures_before_reconnect:
                    raise
                reason = f"{name} poll failed: {describe(exc)}"
                log.info("tradier link %s: %s", self.link_id, reason)
                await self._report_change(sink, "account", "stale", reason)
                continue
            self._poll_failures[name] = 0
            if any(self._poll_failures.values()):
                continue  # another poll is still failing: stale stays
            if self.kind_state("account") == "stale":
                await self._report(sink, "account", "live")
            if name == "balances":
                sink.fresh(self.link_id, "account")

    async def _poll_accounts(
        self, client: TradierClient, accounts: list[str], sink: AdapterSink, *, full: bool
    ) -> None:
        """Balances and positions; on a poll only what changed is reported. These reads
        leave the order polls their room in the window (they are how a fill reaches the
        page); on a snapshot (`full`) they are what the page waits for, and keep none."""
        self.account_polls += 1
        keep = None if full else self._orders_room()
        raw_positions: dict[str, list[dict[str, Any]]] = {}
        balances: dict[str, Balance] = {}
        for number_ in accounts:
            self.balances_polled[number_] += 1
            body = await client.get(f"/v1/accounts/{number_}/balances", keep=keep)
            balances[number_] = balance_payload((body or {}).get("balances") or {})
            body = await client.get(f"/v1/accounts/{number_}/positions", keep=keep)
            wrapper = (body or {}).get("positions")
            rows = as_list(wrapper.get("position") if isinstance(wrapper, dict) else None)
            raw_positions[number_] = [p for p in rows if isinstance(p, dict)]
        quotes = await self._position_quotes(client, raw_positions)
        for number_ in accounts:
            balance = balances[number_]
            positions = [
                position_payload(p, quotes.get(str(p.get("symbol"))))
                for p in raw_positions[number_]
            ]
            await self._emit_changed(
                sink, "balance", number_, balance, full=full, volatile=("updated_at",)
            )
            await self._emit_changed(
                sink, "positions", number_, positions, full=full, volatile=("mark_price",)
            )

    async def _position_quotes(
        self, client: TradierClient, positions: dict[str, list[dict[str, Any]]]
    ) -> dict[str, dict[str, Any]]:
        """One quotes call for every position symbol (close and mark prices)."""
        symbols = sorted({str(p.get("symbol")) for rows in positions.values() for p in rows})
        if not symbols:
            return {}
        try:
            body = await client.post("/v1/markets/quotes", {"symbols": ",".join(symbols)})
        except BrokerHTTPError as exc:
            log.info("tradier link %s: position quotes failed: %s", self.link_id, exc)
            return {}
        wrapper = (body or {}).get("quotes")
        rows = as_list(wrapper.get("quote") if isinstance(wrapper, dict) else None)
        return {str(q.get("symbol")): q for q in rows if isinstance(q, dict)}

    async def _poll_orders(
        self, client: TradierClient, accounts: list[str], sink: AdapterSink, *, full: bool
    ) -> None:
        """Orders; what changed is reported, and a new fill re-reads balances and
        positions at once (not at the next account poll)."""
        self.order_polls += 1
        for number_ in accounts:
            self.accounts_polled[number_] += 1
            body = await client.get(f"/v1/accounts/{number_}/orders")
            wrapper = (body or {}).get("orders")
            rows = as_list(wrapper.get("order") if isinstance(wrapper, dict) else None)
            for row in rows:
                if not isinstance(row, dict):
                    continue
                for payload in order_payloads(row, self._fills):  # a linked order: several
                    key = ("order", str(payload["id"]))
                    # an order's key holds only the order last emitted (here)
                    previous = cast("Order | None", self._known.get(key))
                    if full or previous != payload:
                        await sink.account_event("order", self.link_id, number_, payload)
                        if not full and fill_ids(payload) - fill_ids(previous):
                            self._filled_in.add(number_)
                            self._account_wanted.set()
                    self._known[key] = payload

    # -- quotes: the market stream --------------------------------------------------------------
    async def _quotes_once(self, sink: AdapterSink) -> None:
        client = self._client
        assert client is not None
        self._subscribed = set()
        self.last_data = time.monotonic()
        self._greeks_wanted.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._market_loop(client, sink))
            tg.create_task(self._greeks_loop(sink))
            tg.create_task(self._watchdog("market data", armed=lambda: bool(self._subscribed)))

    async def _market_loop(self, client: TradierClient, sink: AdapterSink) -> None:
        """One stream at a time, each started with a brand-new session id."""
        while True:
            self._symbols_changed.clear()
            wanted = {s for s in self._symbols if not s.startswith("/")}  # no futures
            if not wanted:
                self._subscribed = set()
                await self._report_change(sink, "quotes", "idle", "no symbols wanted")
                await self._symbols_changed.wait()
                await asyncio.sleep(SYMBOL_SETTLE)
                continue
            if self.kind_state("quotes") != "live":
                await self._report_change(sink, "quotes", "connecting")
            by_wire = {streamer_to_occ_symbol(s) or s: s for s in sorted(wanted)}
            await self._gate(sink)
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
                self.last_data = time.monotonic()
                self.delay.forget()
                if self.kind_state("quotes") != "live":
                    await self._report(sink, "quotes", "live")
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
            self.last_data = time.monotonic()
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.bad_lines += 1
                if self.bad_lines <= 5 or self.bad_lines % 100 == 0:
                    log.warning("tradier link %s: unparsable stream line", self.link_id)
                continue
            if not isinstance(event, dict):
                self.bad_lines += 1
                continue
            if "error" in event:
                self.stream_errors.append(str(event["error"])[:200])
                log.warning("tradier link %s: stream error %s", self.link_id, event["error"])
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
                await self._quote(sink, symbol, fields)

    # -- candle history ------------------------------------------------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of `symbol` from `from_ms` (tradier/candles.py)."""
        return await history_candles(
            self._get, self._market_bucket, symbol, tf, from_ms, within=within
        )

    # -- greeks from option chains ----------------------------------------------------------
    async def option_chain(self, symbol: str, expiration: str) -> list[dict[str, Any]]:
        """The chain of one expiration with greeks, as Tradier sends it: shared by every
        process for `chain_cache_ttl` (one broker fetch per TTL, whoever asks: this
        greeks loop or a chain page) and paced under the token's market-data limit."""
        rows, _ = await self.chains.raw_rows(symbol, expiration)
        return rows

    async def expirations(self, symbol: str) -> list[str]:
        """The underlying's expiration dates, cached like the chains."""
        dates, _ = await self.chains.expirations(symbol)
        return [d["date"] for d in dates]

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        """Through the connection's client, or a short-lived one outside a connection. A
        429 is not retried here: the chain cache shares it and the page says when to
        retry (the greeks loop tries again on its next round)."""
        if self._client is not None:
            return await self._client.request("GET", path, params=params, max_retries=0)
        async with TradierClient(access_token=self._token, api_url=self.api_url) as client:
            return await client.request("GET", path, params=params, max_retries=0)

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
                log.info("tradier link %s: chain %s %s: %s", self.link_id, root, expiration, exc)
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
                await self._gate(sink)
                await self.refresh_greeks(sink)
            try:
                async with asyncio.timeout(self.config.chain_cache_ttl):
                    await self._greeks_wanted.wait()
                await asyncio.sleep(SYMBOL_SETTLE)
            except TimeoutError:
                pass
