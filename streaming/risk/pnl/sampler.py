"""Samples the user's net liq and day P&L, per account and in total, on a fixed grid.

A `StreamListener` (streaming/stream/listener.py) run by the user's stream manager: every
`interval` seconds, at the grid times `floor(now / interval) * interval`, the process that
owns the stream (`authorized()`) reads the manager's state — each account's balance and
the day P&L of its positions from live marks, by the dashboard totals' rule
(streaming/portfolio/totals.py) — and writes one row per account and one total row
through the store. The grid and the store's unique key are what make a restart or a
failover continue the curve without doubling a sample; a new owner samples the bucket
it starts in at once, so the only gap is the time nobody owned the stream. A value whose
inputs are missing is null, never 0 (docs/streaming-contract.md "P&L over the day").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from streaming.portfolio.totals import portfolio_totals
from streaming.risk.pnl.session import in_trading_session
from streaming.stream.listener import QuietHooks, StreamHost

if TYPE_CHECKING:
    from streaming.risk.pnl.store import PnlStore, Row, SampleWrites

log = logging.getLogger(__name__)


def grid_time(now_ms: int, interval_ms: int) -> int:
    """The start of the grid bucket `now_ms` falls in."""
    return now_ms - now_ms % interval_ms


def _full(total: Mapping[str, Any]) -> float | None:
    """A total's value only when it counted every input (a partial sum is no value)."""
    return None if total["partial"] else total["value"]


def sample_rows(snapshot: dict[str, Any]) -> list[Row]:
    """(account, net liq, day P&L) of each account of a snapshot-shaped dict, then the
    total ("" ); accounts of a currency streamdesk cannot add up are left out."""
    rows: list[Row] = []
    shared = {"quotes": snapshot.get("quotes") or {}, "greeks": snapshot.get("greeks") or {}}
    for account in snapshot.get("accounts") or []:
        groups = portfolio_totals({**shared, "accounts": [account]})["groups"]
        if groups:
            rows.append(
                (str(account["number"]), _full(groups[0]["net_liq"]), _full(groups[0]["day_pnl"]))
            )
    groups = portfolio_totals(snapshot)["groups"]
    if groups:
        rows.append(("", _full(groups[0]["net_liq"]), _full(groups[0]["day_pnl"])))
    return rows


class PnlSampler(QuietHooks):
    """The P&L sampler as a `StreamListener`: attached to the user's stream manager."""

    def __init__(self, store: PnlStore, interval: float) -> None:
        self.store = store
        self.interval_ms = max(1, round(interval * 1000))
        self._manager: StreamHost | None = None
        #: The last grid time written (or found written) by this process.
        self.last_at: int | None = None
        #: Set after each write (tests wait on it).
        self.wrote = asyncio.Event()
        #: The user's "P&L all day" setting, read again at every grid time.
        self.all_day = False
        #: The wall clock the session is told by (epoch s; a test sets its own).
        self.clock = time.time

    @classmethod
    def for_user(cls, user_id: int, writes: SampleWrites) -> PnlSampler:
        """The user's sampler over the database, every `PNL_SAMPLE_INTERVAL` seconds, its
        writes gathered in the process's `writes`."""
        from django.conf import settings

        from streaming.risk.pnl.store import PnlStore

        return cls(PnlStore(user_id, writes), settings.PNL_SAMPLE_INTERVAL)

    # -- the listener's hooks (no per-tick work: the grid drives it; the rest: QuietHooks) --
    def attach(self, stream: StreamHost) -> None:
        self._manager = stream

    @property
    def manager(self) -> StreamHost:
        if self._manager is None:
            raise RuntimeError("the sampler runs only once attached to a stream manager")
        return self._manager

    def watches_positions(self) -> bool:
        """With "P&L all day" on, the positions' marks stream through the session."""
        return self.all_day and in_trading_session(self.clock())

    # -- the grid ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Sample the current bucket, then each next one at its start, until cancelled."""
        while True:
            try:
                await self._read_setting()
                await self.sample_once(int(time.time() * 1000))
            except Exception as exc:  # a database blip skips a bucket, never the sampler
                log.warning("user %s: P&L sample not written (%s)", self.manager.user_id, exc)
            now_ms = int(time.time() * 1000)
            next_at = grid_time(now_ms, self.interval_ms) + self.interval_ms
            await asyncio.sleep((next_at - now_ms) / 1000)

    async def _read_setting(self) -> None:
        """The setting, and whether the positions stream for it (a session opened or
        closed, the trader turned it on or off): the stream subscribes again. Read only
        while no page shows the stream (one shown samples anyway: no query then)."""
        before = self.watches_positions()
        if not self.manager.viewed:
            self.all_day = await self.store.all_day()
        if self.watches_positions() != before:
            self.manager.symbols_changed()

    async def sample_once(self, now_ms: int) -> bool:
        """Write the bucket of `now_ms` if this process owns the stream, has accounts
        (before the first account data there is nothing to sample) and streams the
        positions' marks (a page, or "P&L all day": a sample of marks nobody streams would
        draw a stale curve); whether it wrote."""
        at = grid_time(now_ms, self.interval_ms)
        if at == self.last_at or not self.manager.state.accounts:
            return False
        if not self.manager.positions_streamed:
            return False
        if not await self.manager.authorized():
            return False
        state = self.manager.state
        rows = sample_rows(state.portfolio())
        streamed = {a.link.id for a in state.accounts.values() if a.balance is not None}
        if set(state.links) - streamed:  # a link's accounts not in yet: no total (not 0)
            rows = [row for row in rows if row[0]] + [("", None, None)]
        await self.store.write(at, rows)
        self.last_at = at
        self.wrote.set()
        return True
