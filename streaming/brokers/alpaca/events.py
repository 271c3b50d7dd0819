"""An Alpaca link's account stream in Broker API mode: a REST snapshot, then the trade
events (SSE), with a polling fallback; one of the parts its adapter holds (the `account`
kind's loop).

Each connection: list the key's accounts, take a REST snapshot (balance, positions, open
and recent orders, with fills synthesized for what already filled: book.py), report
`live`, then follow `GET /v2/events/trades` (httpx-sse), resuming from the link's
checkpoint (the last applied event's ULID) so that nothing is lost across drops and
restarts; balances and positions are re-read meanwhile (balances.py). The checkpoint is
saved only after the sink took the event: a crash in between replays that one event,
which then changes nothing (book.py keeps fills idempotent).

Liveness: httpx-sse swallows `:heartbeat` comments, so the response's byte stream is
wrapped: every chunk (heartbeats included) counts as data for the supervised adapter's
watchdog, and a stream quiet for `watchdog_timeout` raises StreamSilent → reconnect with
replay.

When the stream cannot be opened (connect error, an error status such as 404/429/5xx, or
a body that is not `text/event-stream`), orders are polled every `order_poll_interval`
(`status=live`, reason "event stream unavailable; polling orders") while the stream is
retried with jittered backoff (Retry-After respected: a second connection gets 429 and
must never cause a reconnect storm); once it opens, polling stops and replay resumes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import cast

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent, SSEError

from streaming.brokers.alpaca.balances import BalancePolls
from streaming.brokers.alpaca.book import OrderBook
from streaming.brokers.alpaca.client import AlpacaClient
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.payloads import AlpacaOrder
from streaming.brokers.backoff import Backoff
from streaming.brokers.base import AdapterSink, Checkpoint
from streaming.brokers.errors import BrokerHTTPError, describe, is_rejection, retry_after
from streaming.brokers.reconnects import count_reconnect
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.values import decimal, time_ms

log = logging.getLogger(__name__)

POLLING_REASON = "event stream unavailable; polling orders"
#: Recently closed orders are read this far back (Alpaca's `after` is the submission time).
ORDER_LOOKBACK = 86400.0


class _Heard(httpx.AsyncByteStream):
    """Wraps a response body: every chunk (heartbeat comments too, which httpx-sse hides)
    is life for the watchdog (`SupervisedAdapter._watchdog`)."""

    def __init__(self, inner: httpx.AsyncByteStream, on_data: Callable[[], None]) -> None:
        self._inner = inner
        self._on_data = on_data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._on_data()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class TradeEvents:
    """The `account` kind of a Broker API link: its snapshot, its trade events, its polls."""

    def __init__(
        self,
        adapter: SupervisedAdapter,
        connection: Connection,
        book: OrderBook,
        balances: BalancePolls,
        checkpoint: Checkpoint,
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        self._book = book
        self._balances = balances
        self.checkpoint = checkpoint
        self.mode = "connecting"  # "stream" | "polling" | "reconnecting"
        self.stream_attempts = 0
        self.bad_events = 0
        self.ignored_events = 0
        self._lookback_from = time.time() - ORDER_LOOKBACK
        self._sink: AdapterSink | None = None

    async def once(self, sink: AdapterSink) -> None:
        """One connection: the snapshot, then the trade events (orders polled while they
        cannot be had) and the balance polls, until it fails."""
        self.mode = "connecting"
        await self._adapter._report(sink, "account", "connecting")
        await self._adapter._gate(sink)
        async with AlpacaClient(
            key_id=self._connection.key_id,
            secret_key=self._connection.secret_key,
            api_url=self._connection.api_url,
            timeout=self._adapter.config.handshake_timeout,
        ) as client:
            accounts = await client.accounts()
            self._connection.accounts = {
                str(a["id"]): str(a["account_number"])
                for a in accounts
                if self._adapter._wants(a.get("account_number"))
            }
            for account_id in self._connection.accounts:
                await self._balances.refresh_account(client, sink, account_id, full=True)
                await self._poll_orders(client, sink, account_id, synthesize=True)
            self.mode = "stream"
            await self._adapter._report(sink, "account", "live")
            sink.fresh(self._adapter.link_id, "account")
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._events(client, sink))
                tg.create_task(self._balances.poll_accounts(client, sink))

    async def _poll_orders(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str, *, synthesize: bool
    ) -> None:
        """Open orders plus those submitted within the lookback; emit what changed. Nested:
        a linked order's children come under their parent, which is what links them."""
        number = self._connection.accounts[account_id]
        after = datetime.fromtimestamp(self._lookback_from, UTC).isoformat()
        seen: dict[str, AlpacaOrder] = {}
        for params in ({"status": "open"}, {"status": "all", "after": after}):
            for order in await client.orders(account_id, limit=500, nested="true", **params):
                if isinstance(order, dict) and order.get("id"):
                    seen[str(order["id"])] = order
        for order in sorted(seen.values(), key=lambda o: str(o.get("submitted_at"))):
            await self._book.apply_order(sink, number, order, synthesize=synthesize)

    async def _events(self, client: AlpacaClient, sink: AdapterSink) -> None:
        """Follow the trade-event stream; poll orders whenever it cannot be opened."""
        config = self._adapter.config
        backoff = Backoff(config.backoff_base, config.backoff_cap, stable_after=config.stable_after)
        poller: asyncio.Task[None] | None = None
        self._sink = sink
        try:
            while True:
                opened_at: float | None = None
                wait_at_least = 0.0
                failure: BaseException | None = None
                try:
                    await self._adapter._gate(sink)
                    cursor = await self.checkpoint.load()
                    params = {"since_id": cursor} if cursor else {}
                    self.stream_attempts += 1
                    async with client.trade_events(params) as source:
                        response = source.response
                        content_type = response.headers.get("content-type", "")
                        if "text/event-stream" not in content_type.partition(";")[0]:
                            raise SSEError(f"unexpected content type {content_type[:40]!r}")
                        if not isinstance(response.stream, httpx.AsyncByteStream):
                            raise TypeError("an async client's response streams asynchronously")
                        response.stream = _Heard(response.stream, self._touch)
                        opened_at = time.monotonic()
                        if poller is not None:
                            poller.cancel()
                            poller = None
                        if self.mode != "stream":
                            self.mode = "stream"
                            await self._adapter._report(sink, "account", "live")
                        if cursor is None:  # live only: re-read what changed since the snapshot
                            for account_id in list(self._connection.accounts):
                                await self._poll_orders(client, sink, account_id, synthesize=True)
                        await self._follow(sink, source)
                    reason = "broker ended the event stream"
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_rejection(exc):
                        raise
                    self._adapter._raise_if_stopping(exc)
                    reason = describe(exc)
                    failure = exc
                    wait_at_least = retry_after(exc)
                    if reason.startswith("unexpected"):
                        log.error(
                            "alpaca link %s stream failed", self._adapter.link_id, exc_info=exc
                        )
                up_for = time.monotonic() - opened_at if opened_at is not None else None
                delay = round(max(backoff.next_delay(up_for), wait_at_least), 2)
                # this loop retries on its own (it polls meanwhile): count every attempt
                # here, as the supervisor does for the other loops
                count_reconnect(self._adapter.broker, "account", failure)
                if opened_at is not None:  # it was up: reconnect and replay from the checkpoint
                    self._adapter.reconnects += 1
                    self.mode = "reconnecting"
                    log.info("alpaca link %s stream: %s", self._adapter.link_id, reason)
                    await self._adapter._report(
                        sink, "account", "reconnecting", reason, retry_in=delay
                    )
                else:  # unavailable: keep the link useful by polling orders meanwhile
                    if poller is None:
                        poller = asyncio.create_task(self._poll_orders_forever(client, sink))
                    if self.mode != "polling":
                        log.info(
                            "alpaca link %s: %s (%s)", self._adapter.link_id, POLLING_REASON, reason
                        )
                    self.mode = "polling"
                    await self._adapter._report(
                        sink, "account", "live", POLLING_REASON, retry_in=delay, stream_error=reason
                    )
                await asyncio.sleep(delay)
        finally:
            if poller is not None:
                poller.cancel()

    async def _follow(self, sink: AdapterSink, source: EventSource) -> None:
        """Apply the stream's events until it ends; the watchdog ends a silent one (it
        counts from here: the body is not read while the orders are re-read)."""
        self._adapter.last_data = time.monotonic()
        async with asyncio.TaskGroup() as tg:
            watchdog = tg.create_task(self._adapter._watchdog("event or heartbeat"))
            async for sse in source.aiter_sse():
                await self._on_event(sink, sse)
            watchdog.cancel()

    def _touch(self) -> None:
        """Anything from the event stream (a heartbeat too) proves the account side live."""
        self._adapter.last_data = time.monotonic()
        if self._sink is not None:
            self._sink.fresh(self._adapter.link_id, "account")

    async def _poll_orders_forever(self, client: AlpacaClient, sink: AdapterSink) -> None:
        while True:
            await self._adapter._gate(sink)
            for account_id in list(self._connection.accounts):
                number = self._connection.accounts[account_id]
                try:
                    before = {o for o, v in self._book.views.items() if v.number == number}
                    covered = {o: v.covered for o, v in self._book.views.items()}
                    await self._poll_orders(client, sink, account_id, synthesize=True)
                    if any(
                        v.covered != covered.get(o, v.covered) or o not in before
                        for o, v in self._book.views.items()
                        if v.number == number
                    ):
                        self._balances.mark_dirty(number)
                except (BrokerHTTPError, httpx.TransportError) as exc:
                    log.info(
                        "alpaca link %s: order poll failed: %s",
                        self._adapter.link_id,
                        describe(exc),
                    )
            await asyncio.sleep(self._adapter.config.order_poll_interval)

    async def _on_event(self, sink: AdapterSink, sse: ServerSentEvent) -> None:
        """Apply one trade event, then advance the checkpoint; garbage is counted, not fatal."""
        try:
            data = orjson.loads(sse.data)
        except orjson.JSONDecodeError:
            self.bad_events += 1
            log.warning("alpaca link %s: unparseable event skipped", self._adapter.link_id)
            return
        if not isinstance(data, dict):
            self.bad_events += 1
            log.warning("alpaca link %s: non-object event skipped", self._adapter.link_id)
            return
        event_id = data.get("event_id")
        number = self._connection.accounts.get(str(data.get("account_id")))
        order = data.get("order")
        if number is None:
            self.ignored_events += 1
        elif not isinstance(order, dict) or not order.get("id"):
            self.bad_events += 1
            log.warning("alpaca link %s: event without an order skipped", self._adapter.link_id)
        else:
            execution = None
            if data.get("event") in ("fill", "partial_fill"):
                execution = (
                    decimal(data.get("qty")),
                    decimal(data.get("price")),
                    time_ms(data.get("timestamp")) or time_ms(data.get("at")),
                )
            if await self._book.apply_order(
                sink, number, cast(AlpacaOrder, order), execution=execution
            ):
                self._balances.mark_dirty(number)
            elif order.get("status") == "replaced" and str(order["id"]) in self._book.groups:
                # a linked order's exit replaced: its successor may wait (held) unannounced,
                # so the account's open orders are read again, nested (`_refresh_account`)
                self._balances.mark_dirty(number)
        if isinstance(event_id, str | int) and not isinstance(event_id, bool):
            await self.checkpoint.save(str(event_id))
