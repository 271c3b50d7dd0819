"""The simulation loop: ticks the market, steps orders, pushes balances, publishes events.

One `Simulation` is the whole simulated world; each broker façade is handed it and renders
what it holds in that broker's wire format. Nothing here imports a façade.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from sandbox.core import demo_seed
from sandbox.core.brokerage import Brokerage
from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import Credentials
from sandbox.core.faults import Faults
from sandbox.core.hub import Hub
from sandbox.core.market.walk import Market
from sandbox.core.news import Newsroom
from sandbox.core.records import AccountEvent
from sandbox.core.symbols import classify
from sandbox.core.trading_calendar import market_date

log = logging.getLogger(__name__)


class Simulation:
    """The simulated world every façade renders: market, brokerage, credentials, faults,
    live sockets, and the loops that move them. Knows no broker protocol."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        # this run's own copy: what is derived here (the order id base) must not leak into
        # the caller's object, which a restart may hand in again
        self.config = dataclasses.replace(config) if config is not None else SandboxConfig()
        self.started_at = time.time()
        if self.config.order_id_base <= 0:  # from the start time: never an id of a past run
            self.config.order_id_base = int(self.started_at * 1_000_000)
        #: How far the sandbox's clock is from the real one (`config.start_time`).
        self._clock_offset = (
            self.config.start_time - self.started_at if self.config.start_time > 0 else 0.0
        )
        self.market = Market(seed=self.config.seed, clock=self.now)
        self.brokerage = Brokerage(
            self.market,
            seed=self.config.seed,
            clock=self.now,
            first_order_id=self.config.order_id_base,
        )
        self.credentials = Credentials()
        self.faults = Faults()
        self.hub = Hub()
        #: Articles about the simulated symbols (news façades render them).
        self.news = Newsroom(self.now, seed=self.config.seed)
        self.counters: Counter[str] = Counter()
        self.public_url: str | None = None
        self._underlyings = (0, 0)  # (symbols seen, underlyings among them)
        #: Called with every account event the simulation publishes (broker façades
        #: such as the Alpaca one turn them into their own wire events).
        self.account_listeners: list[Callable[[AccountEvent], None]] = []
        #: Each façade's per-credential report for `state()` (its customers and streams).
        self.credential_reporters: list[Callable[[], dict[str, dict[str, Any]]]] = []

    def open_customer(self, customer_id: str, offered: demo_seed.Holdings) -> list[str]:
        """A façade's customer (opened once): with `demo_holdings`, its margin account also
        holds what its broker `offered` (a bracket, stops, crypto)."""
        holdings = offered if self.config.demo_holdings else demo_seed.PLAIN
        return self.brokerage.open_customer(customer_id, holdings)

    # -- the clock ---------------------------------------------------------------
    def now(self) -> float:
        """The sandbox's time (epoch seconds): the real time, or from `config.start_time`
        on. The market, the brokerage and the façades' dates read it."""
        return time.time() + self._clock_offset

    def market_date(self) -> dt.date:
        """The market's current date (`trading_calendar.market_date`): every façade's
        "today" for expirations, days to expiration and reference data."""
        return market_date(self.now())

    # -- simulation -------------------------------------------------------------
    def underlying_count(self) -> int:
        symbols = self.market.symbols
        if self._underlyings[0] != len(symbols):
            count = sum(1 for s in symbols if classify(s) in ("equity", "future", "crypto"))
            self._underlyings = (len(symbols), count)
        return self._underlyings[1]

    def tick(self, n: int) -> set[str]:
        """Advance the market n ticks and route the news to subscribed feed channels."""
        changed = self.market.tick(n)
        self.counters["ticks"] += n
        self.hub.on_changed(changed)
        return changed

    def set_price(self, symbol: str, price: float) -> set[str]:
        """Jump an underlying to `price` (the control API's `/_sandbox/price`)."""
        changed = self.market.set_price(symbol, price)
        self.hub.on_changed(changed)
        return changed

    def publish(self, events: Iterable[AccountEvent]) -> None:
        """Push account events, in order, to every streamer subscribed to their account."""
        for event in events:
            self.counters["account_events"] += 1
            self.hub.push_account_event(event)
            for listener in self.account_listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("sandbox account listener failed")

    def push_balances(self) -> int:
        accounts = self.hub.watched_accounts()
        self.publish(
            AccountEvent("AccountBalance", number, self.brokerage.balance(number))
            for number in accounts
        )
        return len(accounts)

    async def _every(self, interval_name: str, action: Any) -> None:
        """Run `action` every `config.<interval_name>` seconds (0 pauses it, also a wait
        already under way: a caller that paused it steps alone from then on); log, never die."""
        while True:
            interval = getattr(self.config, interval_name)
            await asyncio.sleep(interval if interval > 0 else 1.0)
            if interval > 0 and getattr(self.config, interval_name) > 0:
                try:
                    action()
                except Exception:
                    log.exception("sandbox %s failed", interval_name)

    async def _ticker(self) -> None:
        """Tick every active underlying `tick_rate` times a second, spread evenly."""
        carry = 0.0
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.config.tick_interval)
            now = time.monotonic()
            carry += self.config.tick_rate * self.underlying_count() * (now - last)
            last = now
            n = int(carry)
            if n:
                carry -= n
                try:
                    self.tick(n)
                except Exception:
                    log.exception("sandbox ticker failed")

    def _step_orders(self) -> None:
        self.publish(self.brokerage.step())

    def _demo_news(self) -> None:
        self.news.generate(self.market.symbols)

    def _demo_orders(self) -> None:
        for number in self.hub.watched_accounts():
            self.publish(self.brokerage.demo_order(number))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        if self.config.news_backfill > 0 and not self.news.articles:
            self.news.backfill(self.market.symbols, self.config.news_backfill, 600.0)
        tasks = [
            asyncio.create_task(self._every("news_interval", self._demo_news)),
            asyncio.create_task(self._ticker()),
            asyncio.create_task(self._every("order_step_interval", self._step_orders)),
            asyncio.create_task(self._every("balance_push_interval", self.push_balances)),
            asyncio.create_task(self._every("demo_order_interval", self._demo_orders)),
        ]
        try:
            yield
        finally:
            self.faults.end_blackouts()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(
                *(s.close(1001, "sandbox shutting down") for s in list(self.hub.sessions.values())),
                return_exceptions=True,
            )

    # -- reporting ---------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        per_credential: dict[str, dict[str, Any]] = {}
        for cred_id, cred in self.credentials.known().items():
            per_credential[cred_id] = {
                "revoked": cred.revoked,
                "refreshes": cred.refreshes,
                "active_access_tokens": self.credentials.active_token_count(cred_id),
                "accounts": [a.number for a in self.brokerage.accounts(cred_id)],
                "dxlink": [],
                "streamer": [],
            }
        for report in self.credential_reporters:
            per_credential.update(report())
        unauthenticated: list[dict[str, Any]] = []
        for session in self.hub.sessions.values():
            entry = per_credential.get(session.credential or "")
            if entry is None:
                unauthenticated.append(session.state())
            else:
                entry.setdefault(session.kind, []).append(session.state())
        return {
            "config": self.config.as_dict(),
            "faults": self.faults.as_dict(),
            "credentials": per_credential,
            "unauthenticated_sessions": unauthenticated,
            "totals": {
                "dxlink_sessions": len(self.hub.find("dxlink")),
                "streamer_sessions": len(self.hub.find("streamer")),
                "tradier_streams": len(self.hub.find("tradier-stream")),
                "alpaca_streams": len(self.hub.find("alpaca-sse")),
                "closed_sessions": self.hub.closed_sessions,
                "messages_sent": sum(s.messages_sent for s in self.hub.sessions.values()),
                "symbols": len(self.market.symbols),
                **self.counters,
            },
            "uptime": time.time() - self.started_at,
        }
