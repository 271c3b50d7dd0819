"""Alpaca trade events: brokerage `Order` events of Alpaca accounts become Alpaca trade
events (`new`, `partial_fill`, `fill`, `canceled`, `replaced`, `rejected`, `expired`),
kept per key for replay and offered to the key's open streams: the Broker API's SSE
stream (`/v1|v2/events/trades`, here) and the Trading API's `trade_updates` socket
(`trade_stream.py`). Each event's `order` is the one renderer's (`render.order`).

The SSE stream sends `data: <one-line JSON>\\n\\n` (no `event:`/`id:` lines, `:heartbeat`
comments when idle), as the broker reference (section 2b) describes.

Guesses (UNCONFIRMED at Alpaca) and the switch for each; every switch is a `SandboxConfig`
field `alpaca_<name>`, settable at start or through `POST /_sandbox/config`:

* `alpaca_second_connection`: a second stream of the same key gets HTTP 429 ("reject",
  as reported for trade_updates in alpaca-py #740) or closes the older one ("kick").
* `alpaca_heartbeat_interval`: the `:heartbeat` interval (the spec suggests ~15 s).
* `alpaca_event_retention`: how many events per key can be replayed.
* `alpaca_stale_cleanup` (0 s): how long a disconnected client still counts as connected (the
  server-side cleanup delay behind #740's 429 storms).
* `alpaca_stale_since` ("retained"): a `since_id` older than the retained window gets what is
  retained; "error" answers 400 instead.
* `alpaca_honour_last_event_id` (False): a `Last-Event-ID` header acts as `since_id`; Alpaca
  documents only query parameters.
* `alpaca_pending_new_event` (False): the brokerage's `Received` state is reported as
  `pending_new` (then `new` when live) instead of `new` at once.
* `alpaca_fill_price` ("execution"): a fill event's `price` is that execution's price; "average"
  sends the order's average fill price (the docs' single-fill examples cannot tell).
* `alpaca_error_comment` (True): a dropped stream ends with `: internal server error` (the v2
  reference says so for error closes).
* v1 `/v1/events/trades` uses the same events with an integer `event_id` plus
  `event_ulid`, and accepts `since_ulid`/`until_ulid` as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sandbox.alpaca.customers import Customer, Customers
from sandbox.alpaca.wire import (
    BAD_INPUT,
    TOO_MANY,
    ULID_RE,
    ZERO,
    MonotonicUlid,
    account_uuid,
    alpaca_error,
    dec,
    execution_uuid,
    iso,
    iso_ns,
    s,
    ulid_time,
)
from sandbox.core.hub import Session
from sandbox.core.records import AccountEvent, OrderRecord
from sandbox.core.simulation import Simulation

__all__ = ["SseSession", "StoredEvent", "TradeEvents", "open_stream"]

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
#: Events queued for a client that reads too slowly before it gets a warning instead.
_MAX_QUEUED = 10_000
_TERMINAL_EVENTS = ("canceled", "replaced", "rejected", "expired")

# --------------------------------------------------------------------------- tracking


@dataclass
class StoredEvent:
    seq: int  # the v1 integer event id
    ulid: str  # the v2 event id
    at: float
    body: dict[str, Any]  # the v2 payload without event_id


@dataclass
class _OrderTrack:
    """What was last reported for one brokerage order."""

    status: str
    filled: Decimal
    fills_seen: int


class TradeEvents:
    """Turns the brokerage's `Order` events of Alpaca accounts into stored trade events.

    `render_order(record, status)` is the façade's order renderer (with its notes and
    switches); `streams` maps a credential id to the listeners its events are offered to.
    """

    def __init__(
        self,
        sandbox: Simulation,
        customers: Customers,
        render_order: Callable[[OrderRecord, str | None], dict[str, Any]],
    ) -> None:
        self.sandbox = sandbox
        self.customers = customers
        self.render_order = render_order
        self.streams: dict[str, set[Any]] = {}
        self._tracks: dict[tuple[str, int], _OrderTrack] = {}
        self._ulids = MonotonicUlid()
        self._seq = itertools.count(1)
        sandbox.account_listeners.append(self.on_account_event)

    def option(self, name: str) -> Any:
        """The switch `SandboxConfig.alpaca_<name>` (settable through the control API)."""
        return getattr(self.sandbox.config, f"alpaca_{name}")

    def on_account_event(self, event: AccountEvent) -> None:
        """One brokerage event: for an Alpaca account's order, the trade events it implies
        (compared with what was last reported for that order)."""
        if event.kind != "Order":
            return
        customer = self.customers.owner_of(event.account_number)
        o = event.record
        if customer is None or not isinstance(o, OrderRecord) or o.id is None:
            return
        key = (event.account_number, o.id)
        track = self._tracks.get(key)
        now = o.updated_at or time.time()
        if track is None:
            track = _OrderTrack(status="", filled=ZERO, fills_seen=0)
            self._tracks[key] = track
            if o.working or o.legs[0].fills:
                pending = self.option("pending_new_event") and o.status == "Received"
                status = "pending_new" if pending else "new"
                self.emit(customer, o.account_number, "new", self.render_order(o, status), now)
                track.status = status
        if o.status == "Live" and track.status == "pending_new":
            self.emit(customer, o.account_number, "new", self.render_order(o, "new"), now)
            track.status = "new"
        self._report_fills(customer, o, track, now)
        status = self.render_order(o, None)["status"]
        if status in _TERMINAL_EVENTS and track.status != status:
            self.emit(customer, o.account_number, status, self.render_order(o, None), now)
            track.status = status

    def _report_fills(
        self, customer: Customer, o: OrderRecord, track: _OrderTrack, now: float
    ) -> None:
        first = o.legs[0]
        ratio = first.quantity / o.size if o.size else Decimal(1)
        number = o.account_number
        for index, fill in enumerate(first.fills):
            if index < track.fills_seen:
                continue
            track.fills_seen = index + 1
            track.filled += fill.quantity
            final = track.filled >= first.quantity
            alpaca = self.render_order(o, None)
            if not final:  # a later fill of the same step may be in `o` already
                alpaca["status"] = "partially_filled"
                alpaca["filled_qty"] = s(track.filled / ratio)
                alpaca["filled_at"] = None
            price = fill.price
            if self.option("fill_price") == "average" and alpaca["filled_avg_price"]:
                price = dec(alpaca["filled_avg_price"])
            extra = {
                "price": s(price),
                "qty": s(fill.quantity / ratio),
                "position_qty": self._position_qty(number, first.symbol),
                "execution_id": execution_uuid(number, o.id, first.symbol, index),
            }
            event_name = "fill" if final else "partial_fill"
            self.emit(customer, number, event_name, alpaca, fill.filled_at or now, extra)
            track.status = alpaca["status"]

    def _position_qty(self, number: str, symbol: str) -> str:
        for p in self.sandbox.brokerage.positions(number):
            if p.symbol == symbol:
                return s(p.quantity)
        return "0"

    def emit(
        self,
        customer: Customer,
        number: str,
        name: str,
        order: dict[str, Any],
        timestamp: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Store one trade event for the customer and offer it to its open streams."""
        now = time.time()
        body = {
            "account_id": account_uuid(number),
            "at": iso(now),
            "event": name,
            "timestamp": iso_ns(timestamp),
            "order": order,
            **(extra or {}),
        }
        stored = StoredEvent(next(self._seq), self._ulids.new(now), now, body)
        customer.events.append(stored)
        retention = max(1, int(self.sandbox.config.alpaca_event_retention))
        while len(customer.events) > retention:
            customer.last_dropped = customer.events.popleft()
            customer.dropped += 1
        self.sandbox.counters["alpaca_events"] += 1
        for listener in list(self.streams.get(customer.cid, ())):
            listener.offer(stored)


