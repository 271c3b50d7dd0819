"""The per-user stream manager: one supervisor holding a user's broker sessions.

It runs one adapter per broker link, keeps the last known value of everything (so a
page or a new socket gets a snapshot at once), numbers account events with a per-user
sequence, conflates quotes per symbol (latest wins) and flushes them as one batch per
interval, and publishes every frame through one ordered outbox. Frames are serialized
once here, never per socket. Per-tick work is dictionary updates only: no database,
no I/O. The frames are specified in docs/streaming-contract.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import events
from .brokers.base import BrokerAdapter
from .eventlog import EventLog, Fenced

log = logging.getLogger(__name__)

#: Orders kept in the snapshot (the newest; older ones live at the broker).
MAX_ORDERS = 200

Publish = Callable[[dict[str, Any], str], Awaitable[None]]
#: Called when a link's state changes (not per tick): e.g. to record a rejected credential.
LinkStateHook = Callable[[int, str, str], Awaitable[None]]


def user_group(user_id: int) -> str:
    """The channel-layer group every socket of one user joins."""
    return f"user.{user_id}"


def owner_group(user_id: int) -> str:
    """The group the owning process's control channel joins (tabs → owner messages)."""
    return f"owner.{user_id}"


#: A tab that has not re-sent its symbols for this long is gone (its process may have died).
TAB_TTL = 90.0


@dataclass
class LinkInfo:
    """What the manager knows about a broker link (no secrets)."""

    id: int
    broker: str
    label: str
    simulated: bool
    #: Whether the broker streams quotes; one such link feeds all of the user's quotes.
    streams_quotes: bool = True


@dataclass
class AccountState:
    number: str
    link: LinkInfo
    balance: dict[str, Any] | None = None
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "link": self.link.id,
            "broker": self.link.broker,
            "label": self.link.label,
            "simulated": self.link.simulated,
            "balance": self.balance,
            "positions": list(self.positions.values()),
        }


