"""The Tradier adapter: REST snapshot and polling for accounts, the HTTP market stream for
quotes, option chains (with hourly greeks) for greeks.

One adapter per broker link and one REST client (one rate-limit book per token), with two
independent supervised loops, each with its own backoff and status:

- **account**: list the token's accounts, take a REST snapshot (balances, positions,
  orders), report live, then poll (Tradier's HTTP API has no account push): balances and
  positions every `account_poll_interval` — and at once after a fill — and orders every
  `order_poll_interval`. A successful balances round confirms the account data fresh; a
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
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from streaming.brokers import rate_limit as pacing
from streaming.brokers.bars import (
    HistoryError,
    bucket_start,
    candle,
    daily_t,
    date_ms,
    merge,
    ordered,
)
from streaming.brokers.base import AdapterSink, DelayMonitor, StreamConfig, SupervisedAdapter
from streaming.brokers.errors import BrokerHTTPError, StreamEnded, describe
from streaming.brokers.market_data_cache import FetchFailed
from streaming.brokers.option_chains import TradierChains, tradier_market_bucket
from streaming.brokers.symbols import (
    NEW_YORK,
    is_option,
    occ_parts,
    occ_to_streamer_symbol,
    option_expiry_ms,
    streamer_to_occ_symbol,
)
from streaming.brokers.tradier_client import TradierClient, as_list
from streaming.brokers.values import now_ms, num, quantity_text, time_ms

log = logging.getLogger(__name__)

#: How long a history request waits for a slot of the token's market-data limit.
HISTORY_PACING_WAIT = 3.0

__all__ = ["StreamConfig", "TradierAdapter"]

STREAM_FILTER = "quote,trade,summary"
#: Debounce of symbol changes: a burst of set_symbols calls costs one new session.
SYMBOL_SETTLE = 0.05
#: Tradier's paper environment serves quotes 15 minutes late.
DELAYED_HOSTS = {"sandbox.tradier.com": 15 * 60 * 1000}
#: Order statuses after which an order can never be open again (Tradier's vocabulary).
FINAL_STATUSES = {"filled", "canceled", "expired", "rejected"}


def known_delay_ms(*urls: str) -> int | None:
    """The delay of a known delayed environment the URLs point at, else None."""
    for url in urls:
        delay = DELAYED_HOSTS.get((urlsplit(url).hostname or "").lower())
        if delay is not None:
            return delay
    return None


# -- normalization (docs/streaming-contract.md) ---------------------------------------------------
def balance_payload(b: dict[str, Any]) -> dict[str, Any]:
    """Tradier balances → the contract's balance (short values as positive amounts)."""
    margin = b.get("margin") if isinstance(b.get("margin"), dict) else None
    cash = b.get("cash") if isinstance(b.get("cash"), dict) else None
    pdt = b.get("pdt") if isinstance(b.get("pdt"), dict) else None
    nested = margin or pdt or {}
    stock_bp = num(nested.get("stock_buying_power")) if nested else None
    option_bp = num(nested.get("option_buying_power")) if nested else None
    if stock_bp is None and cash is not None:
        stock_bp = option_bp = num(cash.get("cash_available"))

    def magnitude(key: str) -> float | int | None:
        value = num(b.get(key))
        return abs(value) if value is not None else None

    return {
        "net_liquidating_value": num(b.get("total_equity")),
        "buying_power": stock_bp,
        "equity_buying_power": stock_bp,
        "derivative_buying_power": option_bp,
        "day_trading_buying_power": num(pdt.get("day_trade_buying_power")) if pdt else None,
        "cash": num(b.get("total_cash")),
        "cash_available_to_withdraw": num(cash.get("cash_available")) if cash else None,
        "maintenance_requirement": num(b.get("current_requirement")),
        "long_equity_value": num(b.get("stock_long_value")),
        "short_equity_value": abs(num(nested.get("stock_short_value")) or 0)
        if nested.get("stock_short_value") is not None
        else None,
        "long_derivative_value": num(b.get("option_long_value")),
        "short_derivative_value": magnitude("option_short_value"),
        "pending_cash": num(b.get("pending_cash")),
        "updated_at": now_ms(),
    }


