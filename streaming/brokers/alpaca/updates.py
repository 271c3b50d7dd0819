"""An Alpaca link's account stream in Trading API mode (a trader's own paper or live
key): the `trade_updates` WebSocket and REST reconciliation; one of the parts its adapter
holds (the `account` kind's loop).

Same normalized events as the Broker API mode (events.py); what differs is where order
events come from. Each connection: read the key's one account (balance, positions) over
REST, open the `trade_updates` WebSocket (`<api>/stream`: authenticate, listen), and only
then — because that stream has **no replay** — reconcile over REST: orders submitted
within the lookback (`/v2/orders?status=all&after=…`, plus the open ones) and the FILL
activities since then (`/v2/account/activities/FILL`, every page). Frames that arrive
meanwhile wait in the socket and are applied after, so nothing falls between the two.

No fill is missed and none is reported twice: a fill row's id is
`"{order_id}:{cumulative filled qty}"`, which the stream's update (`order.filled_qty`)
and the activity (`cum_qty`) both carry, and Alpaca's execution id and activity id are
two different identifiers. An update whose quantity does not cover the gap since the
last row (a fill was missed, say while the socket was silenced) triggers a reconciliation
first. The stream has no heartbeat: WebSocket pings prove the connection, and orders are
reconciled every `reconcile_interval` as well. A refused key (401/403 over REST, or
`unauthorized` on the socket) is a credential rejection, not a retry loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from streaming.brokers.alpaca.balances import BalancePolls
from streaming.brokers.alpaca.book import OrderBook
from streaming.brokers.alpaca.client import AlpacaTradingClient
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.events import ORDER_LOOKBACK
from streaming.brokers.alpaca.payloads import AlpacaControl, AlpacaOrder
from streaming.brokers.base import AdapterSink
from streaming.brokers.errors import (
    BrokerHTTPError,
    CredentialRejected,
    StreamEnded,
    retry_after_header,
)
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.values import decimal, time_ms

log = logging.getLogger(__name__)


def stream_url(api_url: str) -> str:
    """`https://paper-api.alpaca.markets` -> `wss://paper-api.alpaca.markets/stream`."""
    url = api_url.rstrip("/") + "/stream"
    return url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def _code(exc: ConnectionClosed) -> int | str:
    return exc.rcvd.code if exc.rcvd is not None else "none"


class TradeUpdates:
    """The `account` kind of a Trading API link: its snapshot, `trade_updates`, and REST
    reconciliation."""

    def __init__(
        self,
        adapter: SupervisedAdapter,
        connection: Connection,
        book: OrderBook,
        balances: BalancePolls,
    ) -> None:
        self._adapter = adapter
        self._connection = connection
        self._book = book
        self._balances = balances
        self.stream_url = stream_url(connection.api_url)
        self.mode = "connecting"  # "stream" | "reconnecting"
        self.stream_attempts = 0
        self.bad_events = 0
        self.ignored_events = 0
        self.reconciliations = 0
        self.gaps = 0  # updates that showed a missed fill
        self._lock = asyncio.Lock()  # one fold at a time: socket updates or reconciliation
        self._lookback_from = time.time() - ORDER_LOOKBACK
        self._sink: AdapterSink | None = None

    async def once(self, sink: AdapterSink) -> None:
        """One connection: the snapshot, `trade_updates`, the reconciliation and the
        balance polls, until it fails."""
        self.mode = "connecting"
        self._sink = sink
        await self._adapter._report(sink, "account", "connecting")
        await self._adapter._gate(sink)
        async with AlpacaTradingClient(
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
            self.stream_attempts += 1
            async with await self._open_stream() as ws:
                await self._reconcile(client, sink)
                self.mode = "stream"
                await self._adapter._report(sink, "account", "live")
                sink.fresh(self._adapter.link_id, "account")
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._follow_updates(client, sink, ws))
                    tg.create_task(self._balances.poll_accounts(client, sink))
                    tg.create_task(self._reconcile_forever(client, sink))

    async def _open_stream(self) -> ClientConnection:
        """Connect, authenticate and listen to `trade_updates`; refusals classified."""
        config = self._adapter.config
        try:
            ws = await connect(
                self.stream_url,
                open_timeout=config.handshake_timeout,
                ping_interval=max(1.0, config.watchdog_timeout / 2),
                ping_timeout=max(1.0, config.watchdog_timeout / 2),
                max_size=2**22,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise CredentialRejected(f"HTTP {status}: trade stream refused") from None
            wait = retry_after_header(exc.response.headers)
            raise BrokerHTTPError(status, "trade stream refused", wait) from None
        try:
            async with asyncio.timeout(config.handshake_timeout):
                auth = {
                    "key_id": self._connection.key_id,
                    "secret_key": self._connection.secret_key,
                }
                await ws.send(orjson.dumps({"action": "authenticate", "data": auth}).decode())
                reply = await self._next_control(ws, "authorization")
                if reply.get("status") != "authorized":
                    raise CredentialRejected("trade stream: unauthorized")
                listen = {"action": "listen", "data": {"streams": ["trade_updates"]}}
                await ws.send(orjson.dumps(listen).decode())
                reply = await self._next_control(ws, "listening")
                if "trade_updates" not in (reply.get("streams") or []):
                    raise StreamEnded("broker did not listen to trade_updates")
        except ConnectionClosed as exc:
            await ws.close()
            raise StreamEnded(f"broker closed the stream (code {_code(exc)})") from None
        except BaseException:
            await ws.close()
            raise
        return ws

    @staticmethod
    async def _next_control(ws: ClientConnection, stream: str) -> AlpacaControl:
        """The data of the next message of this stream (updates before it are applied
        by the reconciliation that follows, so skipping them loses nothing)."""
        while True:
            message = orjson.loads(await ws.recv())
            if isinstance(message, dict) and message.get("stream") == stream:
                data = message.get("data")
                # the edge: the message's JSON as the control data it is
                return cast(AlpacaControl, data) if isinstance(data, dict) else {}

    async def _reconcile(self, client: AlpacaTradingClient, sink: AdapterSink) -> None:
        """Fold in, over REST, every fill and order state the stream may have missed."""
        async with self._lock:
            await self._adapter._gate(sink)
            after = datetime.fromtimestamp(self._lookback_from, UTC).isoformat()
            orders: dict[str, AlpacaOrder] = {}
            for params in ({"status": "open"}, {"status": "all", "after": after}):
                for order in await client.orders(limit=500, nested="true", **params):
                    if isinstance(order, dict) and order.get("id"):
                        orders[str(order["id"])] = order
            activities = await client.fill_activities(after)
            number = next(iter(self._connection.accounts.values()), None)
            if number is None:
                return
            for activity in activities:  # oldest first: each one an execution
                oid = str(activity.get("order_id"))
                if oid not in orders:
                    orders[oid] = await client.order(oid)
                state: AlpacaOrder = {
                    **orders[oid],
                    "filled_qty": activity.get("cum_qty"),
                    "status": activity.get("order_status"),
                    "updated_at": activity.get("transaction_time"),
                }
                execution = (
                    decimal(activity.get("qty")),
                    decimal(activity.get("price")),
                    time_ms(activity.get("transaction_time")),
                )
                if await self._book.apply_order(sink, number, state, execution=execution):
                    self._balances.mark_dirty(number)
            for order in sorted(orders.values(), key=lambda o: str(o.get("submitted_at"))):
                if await self._book.apply_order(sink, number, order, synthesize=True):
                    self._balances.mark_dirty(number)
            self.reconciliations += 1

    async def _reconcile_forever(self, client: AlpacaTradingClient, sink: AdapterSink) -> None:
        while True:
            await asyncio.sleep(self._adapter.config.reconcile_interval)
            await self._reconcile(client, sink)

    async def _follow_updates(
        self, client: AlpacaTradingClient, sink: AdapterSink, ws: ClientConnection
    ) -> None:
        """Apply updates until the socket closes (then the loop reconnects)."""
        self._adapter.last_data = time.monotonic()
        try:
            async for frame in ws:
                self._touch()
                await self._on_update(client, sink, frame)
        except ConnectionClosed as exc:
            raise StreamEnded(f"broker closed the stream (code {_code(exc)})") from None
        code = ws.close_code if ws.close_code is not None else "none"
        raise StreamEnded(f"broker closed the stream (code {code})")

    async def _on_update(
        self, client: AlpacaTradingClient, sink: AdapterSink, frame: str | bytes
    ) -> None:
        """Fold one `trade_updates` message in; garbage is counted, never fatal."""
        try:
            message = orjson.loads(frame)
        except orjson.JSONDecodeError:
            self.bad_events += 1
            return
        if not isinstance(message, dict) or message.get("stream") != "trade_updates":
            self.ignored_events += 1
            return
        data = message.get("data")
        order = data.get("order") if isinstance(data, dict) else None
        number = next(iter(self._connection.accounts.values()), None)
        if (
            not isinstance(data, dict)
            or not isinstance(order, dict)
            or not order.get("id")
            or number is None
        ):
            self.bad_events += 1  # e.g. `"data": null`, seen at Alpaca
            return
        execution = None
        if data.get("event") in ("fill", "partial_fill"):
            qty = decimal(data.get("qty"))
            execution = (qty, decimal(data.get("price")), time_ms(data.get("timestamp")))
            view = self._book.views.get(str(order["id"]))
            covered = view.covered if view is not None else Decimal(0)
            gap = (decimal(order.get("filled_qty")) or Decimal(0)) - covered
            if qty is not None and gap > qty:  # an execution before this one was missed
                self.gaps += 1
                await self._reconcile(client, sink)
        async with self._lock:
            if await self._book.apply_order(
                sink, number, cast(AlpacaOrder, order), execution=execution
            ):
                self._balances.mark_dirty(number)

    def _touch(self) -> None:
        """Anything from the update stream proves the account side live."""
        self._adapter.last_data = time.monotonic()
        if self._sink is not None:
            self._sink.fresh(self._adapter.link_id, "account")