class UserStreamManager:
    """Holds one user's broker adapters and the last-value state they feed."""

    def __init__(
        self,
        user_id: int,
        *,
        links: Iterable[tuple[LinkInfo, BrokerAdapter]],
        publish: Publish,
        flush_interval: float = 0.15,
        on_link_state: LinkStateHook | None = None,
        naive: bool = False,
        event_log: EventLog | None = None,
        owner: str = "",
    ) -> None:
        self.user_id = user_id
        self.links: dict[int, LinkInfo] = {}
        self.adapters: dict[int, BrokerAdapter] = {}
        for info, adapter in links:
            self.links[info.id] = info
            self.adapters[info.id] = adapter
        self._publish = publish
        self._on_link_state = on_link_state
        self.flush_interval = flush_interval
        self._event_log = event_log
        self._owner = owner
        #: Set when the event log refused a write: another process owns this user now.
        self.fenced = False
        self._missed_publish = False
        #: Benchmark baseline only: one frame per tick, no conflation (what not to do).
        self.naive = naive
        self.last_event_at: float | None = None
        self.seq = 0
        self.accounts: dict[str, AccountState] = {}
        self.last_quotes: dict[str, dict[str, Any]] = {}
        self.last_greeks: dict[str, dict[str, Any]] = {}
        #: Newest orders by (link, broker order id): ids are only unique within a broker.
        self.orders: OrderedDict[tuple[int, Any], dict[str, Any]] = OrderedDict()
        self.link_status: dict[int, dict[str, Any]] = {
            info.id: self._link_status(info, "stopped", "") for info in self.links.values()
        }
        self._quote_source: int | None = None
        self.tab_symbols: dict[str, set[str]] = {}
        self._tab_seen: dict[str, float] = {}
        self._pending_quotes: dict[str, dict[str, Any]] = {}
        self._pending_greeks: dict[str, dict[str, Any]] = {}
        self._outbox: asyncio.Queue[tuple[dict[str, Any], str]] = asyncio.Queue()
        self._account_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()  # set once every link is live (snapshot taken) or failed
        self._settled: set[int] = set()

    @property
    def simulated(self) -> bool:
        return any(info.simulated for info in self.links.values())

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._sync_symbols()
        self._tasks.append(asyncio.create_task(self._sender(), name=f"sender-{self.user_id}"))
        self._tasks.append(asyncio.create_task(self._flusher(), name=f"flusher-{self.user_id}"))
        for link_id, adapter in self.adapters.items():
            name = f"adapter-{self.user_id}-{link_id}"
            self._tasks.append(asyncio.create_task(adapter.run(self), name=name))
        if not self.adapters:
            self.ready.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for info in self.links.values():
            self.link_status[info.id] = self._link_status(info, "stopped", "")

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    # -- subscriptions --------------------------------------------------------------------
    def set_tab_symbols(self, tab: str, symbols: Iterable[str]) -> None:
        """One socket's wanted symbols; the upstream subscription is the union of all."""
        self._tab_seen[tab] = time.monotonic()
        symbols = set(symbols)
        if self.tab_symbols.get(tab) != symbols:
            self.tab_symbols[tab] = symbols
            self._sync_symbols()

    def drop_tab(self, tab: str) -> None:
        self._tab_seen.pop(tab, None)
        if self.tab_symbols.pop(tab, None) is not None:
            self._sync_symbols()

    def expire_tabs(self, ttl: float = TAB_TTL) -> None:
        """Forget tabs that stopped re-sending their symbols (their process died)."""
        cutoff = time.monotonic() - ttl
        for tab in [t for t, seen in self._tab_seen.items() if seen < cutoff]:
            self.drop_tab(tab)

    def wanted_symbols(self) -> set[str]:
        wanted: set[str] = set()
        for symbols in self.tab_symbols.values():
            wanted |= symbols
        for account in self.accounts.values():
            for position in account.positions.values():
                if position.get("streamer_symbol"):
                    wanted.add(position["streamer_symbol"])
        return wanted

    def quote_source(self) -> int | None:
        """The link that streams the user's quotes: the first quote-capable link that is
        not failing. One source, not one per broker: the same symbol from two feeds would
        interleave two different markets (and cost a second upstream subscription)."""
        capable = [i for i, info in self.links.items() if info.streams_quotes]
        for link_id in capable:
            if self.link_status[link_id]["state"] != "error":
                return link_id
        return capable[0] if capable else None

    def _sync_symbols(self) -> None:
        wanted = self.wanted_symbols()
        source = self.quote_source()
        self._quote_source = source
        for link_id, adapter in self.adapters.items():
            adapter.set_symbols(wanted if link_id == source else set())

    # -- the sink adapters report into (AdapterSink) ----------------------------------------
    def quote(self, symbol: str, fields: dict[str, Any]) -> None:
        """Per tick: merge into the last value and into the pending batch. Nothing else."""
        self.last_event_at = time.time()
        fields.setdefault("t", int(self.last_event_at * 1000))
        _merge(self.last_quotes, symbol, fields)
        if self.naive:
            self._send(
                {"type": "quotes", "quotes": {symbol: fields}, "greeks": {}, "t": fields["t"]}
            )
            return
        _merge(self._pending_quotes, symbol, fields)

    def greeks(self, symbol: str, fields: dict[str, Any]) -> None:
        self.last_event_at = time.time()
        fields.setdefault("t", int(self.last_event_at * 1000))
        _merge(self.last_greeks, symbol, fields)
        _merge(self._pending_greeks, symbol, fields)

    async def account_event(self, kind: str, link_id: int, account: str, payload: Any) -> None:
        """Apply an account event to the state, number it, and send it (never conflated)."""
        if kind not in events.ACCOUNT_FRAME_TYPES:
            raise ValueError(f"unknown account event kind {kind!r}")
        link = self.links[link_id]
        state = self.accounts.setdefault(account, AccountState(account, link))
        positions_changed = False
        if kind == "balance":
            state.balance = payload
        elif kind == "positions":
            state.positions = {p["symbol"]: p for p in payload}
            positions_changed = True
        elif kind == "position":
            if payload.get("quantity") in (0, None):
                state.positions.pop(payload["symbol"], None)
            else:
                state.positions[payload["symbol"]] = payload
            positions_changed = True
        elif kind == "order":
            # one status vocabulary for every broker (the browser knows which are final)
            payload = {**payload, "status": events.order_status(payload.get("status"))}
            key = (link_id, payload["id"])
            self.orders[key] = {**payload, "link": link_id, "account": account}
            self.orders.move_to_end(key)
            while len(self.orders) > MAX_ORDERS:
                self.orders.popitem(last=False)
        body_key = {"balance": "balance", "positions": "positions", "position": "position"}
        # Numbering, logging and queueing in one step per user: two adapters reporting at
        # once must not reach the outbox in another order than their seqs (a tab would
        # see a gap the log cannot fill yet, and resync).
        async with self._account_lock:
            self.seq += 1
            self.last_event_at = time.time()
            frame = {
                "type": kind,
                "seq": self.seq,
                "account": account,
                "link": link_id,
                body_key.get(kind, "order"): payload,
                "t": int(self.last_event_at * 1000),
                "simulated": link.simulated,
            }
            text = orjson.dumps(frame).decode()
            await self._log(frame["seq"], text)
            self._outbox.put_nowait((frame, text))
        if positions_changed:
            self._sync_symbols()

    async def _log(self, seq: int, text: str) -> None:
        """Keep the frame for resuming sockets; a fenced write means we are not the owner."""
        if self._event_log is None or self.fenced:
            return
        try:
            await self._event_log.append(self.user_id, self._owner, seq, text)
        except Fenced:
            log.warning("user %s: another process owns the stream; stopping", self.user_id)
            self.fenced = True
        except Exception as exc:  # Redis away: the frame still goes out; resumes will resync
            log.warning("user %s: event log write failed: %s", self.user_id, exc)
            self._missed_publish = True

    async def status(self, link_id: int, state: str, reason: str = "", **extra: Any) -> None:
        info = self.links[link_id]
        previous = self.link_status.get(link_id, {})
        status = self._link_status(info, state, reason, **extra)
        if previous.get("state") == state and previous.get("reason") == reason:
            status["since"] = previous.get("since", status["since"])
        self.link_status[link_id] = status
        if self.quote_source() != self._quote_source:  # the quote link failed or recovered
            self._sync_symbols()
        if state in ("live", "error"):  # live comes after the link's full REST snapshot
            self._settled.add(link_id)
            if self._settled >= set(self.links):
                self.ready.set()
        self._send({"type": "status", "link": status, "t": events.now_ms()})
        if self._on_link_state and previous.get("state") != state:
            try:
                await self._on_link_state(link_id, state, reason)
            except Exception:
                log.exception("recording the state of link %s failed", link_id)

    def _link_status(self, info: LinkInfo, state: str, reason: str, **extra: Any) -> dict[str, Any]:
        age = None
        if self.last_event_at:
            age = int((time.time() - self.last_event_at) * 1000)
        return {
            "id": info.id,
            "broker": info.broker,
            "label": info.label,
            "state": state,
            "reason": reason,
            "since": events.now_ms(),
            "last_event_age_ms": age,
            "reconnects": extra.get("reconnects", 0),
            "token_expires_at": extra.get("token_expires_at"),
            "retry_in": extra.get("retry_in"),
            "simulated": info.simulated,
        }

    # -- publishing -----------------------------------------------------------------------
    def _send(self, frame: dict[str, Any]) -> None:
        """Serialize once and queue; the sender publishes in order."""
        self._outbox.put_nowait((frame, orjson.dumps(frame).decode()))

    async def _sender(self) -> None:
        while True:
            frame, text = await self._outbox.get()
            if self.fenced:
                continue  # not the owner any more: the new owner speaks for this user
            try:
                if self._missed_publish:
                    # frames were lost while Redis was away: every socket must resync
                    resync = {"type": "resync", "reason": "frames may have been missed"}
                    await self._publish(resync, orjson.dumps(resync).decode())
                    self._missed_publish = False
                await self._publish(frame, text)
            except Exception as exc:
                log.warning(
                    "user %s: publishing a %s frame failed: %s", self.user_id, frame["type"], exc
                )
                self._missed_publish = True

    def mark_republish(self) -> None:
        """After a Redis outage or restart: tell every socket to resync with the next frame."""
        self._missed_publish = True

    async def _flusher(self) -> None:
        """One quote batch per interval, only when something changed (latest wins)."""
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(self.flush_interval)
            if time.monotonic() - last_sweep > 10:
                last_sweep = time.monotonic()
                self.expire_tabs()
            if self._pending_quotes or self._pending_greeks:
                quotes, self._pending_quotes = self._pending_quotes, {}
                greeks, self._pending_greeks = self._pending_greeks, {}
                self._send(
                    {"type": "quotes", "quotes": quotes, "greeks": greeks, "t": events.now_ms()}
                )

    # -- reading ---------------------------------------------------------------------------
    def snapshot(self, symbols: Iterable[str] | None = None) -> dict[str, Any]:
        """The full current state (contract `snapshot`), for pages and new sockets."""
        wanted = self.wanted_symbols() if symbols is None else set(symbols) | self.wanted_symbols()
        return {
            "type": "snapshot",
            "seq": self.seq,
            "simulated": self.simulated,
            "accounts": [a.as_dict() for a in self._accounts_in_link_order()],
            "quotes": {s: q for s, q in self.last_quotes.items() if s in wanted},
            "greeks": {s: g for s, g in self.last_greeks.items() if s in wanted},
            "orders": list(reversed(self.orders.values())),
            "links": list(self.link_status.values()),
            "subscriptions": sorted(wanted),
            "t": events.now_ms(),
        }

    def _accounts_in_link_order(self) -> list[AccountState]:
        """Accounts grouped by link, links in the order they were made (stable pages)."""
        rank = {link_id: i for i, link_id in enumerate(self.links)}
        return sorted(self.accounts.values(), key=lambda a: (rank.get(a.link.id, 0), a.number))

    async def wait_ready(self, within: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.ready.wait()
        return self.ready.is_set()


def _merge(table: dict[str, dict[str, Any]], symbol: str, fields: dict[str, Any]) -> None:
    """Latest values win per field, but `t` stays the newest time seen: a Trade event
    carrying an older trade time must not make a fresh quote look old."""
    entry = table.get(symbol)
    if entry is None:
        table[symbol] = dict(fields)
        return
    t = entry.get("t")
    entry.update(fields)
    if t is not None and entry["t"] < t:
        entry["t"] = t