def position_payload(p: dict[str, Any], quote: dict[str, Any] | None) -> dict[str, Any]:
    """A Tradier position (signed quantity, total cost basis) → the contract's position."""
    symbol = str(p.get("symbol", ""))
    streamer = occ_to_streamer_symbol(symbol)
    option = streamer is not None
    multiplier = 100 if option else 1
    signed = num(p.get("quantity")) or 0
    qty = abs(signed)
    cost = num(p.get("cost_basis"))
    average = abs(cost / signed / multiplier) if cost is not None and signed else None
    parts = occ_parts(symbol) if option else None
    mark = None
    close = None
    if quote:
        bid, ask = num(quote.get("bid")), num(quote.get("ask"))
        mark = round((bid + ask) / 2, 4) if bid is not None and ask is not None else None
        close = num(quote.get("prevclose"))
    return {
        "symbol": symbol,
        "streamer_symbol": streamer or symbol,
        "underlying": parts[0] if parts else symbol,
        "instrument_type": "Equity Option" if option else "Equity",
        "quantity": qty,
        "direction": "Zero" if not signed else ("Long" if signed > 0 else "Short"),
        "average_open_price": round(average, 6) if average is not None else None,
        "close_price": close,
        "mark_price": mark,
        "multiplier": multiplier,
        "cost_effect": None if not signed else ("Debit" if signed > 0 else "Credit"),
        "realized_day_gain": None,
        "expires_at": option_expiry_ms(symbol) if option else None,
    }


def _fill_ids(order: dict[str, Any] | None) -> set[str]:
    if not order:
        return set()
    return {f["id"] for leg in order.get("legs") or () for f in leg.get("fills") or ()}


class FillBook:
    """Synthesizes fills from Tradier's cumulative `exec_quantity`.

    Tradier's order rows carry no fill list, only `exec_quantity`, `last_fill_price`,
    `last_fill_quantity` and `avg_fill_price`. A fill is made when the executed quantity
    grows; its id is `f"{key}:{cumulative}"`, so the same fill always has the same id —
    after a restart too. Seen for the first time part-filled, an order gets the earlier
    executions as one fill (at the implied average price) plus its last fill.

    An order whose history goes backwards (another creation time, a smaller executed
    quantity, or open again after it was final) is a new order under a reused id (a
    broker restart): its fills are forgotten, so new fills are never merged into old ones.
    """

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.fills: dict[str, list[dict[str, Any]]] = {}
        #: Per order id: (creation time, status) last seen.
        self.orders: dict[str, tuple[Any, Any]] = {}
        self.resets = 0

    def observe(self, order_id: str, order: dict[str, Any], rows: dict[str, Any]) -> bool:
        """Note an order's identity before its legs are updated (`rows`: leg key -> row);
        forget its fills if the id was reused. Returns whether it was."""
        created, status = order.get("create_date"), order.get("status")
        known = self.orders.get(order_id)
        self.orders[order_id] = (created, status)
        if known is None:
            return False
        went_back = any(
            float(num(row.get("exec_quantity")) or 0) < self.seen.get(key, 0.0)
            for key, row in rows.items()
        )
        if created and known[0] and created != known[0]:
            went_back = True
        if known[1] in FINAL_STATUSES and status not in FINAL_STATUSES:
            went_back = True
        if went_back:
            self.resets += 1
            for key in rows:
                self.seen.pop(key, None)
                self.fills.pop(key, None)
        return went_back

    def update(self, key: str, row: dict[str, Any], at: int | None) -> list[dict[str, Any]]:
        executed = float(num(row.get("exec_quantity")) or 0)
        previous = self.seen.get(key)
        fills = self.fills.setdefault(key, [])
        if executed > (previous or 0):
            last_price = num(row.get("last_fill_price"))
            if previous is None:
                last_qty = float(num(row.get("last_fill_quantity")) or executed)
                last_qty = min(last_qty, executed) or executed
                earlier = executed - last_qty
                if earlier > 0:
                    average = float(num(row.get("avg_fill_price")) or 0)
                    price = (average * executed - (last_price or 0) * last_qty) / earlier
                    fills.append(
                        {
                            "id": f"{key}:{quantity_text(earlier)}",
                            "quantity": num(quantity_text(earlier)),
                            "price": round(price, 6),
                            "at": at,
                        }
                    )
                delta = last_qty
            else:
                delta = executed - previous
            fills.append(
                {
                    "id": f"{key}:{quantity_text(executed)}",
                    "quantity": num(quantity_text(delta)),
                    "price": last_price,
                    "at": at,
                }
            )
        self.seen[key] = max(executed, previous or 0)
        return list(fills)