# --------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """A stream's `since*`/`until*` window; which field is compared depends on the version."""

    version: int
    since: Any = None  # date | str (ulid) | int (seq)
    until: Any = None
    field: str = ""  # "date" | "ulid" | "seq"

    def key(self, event: StoredEvent) -> Any:
        if self.field == "date":
            return datetime.fromtimestamp(event.at, UTC).date()
        return event.ulid if self.field == "ulid" else event.seq

    def wants_history(self) -> bool:
        return self.since is not None

    def after_since(self, event: StoredEvent) -> bool:
        if self.field == "date":
            return self.key(event) >= self.since
        return self.key(event) > self.since

    def beyond_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.key(event) > self.until

    def at_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.field != "date" and self.key(event) == self.until

    def until_passed(self, latest: StoredEvent | None) -> bool:
        """Nothing more can come inside the window (the stream ends with 200)."""
        if self.until is None:
            return False
        if self.field == "date":
            return datetime.now(UTC).date() > self.until
        if latest is not None and self.key(latest) >= self.until:
            return True
        # new ULIDs carry the current time: none can fall at or before a past until_ulid
        return self.field == "ulid" and ulid_time(self.until) < time.time() - 0.001


def parse_replay(request: Request, version: int, options_last_event_id: bool) -> Replay | str:
    """Validate the replay parameters as Alpaca does; an error message on misuse."""
    q = request.query_params
    pairs = [("since", "until", "date"), ("since_id", "until_id", "")]
    pairs.append(("since_ulid", "until_ulid", "ulid"))
    given = [name for name, _, _ in pairs if q.get(name)]
    for since_name, until_name, _ in pairs:
        if q.get(until_name) and not q.get(since_name):
            return f"{until_name} requires {since_name}"
    if len(given) > 1:
        return "only one of since, since_id, since_ulid may be given"
    last_event_id = request.headers.get("last-event-id")
    if not given and options_last_event_id and last_event_id:
        given, fake = ["since_id"], {"since_id": last_event_id}
    else:
        fake = {}
    if not given:
        return Replay(version)
    name = given[0]
    since_raw = fake.get(name) or q.get(name)
    until_name = dict((a, b) for a, b, _ in pairs)[name]
    until_raw = q.get(until_name)
    if name == "since":
        try:
            since = date.fromisoformat(since_raw)
            until = date.fromisoformat(until_raw) if until_raw else None
        except ValueError:
            return "since and until must be dates (YYYY-MM-DD)"
        return Replay(version, since, until, "date")
    ulid_ids = name == "since_ulid" or version == 2
    if ulid_ids:
        values = [since_raw, until_raw] if until_raw else [since_raw]
        if not all(ULID_RE.match(v.upper()) for v in values):
            return f"{name} must be a ULID"
        return Replay(version, since_raw.upper(), until_raw.upper() if until_raw else None, "ulid")
    try:
        return Replay(version, int(since_raw), int(until_raw) if until_raw else None, "seq")
    except ValueError:
        return f"{name} must be an integer"


