"""The tastytrade adapter: one link's OAuth session, and the parts it holds.

An adapter is its supervised lifecycle (supervised.py: a loop per data kind, each with
its own backoff and status, the lease gate, the watchdog's clock): that is what it is,
so `SupervisedAdapter` is its one base. What it does is in parts it HOLDS, the same shape
at every broker (docs/streaming.md, "Inside streaming/brokers/"):

- `connection` (connection.py): the session and the DXLink the loops hold open;
- the streams: `quotes` (quotes.py: DXLink) and `account` (account.py: the account
  streamer, the REST snapshot and reconciliation), each one kind's loop;
- `reads` (reads.py: candle history, net-liq history, market metrics) and `chains`
  (chains.py), asked on that session and DXLink;
- `orders` (orders.py): order entry. `SupportsOrders` and the read capabilities are
  forwarded to their part explicitly below.

The adapter's own loop is the **session** shared by both kinds: refresh the OAuth token
(a rejected credential is `error` for the whole link), keep refreshing it before expiry,
and run the two kind loops over it. The kind loops fail and reconnect independently,
each with its own backoff: a refused account streamer or a 429 on /accounts never
restarts DXLink, and the reverse. Every upstream connect, token refresh and REST batch
first asks the sink's lease gate. See docs/streaming-contract.md for events and states.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from tastytrade import Session

from streaming.brokers.base import AdapterSink, StreamConfig
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import CredentialRejected, describe
from streaming.brokers.market_data_cache import MarketDataCache
from streaming.brokers.orders.entry import LinkedOrder, OrderRequest, PlaceResult, PreviewResult
from streaming.brokers.rate_limit import BrokerPacing
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade.account import AccountStream
from streaming.brokers.tastytrade.chains import TastytradeChains
from streaming.brokers.tastytrade.client import base_url, make_session, refresh_token
from streaming.brokers.tastytrade.connection import Connection
from streaming.brokers.tastytrade.orders import TastytradeOrders
from streaming.brokers.tastytrade.quotes import DXLinkQuotes
from streaming.brokers.tastytrade.reads import TastytradeReads

log = logging.getLogger(__name__)

__all__ = ["StreamConfig", "TastytradeAdapter"]

#: A kind loop reconnecting after a failure takes a new access token, unless one was
#: taken this recently (the other loop just did).
REFRESH_DEDUPE = 2.0


class TastytradeAdapter(SupervisedAdapter):
    """Streams one tastytrade link into a sink, forever, healing on every failure."""

    broker = "tastytrade"
    #: Always set: the quotes kind reports whether the data is delayed.
    delay: DelayMonitor

    def __init__(
        self,
        *,
        link_id: int,
        provider_secret: str,
        refresh_token: str,
        account_numbers: Iterable[str] = (),
        config: StreamConfig | None = None,
        pacing: BrokerPacing | None = None,
        market_data: MarketDataCache | None = None,
    ) -> None:
        super().__init__(link_id, config, account_numbers)
        self._secret = provider_secret
        self._refresh = refresh_token
        self._refreshed_at = -math.inf  # monotonic
        self.delay = DelayMonitor()
        self.connection = Connection(link_id)
        self.quotes = DXLinkQuotes(self, self.connection, self.delay, self._ready_session)
        self.account = AccountStream(self, self.connection, self._ready_session)
        self.reads = TastytradeReads(self.connection, self._wants, self.quotes)
        self.orders = TastytradeOrders(self.connection, self._wants)
        #: Option chains through this session, the cluster-wide cache and pacing.
        self.chains = TastytradeChains(
            lambda: self.connection.session,
            refresh_token,
            urlsplit(base_url() or "https://api.tastyworks.com").netloc,
            self.config.chain_cache_ttl,
            # the process's pacing windows and market data cache (its node's, handed in by
            # wiring); a link built alone (a test, the bench) has its own
            pacing=pacing if pacing is not None else BrokerPacing(),
            cache=market_data if market_data is not None else MarketDataCache(),
        )

    # -- control --------------------------------------------------------------------
    def set_symbols(self, symbols: set[str]) -> None:
        self.quotes.set_symbols(symbols)

    @property
    def account_every(self) -> float:
        return self.config.account_heartbeat_interval

    # -- the session (shared by both kinds) --------------------------------------------
    def _loops(self) -> dict[str, Any]:
        return {"all": self._session_once}

    async def _session_once(self, sink: AdapterSink) -> None:
        """Log in, then run the token refresher and the two kind loops over the session.
        Only a failed login or a rejected credential ends this (and both kinds)."""
        await self._report_change(sink, "all", "connecting")
        async with make_session(self._secret, self._refresh, timeout=15) as session:
            await self._refresh_token(session, sink)
            self.connection.session = session
            self._mark_up("all")
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self._token_refresher(session, sink))
                    tg.create_task(
                        self._run_loops(
                            sink,
                            {"quotes": self.quotes.once, "account": self.account.once},
                            propagate_rejection=True,
                        )
                    )
            finally:
                self.connection.session = None

    async def _refresh_token(self, session: Session, sink: AdapterSink) -> None:
        """A new access token now, behind the lease gate."""
        await self._gate(sink)
        await refresh_token(session)
        self._refreshed_at = time.monotonic()
        self.token_expires_at = session.session_expiration

    async def _ready_session(self, sink: AdapterSink, retry: bool) -> Session:
        """The shared session for a kind loop's connect; a reconnect after a failure takes
        a new token first (the failure may have been the token), unless one was just taken."""
        session = self.connection.session
        if session is None:
            raise RuntimeError("no session")  # pragma: no cover - the kind loops run inside it
        if retry and time.monotonic() - self._refreshed_at > REFRESH_DEDUPE:
            await self._refresh_token(session, sink)
        return session

    async def _token_refresher(self, session: Session, sink: AdapterSink) -> None:
        """Refresh before expiry, so REST calls and reconnects never wait on a dead token."""
        while True:
            expires = session.session_expiration
            lifetime = max(1.0, expires - time.time())
            margin = min(self.config.refresh_margin, lifetime * 0.2)
            await asyncio.sleep(max(0.5, expires - margin - time.time()))
            try:
                await self._refresh_token(session, sink)
            except CredentialRejected:
                raise  # the whole link: `error` (the session's supervisor reports it)
            except Exception as exc:  # a blip: the current token is still good for a while
                self._raise_if_stopping(exc)
                log.warning(
                    "tastytrade link %s: token refresh failed: %s", self.link_id, describe(exc)
                )
                await asyncio.sleep(min(10.0, lifetime / 10))
                continue
            await self._announce_token(sink)

    async def _announce_token(self, sink: AdapterSink) -> None:
        """Tell the new token expiry with a status of a kind that is verifiably live now
        (re-saying "live" of a kind whose data stopped would hide that it is stale)."""
        heartbeat_window = self.config.account_heartbeat_interval * 1.5
        if (
            self.kind_state("account") == "live"
            and time.monotonic() - self.account.last_account_message < heartbeat_window
        ):
            await self._report(sink, "account", "live")
        elif self.kind_state("quotes") == "live" and (
            not self.quotes.subscribed or time.monotonic() - self.last_data < 2.0
        ):
            await self._report(sink, "quotes", "live")

    # -- the reads (SupportsCandles, SupportsBalanceHistory, SupportsMarketMetrics) -------
    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        return await self.reads.candles(symbol, tf, from_ms, within=within)

    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        return await self.reads.balance_history(account, day)

    async def market_metrics(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        return await self.reads.market_metrics(symbols)

    # -- order entry (SupportsOrders) ----------------------------------------------------
    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        return await self.orders.preview_order(order)

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        return await self.orders.place_order(order)

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        return await self.orders.find_order(account, client_order_id)

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        return await self.orders.replace_order(order_id, order)

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        return await self.orders.preview_linked(group)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        return await self.orders.place_linked(group)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        return await self.orders.cancel_order(account, order_id)

    async def working_orders(self, account: str) -> list[str]:
        return await self.orders.working_orders(account)
