"""The Alpaca adapter: Broker API REST snapshot + SSE trade events, with a polling fallback.

One adapter per broker link (one Broker API key pair). Alpaca serves no stock quotes
here: the `quotes` kind streams only the coins the quote feed asks of it (alpaca/coins.py,
its crypto market data; `idle` while none are), and a supervised loop of its own serves
the `account` kind. Each connection: list the key's accounts, take a REST snapshot (balance,
positions, open and recent orders, with fills synthesized for what already filled), report
`live`, then follow `GET /v2/events/trades` (httpx-sse), resuming from the link's
checkpoint (the last applied event's ULID) so that nothing is lost across drops and
restarts. Alpaca has no account push, so balances and positions are re-read every
`account_poll_interval`, and right after a fill; with them, while the account holds a
working trailing stop or linked order, its open orders (a trailing stop's high-water mark
and stop move with the price, a partly filled take profit shrinks its stop loss, and no
trade event says so). Every connect and REST batch first asks
the sink's lease gate.

Idempotence: a fill row's id is `"{order_id}:{cumulative filled qty}"`, so a replayed event
yields the same id; per order the highest cumulative quantity already covered by a row is
kept and an event at or below it adds no row, and an order state older (`updated_at`) than
the one already applied is ignored. The checkpoint is saved only after the sink took the
event: a crash in between replays that one event, which then changes nothing.

Baseline: every (re)connect synthesizes one fill row for whatever filled beyond the rows
this process holds (price: the order's `filled_avg_price`), so a freshly started process
shows every filled order with its price, whether or not a replay follows.

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
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent, SSEError

from streaming.brokers.alpaca.bars import AlpacaBars
from streaming.brokers.alpaca.client import AlpacaClient
from streaming.brokers.alpaca.coins import AlpacaCoins
from streaming.brokers.alpaca.orders import FINAL, AlpacaOrders
from streaming.brokers.alpaca.portfolio import broker_path, portfolio_history
from streaming.brokers.alpaca.wire import (
    balance_payload,
    linked_members,
    order_payload,
    position_payload,
)
from streaming.brokers.backoff import Backoff
from streaming.brokers.base import AdapterSink, Checkpoint, StreamConfig
from streaming.brokers.errors import BrokerHTTPError, describe, is_rejection, retry_after
from streaming.brokers.orders.shape import Fill, Group, Order
from streaming.brokers.reconnects import count_reconnect
from streaming.brokers.values import decimal, num, order_status, quantity_text, time_ms

log = logging.getLogger(__name__)

__all__ = ["AlpacaAdapter"]

POLLING_REASON = "event stream unavailable; polling orders"
#: Recently closed orders are read this far back (Alpaca's `after` is the submission time).
ORDER_LOOKBACK = 86400.0


#: A balance's timestamp: a re-read with only a new one is no change.
VOLATILE = ("updated_at",)


# --------------------------------------------------------------------------- liveness


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


# --------------------------------------------------------------------------- adapter


@dataclass
class _OrderView:
    number: str
    covered: Decimal = Decimal(0)  # highest cumulative filled qty covered by a fill row
    fills: list[Fill] = field(default_factory=list)
    last: Order | None = None  # the payload last emitted
    updated_ms: int | None = None  # `updated_at` of the order state last applied


class AlpacaAdapter(AlpacaOrders, AlpacaCoins, AlpacaBars):
    """Streams one Alpaca Broker API key's accounts into a sink, forever, healing on failure.

    Usage::

        adapter = AlpacaAdapter(link_id=7, key_id=k, secret_key=s, api_url=url,
                                checkpoint=DatabaseCheckpoint(7, "alpaca-trades"))
        await adapter.run(sink)   # until cancelled
    """

    broker = "alpaca"

    def __init__(
        self,
        *,
        link_id: int,
        key_id: str,
        secret_key: str,
        account_numbers: Iterable[str] = (),
        api_url: str,
        checkpoint: Checkpoint,
        config: StreamConfig | None = None,
        coin_stream_url: str | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        self._init_coins(coin_stream_url)
        self._key_id = key_id
        self._secret = secret_key
        self.api_url = api_url
        self.checkpoint = checkpoint
        self.mode = "connecting"  # "stream" | "polling" | "reconnecting"
        self.stream_attempts = 0
        self.bad_events = 0
        self.ignored_events = 0
        self.stale_updates = 0  # order states older than the one already applied
        self._accounts: dict[str, str] = {}  # Alpaca account id -> account number
        self._orders: dict[str, _OrderView] = {}
        #: order id -> its linked order: Alpaca's children do not name their parent, so a
        #: child's later event or lone REST row is linked by what its parent once said
        self._groups: dict[str, Group] = {}
        self._dirty: set[str] = set()
        self._dirty_event = asyncio.Event()
        self._lookback_from = time.time() - ORDER_LOOKBACK
        self._sink: AdapterSink | None = None

    # -- control --------------------------------------------------------------------
    def _entering(self, kind: str, state: str) -> None:
        self.mode = state

    @property
    def account_every(self) -> float:
        # balances are confirmed by every poll round; the stream by its heartbeats
        return self.config.account_poll_interval

    async def run(self, sink: AdapterSink) -> None:
        await self._run_loops(sink, {"quotes": self._coins_once, "account": self._connect_once})

    # -- balance history (portfolio history, with this link's key) -------------------------
    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        """One day of the account's equity from Alpaca's portfolio history
        (alpaca/portfolio.py): a short REST client of this link's key (keys need no session)."""
        ids = [i for i, number in self._accounts.items() if number == account]
        if not ids:
            raise RuntimeError(f"Alpaca account {account} is not connected on this link")
        async with self._history_client() as client:
            return await portfolio_history(client, self._history_path(ids[0]), day)

    def _history_client(self) -> AlpacaClient:
        return AlpacaClient(key_id=self._key_id, secret_key=self._secret, api_url=self.api_url)

    def _history_path(self, account_id: str) -> str:
        return broker_path(account_id)

    # -- one connection ---------------------------------------------------------------
    async def _connect_once(self, sink: AdapterSink) -> None:
        self.mode = "connecting"
        await self._report(sink, "account", "connecting")
        await self._gate(sink)
        async with AlpacaClient(
            key_id=self._key_id,
            secret_key=self._secret,
            api_url=self.api_url,
            timeout=self.config.handshake_timeout,
        ) as client:
            accounts = await client.accounts()
            self._accounts = {
                str(a["id"]): str(a["account_number"])
                for a in accounts
                if self._wants(a.get("account_number"))
            }
            for account_id in self._accounts:
                await self._refresh_account(client, sink, account_id, full=True)
                await self._poll_orders(client, sink, account_id, synthesize=True)
            self.mode = "stream"
            await self._report(sink, "account", "live")
            sink.fresh(self.link_id, "account")
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._events(client, sink))
                tg.create_task(self._poll_accounts(client, sink))

    async def _refresh_account(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str, *, full: bool = False
    ) -> None:
        """Balance and positions over REST; emitted on a full snapshot or when changed."""
        number = self._accounts[account_id]
        balance = balance_payload(await client.trading_account(account_id))
        positions = [position_payload(p) for p in await client.positions(account_id)]
        await self._emit_changed(sink, "balance", number, balance, full=full, volatile=VOLATILE)
        await self._emit_changed(sink, "positions", number, positions, full=full)
        if self._changes_unannounced(number):
            await self._refresh_open_orders(client, sink, account_id)

    def _changes_unannounced(self, number: str) -> bool:
        """Whether the account holds a working order Alpaca changes without a trade event:
        a trailing stop (its high-water mark and stop follow the price) or an exit of a
        linked order (a partly filled take profit shrinks its stop loss: orders.md)."""
        return any(
            view.number == number
            and view.last is not None
            and (view.last["order_type"] == "Trailing Stop" or view.last["group"] is not None)
            and order_status(view.last["status"]) not in FINAL
            for view in self._orders.values()
        )

    async def _refresh_open_orders(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str
    ) -> None:
        """The account's open orders read again with the account (`_changes_unannounced`),
        so the screen shows what the broker holds: at most `account_poll_interval` old, and
        at once after a fill (a fill refreshes its account)."""
        number = self._accounts[account_id]
        for order in await client.orders(account_id, status="open", nested="true", limit=500):
            if isinstance(order, dict) and order.get("id"):
                await self._apply_order(sink, number, order)

    async def _poll_accounts(self, client: AlpacaClient, sink: AdapterSink) -> None:
        """Every account_poll_interval all accounts; right after a fill, that account."""
        while True:
            try:
                async with asyncio.timeout(self.config.account_poll_interval):
                    await self._dirty_event.wait()
                dirty = [a for a, n in self._accounts.items() if n in self._dirty]
            except TimeoutError:
                dirty = list(self._accounts)
            self._dirty_event.clear()
            self._dirty.clear()
            await self._gate(sink)
            for account_id in dirty:
                await self._refresh_account(client, sink, account_id)
            if len(dirty) == len(self._accounts):
                sink.fresh(self.link_id, "account")

    # -- orders -------------------------------------------------------------------------
    async def _poll_orders(
        self, client: AlpacaClient, sink: AdapterSink, account_id: str, *, synthesize: bool
    ) -> None:
        """Open orders plus those submitted within the lookback; emit what changed. Nested:
        a linked order's children come under their parent, which is what links them."""
        number = self._accounts[account_id]
        after = datetime.fromtimestamp(self._lookback_from, UTC).isoformat()
        seen: dict[str, dict[str, Any]] = {}
        for params in ({"status": "open"}, {"status": "all", "after": after}):
            for order in await client.orders(account_id, limit=500, nested="true", **params):
                if isinstance(order, dict) and order.get("id"):
                    seen[str(order["id"])] = order
        for order in sorted(seen.values(), key=lambda o: str(o.get("submitted_at"))):
            await self._apply_order(sink, number, order, synthesize=synthesize)

    async def _apply_order(
        self,
        sink: AdapterSink,
        number: str,
        order: dict[str, Any],
        *,
        execution: tuple[Decimal | None, Decimal | None, int | None] | None = None,
        synthesize: bool = False,
    ) -> bool:
        """Fold an order state (and maybe one execution, which is the order's own) in;
        emit what changed. A linked order with its children nested (`legs`) is several
        orders: the parent and each child are folded in as orders of their own, and the
        group each belongs to is remembered for when it comes alone.

        Returns whether a fill row was added."""
        members = linked_members(order)
        for member, linked in members:
            self._groups[str(member["id"])] = linked
        replaces = str(order.get("replaces") or "")
        if replaces in self._groups and str(order["id"]) not in self._groups:
            # a bracket's exit replaced (its price moved): the new order takes its place
            self._groups[str(order["id"])] = self._groups[replaces]
        added = await self._apply_one(
            sink, number, order, execution=execution, synthesize=synthesize
        )
        for child, _ in members[1:]:
            added = await self._apply_one(sink, number, child, synthesize=synthesize) or added
        return added

    async def _apply_one(
        self,
        sink: AdapterSink,
        number: str,
        order: dict[str, Any],
        *,
        execution: tuple[Decimal | None, Decimal | None, int | None] | None = None,
        synthesize: bool = False,
    ) -> bool:
        """`_apply_order` for one order (a linked order's member, or any other)."""
        oid = str(order["id"])
        view = self._orders.setdefault(oid, _OrderView(number))
        updated = time_ms(order.get("updated_at"))
        if updated is not None and view.updated_ms is not None and updated < view.updated_ms:
            self.stale_updates += 1  # e.g. a replayed event behind a newer REST baseline
            return False
        if updated is not None:
            view.updated_ms = updated
        filled = decimal(order.get("filled_qty")) or Decimal(0)
        added = False
        if filled > view.covered and (execution is not None or synthesize):
            gap = filled - view.covered
            if execution is not None:
                qty, price, at = execution
                row_qty = min(qty, gap) if qty and qty > 0 else gap
            else:  # polling or a baseline snapshot: what filled since the last row
                row_qty = gap
                avg = decimal(order.get("filled_avg_price"))
                prior = sum(
                    (Decimal(str(f["quantity"])) * Decimal(str(f["price"] or 0)))
                    for f in view.fills
                )
                price = (avg * filled - prior) / gap if avg is not None else None
                if price is not None and price <= 0:
                    price = avg
                at = time_ms(order.get("filled_at")) or time_ms(order.get("updated_at"))
            view.fills.append(
                {
                    "id": f"{oid}:{quantity_text(filled)}",
                    "quantity": num(row_qty),
                    "price": num(price),
                    "at": at,
                }
            )
            view.covered = filled
            added = True
        payload = order_payload(order, view.fills, group=self._groups.get(oid))
        if payload != view.last:
            view.last = payload
            await sink.account_event("order", self.link_id, number, payload)
        return added

    # -- the event stream ---------------------------------------------------------------
    async def _events(self, client: AlpacaClient, sink: AdapterSink) -> None:
        """Follow the trade-event stream; poll orders whenever it cannot be opened."""
        config = self.config
        backoff = Backoff(config.backoff_base, config.backoff_cap, stable_after=config.stable_after)
        poller: asyncio.Task[None] | None = None
        self._sink = sink
        try:
            while True:
                opened_at: float | None = None
                wait_at_least = 0.0
                failure: BaseException | None = None
                try:
                    await self._gate(sink)
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
                            await self._report(sink, "account", "live")
                        if cursor is None:  # live only: re-read what changed since the snapshot
                            for account_id in list(self._accounts):
                                await self._poll_orders(client, sink, account_id, synthesize=True)
                        await self._follow(sink, source)
                    reason = "broker ended the event stream"
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if is_rejection(exc):
                        raise
                    self._raise_if_stopping(exc)
                    reason = describe(exc)
                    failure = exc
                    wait_at_least = retry_after(exc)
                    if reason.startswith("unexpected"):
                        log.error("alpaca link %s stream failed", self.link_id, exc_info=exc)
                up_for = time.monotonic() - opened_at if opened_at is not None else None
                delay = round(max(backoff.next_delay(up_for), wait_at_least), 2)
                # this loop retries on its own (it polls meanwhile): count every attempt
                # here, as the supervisor does for the other loops
                count_reconnect(self.broker, "account", failure)
                if opened_at is not None:  # it was up: reconnect and replay from the checkpoint
                    self.reconnects += 1
                    self.mode = "reconnecting"
                    log.info("alpaca link %s stream: %s", self.link_id, reason)
                    await self._report(sink, "account", "reconnecting", reason, retry_in=delay)
                else:  # unavailable: keep the link useful by polling orders meanwhile
                    if poller is None:
                        poller = asyncio.create_task(self._poll_orders_forever(client, sink))
                    if self.mode != "polling":
                        log.info("alpaca link %s: %s (%s)", self.link_id, POLLING_REASON, reason)
                    self.mode = "polling"
                    await self._report(
                        sink, "account", "live", POLLING_REASON, retry_in=delay, stream_error=reason
                    )
                await asyncio.sleep(delay)
        finally:
            if poller is not None:
                poller.cancel()

    async def _follow(self, sink: AdapterSink, source: EventSource) -> None:
        """Apply the stream's events until it ends; the watchdog ends a silent one (it
        counts from here: the body is not read while the orders are re-read)."""
        self.last_data = time.monotonic()
        async with asyncio.TaskGroup() as tg:
            watchdog = tg.create_task(self._watchdog("event or heartbeat"))
            async for sse in source.aiter_sse():
                await self._on_event(sink, sse)
            watchdog.cancel()

    def _touch(self) -> None:
        """Anything from the event stream (a heartbeat too) proves the account side live."""
        self.last_data = time.monotonic()
        if self._sink is not None:
            self._sink.fresh(self.link_id, "account")

    async def _poll_orders_forever(self, client: AlpacaClient, sink: AdapterSink) -> None:
        while True:
            await self._gate(sink)
            for account_id in list(self._accounts):
                number = self._accounts[account_id]
                try:
                    before = {o for o, v in self._orders.items() if v.number == number}
                    covered = {o: v.covered for o, v in self._orders.items()}
                    await self._poll_orders(client, sink, account_id, synthesize=True)
                    if any(
                        v.covered != covered.get(o, v.covered) or o not in before
                        for o, v in self._orders.items()
                        if v.number == number
                    ):
                        self._mark_dirty(number)
                except (BrokerHTTPError, httpx.TransportError) as exc:
                    log.info("alpaca link %s: order poll failed: %s", self.link_id, describe(exc))
            await asyncio.sleep(self.config.order_poll_interval)

    def _mark_dirty(self, number: str) -> None:
        self._dirty.add(number)
        self._dirty_event.set()

    async def _on_event(self, sink: AdapterSink, sse: ServerSentEvent) -> None:
        """Apply one trade event, then advance the checkpoint; garbage is counted, not fatal."""
        try:
            data = orjson.loads(sse.data)
        except orjson.JSONDecodeError:
            self.bad_events += 1
            log.warning("alpaca link %s: unparseable event skipped", self.link_id)
            return
        if not isinstance(data, dict):
            self.bad_events += 1
            log.warning("alpaca link %s: non-object event skipped", self.link_id)
            return
        event_id = data.get("event_id")
        number = self._accounts.get(str(data.get("account_id")))
        order = data.get("order")
        if number is None:
            self.ignored_events += 1
        elif not isinstance(order, dict) or not order.get("id"):
            self.bad_events += 1
            log.warning("alpaca link %s: event without an order skipped", self.link_id)
        else:
            execution = None
            if data.get("event") in ("fill", "partial_fill"):
                execution = (
                    decimal(data.get("qty")),
                    decimal(data.get("price")),
                    time_ms(data.get("timestamp")) or time_ms(data.get("at")),
                )
            if await self._apply_order(sink, number, order, execution=execution):
                self._mark_dirty(number)
            elif order.get("status") == "replaced" and str(order["id"]) in self._groups:
                # a linked order's exit replaced: its successor may wait (held) unannounced,
                # so the account's open orders are read again, nested (`_refresh_account`)
                self._mark_dirty(number)
        if isinstance(event_id, str | int) and not isinstance(event_id, bool):
            await self.checkpoint.save(str(event_id))