# --------------------------------------------------------------------------- SSE


class SseSession(Session):
    """One open trade-event stream, listed, dropped and silenced like any session."""

    kind = "alpaca-sse"

    def __init__(self, feed: TradeEvents, customer: Customer, replay: Replay) -> None:
        super().__init__(customer.cid, feed.sandbox.faults)
        self.feed = feed
        self.customer = customer
        self.replay = replay
        self.heartbeats_sent = 0
        self.dropped_slow = 0
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._close_reason = ""
        self.client_gone = False

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the response (a drop fault); an error close says so in a comment first."""
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason if code != 1000 else ""
        self._queue.put_nowait(None)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "version": self.replay.version,
            "client_gone": self.client_gone,
            "heartbeats_sent": self.heartbeats_sent,
        }

    # -- feeding -------------------------------------------------------------------
    def offer(self, event: StoredEvent) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= _MAX_QUEUED:
            self.dropped_slow += 1
            return
        self._queue.put_nowait(event)

    def encode(self, event: StoredEvent) -> bytes:
        body = dict(event.body)
        if self.replay.version == 2:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.ulid
        else:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.seq
            payload["event_ulid"] = event.ulid
        payload.update(body)
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    # -- the response ------------------------------------------------------------------
    async def serve(self, history: list[StoredEvent], receive: Receive, send: Send) -> None:
        """Headers, history, then live events and heartbeats until an end condition."""
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            for event in history:
                if self.replay.beyond_until(event):
                    return
                await self._write(send, self.encode(event))
                if self.replay.at_until(event):
                    return
            latest = self.customer.events[-1] if self.customer.events else None
            if self.replay.until_passed(latest):
                return
            while not self.client_gone:
                interval = max(0.05, float(self.feed.option("heartbeat_interval")))
                try:
                    async with asyncio.timeout(interval):
                        item = await self._queue.get()
                except TimeoutError:
                    if not self.silent:
                        self.heartbeats_sent += 1
                        await self._write(send, b":heartbeat\n\n", count=False)
                    continue
                if item is None:
                    if self._close_reason and self.feed.option("error_comment"):
                        await self._write(send, b": internal server error\n\n", count=False)
                    return
                if self.dropped_slow:
                    dropped, self.dropped_slow = self.dropped_slow, 0
                    warning = f": you are reading too slowly, dropped {dropped} messages\n\n"
                    await self._write(send, warning.encode(), count=False)
                if self.replay.beyond_until(item):
                    return
                if self.silent:
                    self.messages_suppressed += 1
                    continue
                await self._write(send, self.encode(item))
                if self.replay.at_until(item):
                    return
        except OSError:  # the client went away mid-write
            self.client_gone = True
        finally:
            watcher.cancel()
            self._closed = True
            if not self.client_gone:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, chunk: bytes, *, count: bool = True) -> None:
        if self.faults is not None and self.faults.blackouts:
            await self.hold()  # frozen: this chunk and everything after it wait
        if self.client_gone:
            raise OSError("client disconnected")
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if count:
            self.messages_sent += 1

    async def _watch_disconnect(self, receive: Receive) -> None:
        """An SSE client never sends a body: the next message is its disconnect."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                self._queue.put_nowait(None)
                return


