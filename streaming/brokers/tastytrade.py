"""The tastytrade adapter: OAuth session, DXLink quotes/greeks, account streamer, REST.

One adapter per broker link. Each connection does, in order: refresh the OAuth token,
list the link's accounts, take a REST snapshot (balances, positions, live orders), open
the account streamer and DXLink (with a handshake timeout: the SDK has none), subscribe,
then stream. Alongside: a token refresher (before expiry), a liveness watchdog (a
silent DXLink never closes by itself), a subscription updater, and periodic REST
reconciliation so nothing depends on the stream alone. Any failure ends the connection;
the loop reconnects with jittered backoff. See docs/streaming-contract.md for events.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import anyio
import httpx2
from httpx2.websockets import HTTPXWSException, WebSocketDisconnect
from tastytrade import Account, DXLinkStreamer, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.order import PlacedOrder
from tastytrade.utils import TastytradeError

from .. import events
from ..validation import is_option
from .base import (
    AdapterSink,
    CredentialRejected,
    StreamConfig,
    StreamSilent,
    SupervisedAdapter,
    leaves,
)
from .tastytrade_client import make_alert_streamer, make_session

log = logging.getLogger(__name__)

__all__ = ["StreamConfig", "TastytradeAdapter"]

REJECTION_CODES = ("invalid_grant", "invalid_client", "unauthorized_client")


def describe(exc: BaseException) -> str:
    """A short, secret-free reason for a status event or a log line."""
    for leaf in leaves(exc):
        if isinstance(leaf, WebSocketDisconnect):
            return f"broker closed the stream (code {leaf.code})"
        if isinstance(leaf, StreamSilent):
            return str(leaf)
        if isinstance(leaf, CredentialRejected):
            return f"credential rejected: {leaf}"
        if isinstance(leaf, TastytradeError):
            return f"broker error: {str(leaf).strip()[:200]}"
        if isinstance(leaf, httpx2.TimeoutException | TimeoutError):
            return "broker did not answer in time"
        if isinstance(leaf, httpx2.TransportError | OSError):
            return f"cannot reach broker: {type(leaf).__name__}"
        if isinstance(leaf, HTTPXWSException):
            return f"stream error: {type(leaf).__name__}"
    first = leaves(exc)[0]
    return f"unexpected error: {type(first).__name__}: {str(first)[:120]}"


def is_rejection(exc: BaseException) -> bool:
    return any(
        isinstance(leaf, CredentialRejected)
        or (isinstance(leaf, TastytradeError) and any(c in str(leaf) for c in REJECTION_CODES))
        for leaf in leaves(exc)
    )


class TastytradeAdapter(SupervisedAdapter):
    """Streams one tastytrade link into a sink, forever, healing on every failure."""

    broker = "tastytrade"

    def __init__(
        self,
        *,
        link_id: int,
        provider_secret: str,
        refresh_token: str,
        account_numbers: Iterable[str] = (),
        config: StreamConfig | None = None,
    ) -> None:
        self.link_id = link_id
        self._secret = provider_secret
        self._refresh = refresh_token
        self._wanted_accounts = set(account_numbers)
        self.config = config or StreamConfig()
        self._symbols: set[str] = set()
        self._symbols_changed = asyncio.Event()
        self._subscribed: set[str] = set()
        self.last_data = time.monotonic()
        self.reconnects = 0
        self.token_expires_at: float | None = None
        self._known: dict[tuple[str, str], Any] = {}  # last REST state, to emit only changes

    # -- control --------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        if symbols != self._symbols:
            self._symbols = set(symbols)
            self._symbols_changed.set()

    def _describe(self, exc: BaseException) -> str:
        return describe(exc)

    def _is_rejection(self, exc: BaseException) -> bool:
        return is_rejection(exc)

    def _status_extra(self) -> dict[str, Any]:
        return {"reconnects": self.reconnects, "token_expires_at": self.token_expires_at}

    # -- one connection -------------------------------------------------------------
    async def _connect_once(self, sink: AdapterSink) -> None:
        await sink.status(self.link_id, "connecting", **self._status_extra())
        async with make_session(self._secret, self._refresh, timeout=15) as session:
            try:
                await session.refresh(force=True)
            except TastytradeError as exc:
                if any(code in str(exc) for code in REJECTION_CODES):
                    raise CredentialRejected(str(exc).strip()) from exc
                raise
            self.token_expires_at = session.session_expiration
            accounts = await Account.get(session)
            if self._wanted_accounts:
                accounts = [a for a in accounts if a.account_number in self._wanted_accounts]
            await self._snapshot(session, accounts, sink, full=True)
            self._subscribed = set()
            with anyio.fail_after(self.config.handshake_timeout) as scope:
                async with make_alert_streamer(session) as alerts, DXLinkStreamer(session) as dx:
                    scope.deadline = math.inf  # connected: the timeout guarded the handshake only
                    if accounts:
                        await alerts.subscribe_accounts(accounts)
                    await self._apply_symbols(dx)
                    self.last_data = time.monotonic()
                    await sink.status(self.link_id, "live", **self._status_extra())
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(self._pump_balances, alerts, sink)
                        tg.start_soon(self._pump_positions, alerts, sink)
                        tg.start_soon(self._pump_orders, alerts, sink)
                        tg.start_soon(self._pump_quotes, dx, sink)
                        tg.start_soon(self._pump_trades, dx, sink)
                        tg.start_soon(self._pump_summaries, dx, sink)
                        tg.start_soon(self._pump_greeks, dx, sink)
                        tg.start_soon(self._symbol_updates, dx)
                        tg.start_soon(self._token_refresher, session, sink)
                        tg.start_soon(self._watchdog)
                        tg.start_soon(self._reconcile, session, accounts, sink)

    async def _snapshot(
        self, session: Session, accounts: list[Account], sink: AdapterSink, *, full: bool
    ) -> None:
        """Balances, positions and live orders over REST; on reconcile only what changed."""
        for account in accounts:
            number = account.account_number
            balance = events.balance_payload(await account.get_balances(session))
            positions = [events.position_payload(p) for p in await account.get_positions(session)]
            if full or self._known.get(("balance", number)) != _stable(balance):
                await sink.account_event("balance", self.link_id, number, balance)
            if full or self._known.get(("positions", number)) != positions:
                await sink.account_event("positions", self.link_id, number, positions)
            self._known[("balance", number)] = _stable(balance)
            self._known[("positions", number)] = positions
            for order in await account.get_live_orders(session):
                payload = events.order_payload(order)
                key = ("order", str(order.id))
                if full or self._known.get(key) != payload:
                    await sink.account_event("order", self.link_id, number, payload)
                self._known[key] = payload

    # -- pumps (one per stream type) -------------------------------------------------
    async def _pump_balances(self, alerts: Any, sink: AdapterSink) -> None:
        async for b in alerts.listen(AccountBalance):
            payload = events.balance_payload(b)
            self._known[("balance", b.account_number)] = _stable(payload)
            await sink.account_event("balance", self.link_id, b.account_number, payload)

    async def _pump_positions(self, alerts: Any, sink: AdapterSink) -> None:
        async for p in alerts.listen(CurrentPosition):
            self._known.pop(("positions", p.account_number), None)  # reconcile re-sends all
            payload = events.position_payload(p)
            await sink.account_event("position", self.link_id, p.account_number, payload)

    async def _pump_orders(self, alerts: Any, sink: AdapterSink) -> None:
        async for o in alerts.listen(PlacedOrder):
            payload = events.order_payload(o)
            self._known[("order", str(o.id))] = payload
            await sink.account_event("order", self.link_id, o.account_number, payload)

    async def _pump_quotes(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        async for q in dx.listen(Quote):
            self.last_data = time.monotonic()
            sink.quote(q.event_symbol, events.quote_fields(q))

    async def _pump_trades(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        async for t in dx.listen(Trade):
            self.last_data = time.monotonic()
            sink.quote(t.event_symbol, events.trade_fields(t))

    async def _pump_summaries(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        async for s in dx.listen(Summary):
            self.last_data = time.monotonic()
            sink.quote(s.event_symbol, events.summary_fields(s))

    async def _pump_greeks(self, dx: DXLinkStreamer, sink: AdapterSink) -> None:
        async for g in dx.listen(Greeks):
            self.last_data = time.monotonic()
            sink.greeks(g.event_symbol, events.greeks_fields(g))

    # -- housekeeping ------------------------------------------------------------------
    async def _apply_symbols(self, dx: DXLinkStreamer) -> None:
        """Diff wanted vs subscribed; equities get Quote/Trade/Summary, options Quote/Greeks."""
        wanted = set(self._symbols)
        self._symbols_changed.clear()
        added = sorted(wanted - self._subscribed)
        removed = sorted(self._subscribed - wanted)
        for chunk in _chunks([s for s in added if not is_option(s)], 500):
            for cls in (Quote, Trade, Summary):
                await dx.subscribe(cls, chunk)
        for chunk in _chunks([s for s in added if is_option(s)], 500):
            for cls in (Quote, Greeks):
                await dx.subscribe(cls, chunk)
        for chunk in _chunks(removed, 500):
            equities = [s for s in chunk if not is_option(s)]
            options = [s for s in chunk if is_option(s)]
            for cls in (Quote, Trade, Summary):
                if equities:
                    await dx.unsubscribe(cls, equities)
            for cls in (Quote, Greeks):
                if options:
                    await dx.unsubscribe(cls, options)
        if added and not self._subscribed:
            self.last_data = time.monotonic()  # the watchdog counts from the first subscription
        self._subscribed = wanted

    async def _symbol_updates(self, dx: DXLinkStreamer) -> None:
        while True:
            await self._symbols_changed.wait()
            await self._apply_symbols(dx)

    async def _token_refresher(self, session: Session, sink: AdapterSink) -> None:
        """Refresh before expiry, so REST calls and reconnects never wait on a dead token."""
        while True:
            expires = session.session_expiration
            lifetime = max(1.0, expires - time.time())
            margin = min(self.config.refresh_margin, lifetime * 0.2)
            await asyncio.sleep(max(0.5, expires - margin - time.time()))
            try:
                await session.refresh(force=True)
            except TastytradeError as exc:
                if any(code in str(exc) for code in REJECTION_CODES):
                    raise CredentialRejected(str(exc).strip()) from exc
                log.warning("tastytrade link %s: token refresh failed: %s", self.link_id, exc)
                await asyncio.sleep(min(10.0, lifetime / 10))
                continue
            self.token_expires_at = session.session_expiration
            await sink.status(self.link_id, "live", **self._status_extra())

    async def _watchdog(self) -> None:
        """A DXLink that sends nothing while subscribed is dead: end the connection."""
        timeout = self.config.watchdog_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            idle = time.monotonic() - self.last_data
            if self._subscribed and idle > timeout:
                raise StreamSilent(f"no market data for {idle:.0f} s (watchdog)")

    async def _reconcile(
        self, session: Session, accounts: list[Account], sink: AdapterSink
    ) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval)
            await self._snapshot(session, accounts, sink, full=False)


def _stable(balance: dict[str, Any]) -> dict[str, Any]:
    """A balance without its timestamp, to tell a real change from a re-read."""
    return {k: v for k, v in balance.items() if k != "updated_at"}


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