def order_payload(o: dict[str, Any], book: FillBook) -> dict[str, Any]:
    """A Tradier order (single-leg or multileg) → the contract's order, fills synthesized."""
    order_id = o.get("id")
    at = time_ms(o.get("transaction_date"))
    rows = [r for r in as_list(o.get("leg")) if isinstance(r, dict)]
    if o.get("class") != "multileg" or not rows:
        rows = [o]
    keyed = {
        (f"{order_id}" if len(rows) == 1 else f"{order_id}:{row.get('id', index)}"): row
        for index, row in enumerate(rows)
    }
    book.observe(str(order_id), o, keyed)
    legs = []
    for key, row in keyed.items():
        option_symbol = row.get("option_symbol")
        legs.append(
            {
                "symbol": option_symbol or row.get("symbol"),
                "instrument_type": "Equity Option" if option_symbol else "Equity",
                "action": row.get("side"),
                "quantity": num(row.get("quantity")),
                "remaining_quantity": num(row.get("remaining_quantity")),
                "fills": book.update(key, row, at),
            }
        )
    order_type = o.get("type")
    side = str(o.get("side") or "")
    if order_type in ("debit", "credit"):
        effect: str | None = order_type.capitalize()
    elif side:
        effect = "Debit" if side.startswith("buy") else "Credit"
    else:
        effect = None
    price = num(o.get("price"))
    return {
        "id": order_id,
        "status": o.get("status"),
        "order_type": order_type,
        "time_in_force": o.get("duration"),
        "price": abs(price) if price is not None else None,
        "price_effect": effect if price is not None else None,
        "underlying": o.get("symbol"),
        "legs": legs,
        "received_at": time_ms(o.get("create_date")),
        "updated_at": at,
    }


def quote_fields(event: dict[str, Any], prev_close: float | None) -> dict[str, Any] | None:
    """One stream payload → contract quote fields (only what that payload carries)."""
    kind = event.get("type")
    if kind == "quote":
        fields = {
            "bid": num(event.get("bid")),
            "ask": num(event.get("ask")),
            "bid_size": num(event.get("bidsz")),
            "ask_size": num(event.get("asksz")),
        }
        times = [t for t in (time_ms(event.get("biddate")), time_ms(event.get("askdate"))) if t]
    elif kind in ("trade", "tradex"):
        last = num(event.get("last", event.get("price")))
        fields = {"last": last, "volume": num(event.get("cvol"))}
        if last is not None and prev_close is not None:
            fields["change"] = round(last - prev_close, 4)
        times = [t for t in (time_ms(event.get("date")),) if t]
    elif kind == "summary":
        fields = {
            "day_high": num(event.get("high")),
            "day_low": num(event.get("low")),
            "prev_close": num(event.get("prevClose")),
        }
        times = []
    elif kind == "timesale":
        fields = {
            "bid": num(event.get("bid")),
            "ask": num(event.get("ask")),
            "last": num(event.get("last")),
        }
        times = [t for t in (time_ms(event.get("date")),) if t]
    else:
        return None
    if times:
        fields["t"] = max(times)
    return fields


def greeks_fields(row: dict[str, Any]) -> dict[str, Any] | None:
    """A chain row's greeks → contract greeks; `iv` falls back to smv_vol if mid_iv is 0."""
    g = row.get("greeks")
    if not isinstance(g, dict):
        return None
    iv = num(g.get("mid_iv")) or num(g.get("smv_vol"))
    bid, ask = num(row.get("bid")), num(row.get("ask"))
    price = round((bid + ask) / 2, 4) if bid is not None and ask is not None else None
    fields = {
        "price": price if price is not None else num(row.get("last")),
        "iv": iv,
        "delta": num(g.get("delta")),
        "gamma": num(g.get("gamma")),
        "theta": num(g.get("theta")),
        "vega": num(g.get("vega")),
        "rho": num(g.get("rho")),
    }
    updated = time_ms(g.get("updated_at"), zone=NEW_YORK)  # `2025-01-02 15:00:00`, New York
    if updated is not None:
        fields["t"] = updated
    return fields