class _SseResponse(Response):
    """Runs an `SseSession` as the response; registers it while it is open."""

    def __init__(self, session: SseSession, history: list[StoredEvent]) -> None:
        self.session = session
        self.history = history
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.session
        feed = session.feed
        hub = feed.sandbox.hub
        try:
            await session.serve(self.history, receive, send)
        finally:
            feed.streams.get(session.credential, set()).discard(session)
            delay = float(feed.option("stale_cleanup"))
            if delay > 0 and session.client_gone:
                asyncio.get_running_loop().call_later(delay, hub.remove, session)
            else:
                hub.remove(session)


async def open_stream(feed: TradeEvents, customer: Customer, request: Request) -> Response:
    """GET /v2/events/trades (ULID ids) and /v1/events/trades (integer ids) of an
    authenticated customer: refusals (faults, a second stream, bad replay parameters) or
    the streaming response."""
    sandbox = feed.sandbox
    version = 1 if "/v1/" in request.url.path else 2
    customer.connection_attempts += 1
    sandbox.counters["alpaca_sse_attempts"] += 1
    refused = sandbox.faults.refusal(SseSession.kind, customer.cid)
    if refused:
        customer.connections_refused += 1
        sandbox.counters["alpaca_sse_refused"] += 1
        if refused >= 500:
            return Response(b"Service Unavailable", refused, media_type="text/plain")
        return alpaca_error(refused, refused * 100000, "connection refused")
    replay = parse_replay(request, version, bool(feed.option("honour_last_event_id")))
    if isinstance(replay, str):
        return alpaca_error(400, BAD_INPUT, replay)
    events = list(customer.events)
    if (
        replay.wants_history()
        and replay.field != "date"
        and customer.last_dropped is not None
        and replay.since < replay.key(customer.last_dropped)
        and feed.option("stale_since") == "error"
    ):
        return alpaca_error(400, BAD_INPUT, "since_id is older than the retained events")
    existing = list(sandbox.hub.find(SseSession.kind, customer.cid))
    if existing:
        if feed.option("second_connection") == "kick":
            for old in existing:
                await old.close(1008, "replaced by a newer connection")
                if old.client_gone:  # lingering after a disconnect: forget it now
                    sandbox.hub.remove(old)
        else:
            customer.connections_refused += 1
            sandbox.counters["alpaca_sse_refused"] += 1
            return alpaca_error(429, TOO_MANY, "too many requests: connection limit exceeded")
    session = SseSession(feed, customer, replay)
    # register and take the history in one step (no await between): no event falls between
    sandbox.hub.add(session)
    feed.streams.setdefault(customer.cid, set()).add(session)
    history = [e for e in events if replay.after_since(e)] if replay.wants_history() else []
    return _SseResponse(session, history)