class TradierAdapter(SupervisedAdapter):
    """Streams one Tradier link into a sink, forever, healing on every failure."""

    broker = "tradier"

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
        self._subscribed: set[str] = set()
        self._client: TradierClient | None = None
        self._fills = FillBook()
        #: Option chains through the cluster-wide cache and pacing (option_chains.py).
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
                )
            )

    async def _accounts(self, client: TradierClient) -> list[str]:
        return [n for n in await client.account_numbers() if self._wants(n)]

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
        while True:
            if wake is None:
                await asyncio.sleep(interval)
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await wake.wait()
                wake.clear()
            await self._gate(sink)
            try:
                await poll(client, accounts, sink, full=False)
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
        """Balances and positions; on a poll only what changed is reported."""
        self.account_polls += 1
        raw_positions: dict[str, list[dict[str, Any]]] = {}
        balances: dict[str, dict[str, Any]] = {}
        for number_ in accounts:
            body = await client.get(f"/v1/accounts/{number_}/balances")
            balances[number_] = balance_payload((body or {}).get("balances") or {})
            body = await client.get(f"/v1/accounts/{number_}/positions")
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
            body = await client.get(f"/v1/accounts/{number_}/orders")
            wrapper = (body or {}).get("orders")
            rows = as_list(wrapper.get("order") if isinstance(wrapper, dict) else None)
            for row in rows:
                if not isinstance(row, dict):
                    continue
                payload = order_payload(row, self._fills)
                key = ("order", str(payload["id"]))
                previous = self._known.get(key)
                if full or previous != payload:
                    await sink.account_event("order", self.link_id, number_, payload)
                    if not full and _fill_ids(payload) - _fill_ids(previous):
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

    # -- greeks from option chains ----------------------------------------------------------
    async def option_chain(self, symbol: str, expiration: str) -> list[dict[str, Any]]:
        """The chain of one expiration with greeks, as Tradier sends it: shared by every
        process for `chain_cache_ttl` (one broker fetch per TTL, whoever asks: this
        greeks loop or a chain page) and paced under the token's market-data limit."""
        rows, _ = await self.chains.raw_rows(symbol, expiration)
        return rows

    # -- candle history ------------------------------------------------------------------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of `symbol` from `from_ms` (ascending, the last one forming):
        `/v1/markets/timesales` for 1m, 5m and 15m (1h: four 15m merged; regular hours
        only, like tastytrade's `tho=true`), `/v1/markets/history` for 1d."""
        occ = streamer_to_occ_symbol(symbol) if is_option(symbol) else None
        name = occ or symbol
        start = dt.datetime.fromtimestamp(from_ms / 1000, NEW_YORK)
        first = daily_t(from_ms) if tf == "1d" else bucket_start(from_ms, tf)
        async with asyncio.timeout(within):
            if tf == "1d":  # the date of the daily candle `first` (00:00 UTC of it)
                day = dt.datetime.fromtimestamp(first / 1000, dt.UTC).date()
                params = {"symbol": name, "interval": "daily", "start": day.isoformat()}
                body = await self._history_get("/v1/markets/history", params)
                wrapper = (body or {}).get("history")
                rows = as_list(wrapper.get("day") if isinstance(wrapper, dict) else None)
                bars = [_day_candle(r) for r in rows if isinstance(r, dict)]
            else:
                params = {
                    "symbol": name,
                    "interval": {"1m": "1min", "5m": "5min"}.get(tf, "15min"),
                    "start": start.strftime("%Y-%m-%d %H:%M"),
                    "session_filter": "open",
                }
                body = await self._history_get("/v1/markets/timesales", params)
                wrapper = (body or {}).get("series")
                rows = as_list(wrapper.get("data") if isinstance(wrapper, dict) else None)
                bars = [_timesale_candle(r) for r in rows if isinstance(r, dict)]
        found = ordered(b for b in bars if b is not None)
        if not found:
            raise HistoryError("unknown_symbol", f"Tradier has no history for {symbol}")
        if tf == "1h":
            found = merge(found, tf)
        return [b for b in found if b["t"] >= first]

    async def _history_get(self, path: str, params: dict[str, Any]) -> Any:
        """One history call, paced under the token's market-data limit across processes
        and not retried (the chart says "rate limited, retry in N s" instead of hanging),
        mapped to the contract's history errors."""
        bucket, per_minute = self._market_bucket
        try:
            await pacing.acquire(
                bucket, per_minute, deadline=time.monotonic() + HISTORY_PACING_WAIT
            )
        except pacing.PacingTimeout as exc:
            raise HistoryError(
                "rate_limited", "Tradier's rate limit is used up for now", round(exc.retry_in, 1)
            ) from exc
        try:
            return await self._get(path, params)
        except BrokerHTTPError as exc:
            if exc.status == 429:
                raise HistoryError(
                    "rate_limited", "Tradier rate-limited the history request", exc.retry_after
                ) from exc
            if exc.status == 400:
                raise HistoryError(
                    "unknown_symbol", f"Tradier refused the symbol {params['symbol']}"
                ) from exc
            raise HistoryError(
                "broker_error", f"Tradier refused the history request (HTTP {exc.status})"
            ) from exc
        except (httpx.HTTPError, OSError) as exc:
            raise HistoryError("broker_error", f"Tradier did not answer: {describe(exc)}") from exc

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
                symbol = wanted.get(str(row.get("symbol")))
                fields = greeks_fields(row) if symbol else None
                if symbol and fields:
                    sink.greeks(symbol, fields)
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


def _timesale_candle(row: dict[str, Any]) -> dict[str, Any] | None:
    stamp = num(row.get("timestamp"))
    if stamp is None:
        return None
    t = int(stamp) * 1000
    return candle(
        t, row.get("open"), row.get("high"), row.get("low"), row.get("close"), row.get("volume")
    )


def _day_candle(row: dict[str, Any]) -> dict[str, Any] | None:
    try:
        day = dt.date.fromisoformat(str(row.get("date")))
    except ValueError:
        return None
    return candle(
        date_ms(day),
        row.get("open"),
        row.get("high"),
        row.get("low"),
        row.get("close"),
        row.get("volume"),
    )
