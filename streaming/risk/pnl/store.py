"""P&L samples in the database: the sampler's writes and the API's reads.

Synchronous Django ORM code behind `PnlStore` (the sampler, through
`database_sync_to_async`) and `samples_of_day` (the API). A write is one
`bulk_create(ignore_conflicts=True)`: the unique (user, account, at) makes a second write
of the same grid time (a restart, a new owner after a failover) a no-op, so the first
sample of a bucket stands (docs/streaming-contract.md "P&L over the day"). Every sampler
of a process wakes at the same grid time: their rows are gathered and written in one such
statement (`SampleWrites`), one write per process and grid time, not one per user.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from channels.db import database_sync_to_async

from streaming.instruments.symbols import NEW_YORK
from streaming.models import PnlSample
from streaming.risk.pnl.session import in_trading_session
from streaming.risk.pnl.stats import CurvePoint
from streaming.runtime.waiters import settle

#: A sample row as the sampler makes it: (account, net liq, day P&L); account "" = total.
Row = tuple[str, float | None, float | None]


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.4f}")


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


#: How long a process gathers its samplers' rows before writing them (they wake at the
#: same grid time; a sample may reach the database late, never at another grid time).
WRITE_GATHER = 0.05

#: A user's rows of one grid time: (user id, grid time ms, rows).
Entry = tuple[int, int, list[Row]]


def write_samples(user_id: int, at_ms: int, rows: list[Row]) -> None:
    """One grid time's rows; those already there (same user, account, at) are kept."""
    write_entries([(user_id, at_ms, rows)])


def write_entries(entries: list[Entry]) -> None:
    """Several users' rows in one statement; those already there are kept."""
    PnlSample.objects.bulk_create(
        [
            PnlSample(
                user_id=user_id,
                account=account,
                at=utc(at_ms),
                net_liq=_decimal(net_liq),
                day_pnl=_decimal(day_pnl),
            )
            for user_id, at_ms, rows in entries
            for account, net_liq, day_pnl in rows
        ],
        ignore_conflicts=True,
    )


class SampleWrites:
    """A process's sample writes (its node's: streaming/node.py), gathered for
    `WRITE_GATHER` and sent in one statement: at a grid time every user's sampler writes
    at once, and one database write (in the process's one database thread, which would
    hold the interpreter lock against the loop for each) replaces one per user."""

    def __init__(self) -> None:
        self._pending: list[tuple[Entry, asyncio.Future[None]]] = []
        #: The write in flight (referenced until it ends: a pending task must not be
        #: collected).
        self._running: set[asyncio.Task[None]] = set()

    def write(self, entry: Entry) -> asyncio.Future[None]:
        """Queue a user's rows; the future is done once they are written (or failed)."""
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        if not self._pending:
            loop.call_later(WRITE_GATHER, self._start)
        self._pending.append((entry, written))
        return written

    def _start(self) -> None:
        # a sampler that gave up (cancelled) is not waited for; its rows are not written
        pending = [(entry, written) for entry, written in self._pending if not written.done()]
        self._pending = []
        if pending:
            task = asyncio.get_running_loop().create_task(self._write(pending))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _write(self, pending: list[tuple[Entry, asyncio.Future[None]]]) -> None:
        failure: Exception | None = None
        try:
            await database_sync_to_async(write_entries)([entry for entry, _ in pending])
        except asyncio.CancelledError as exc:  # the loop is shutting down
            settle((written for _, written in pending), exc)
            raise
        except Exception as exc:
            if len(pending) > 1:
                # one user's rows (a user deleted meanwhile) must not cost the others theirs
                for one in pending:
                    await self._write([one])
                return
            failure = exc
        settle((written for _, written in pending), failure)


def samples_of_day(user_id: int, day: dt.date) -> dict[str, list[CurvePoint]]:
    """The samples of `day`, a New York trading day (00:00 to 24:00 New York, a 23 or 25
    hour day when the clocks change), by account ("" = total), each `{t, net_liq,
    day_pnl}` in time order."""
    start = dt.datetime.combine(day, dt.time(), NEW_YORK)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), NEW_YORK)
    found: dict[str, list[CurvePoint]] = {}
    rows = PnlSample.objects.filter(user_id=user_id, at__gte=start, at__lt=end).order_by(
        "account", "at"
    )
    for sample in rows.values("account", "at", "net_liq", "day_pnl"):
        found.setdefault(sample["account"], []).append(
            {
                "t": int(sample["at"].timestamp() * 1000),
                "net_liq": _float(sample["net_liq"]),
                "day_pnl": _float(sample["day_pnl"]),
            }
        )
    return found


def all_day_on(user_id: int) -> bool:
    """Whether the user turned "P&L all day" on (their notification settings)."""
    from accounts.notification_settings import notification_settings_get

    return notification_settings_get(user_id=user_id)["pnl_all_day"]


def pnl_watched_users(now_s: float) -> set[int]:
    """The users sampled with no page open now: "P&L all day" on, in the session."""
    if not in_trading_session(now_s):
        return set()
    from accounts.models import NotificationSettings

    rows = NotificationSettings.objects.filter(pnl_all_day=True)
    return set(rows.values_list("user_id", flat=True))


class PnlStore:
    """One user's samples, for the stream's sampler (async: the ORM off the loop); its
    writes gathered with the other users' in the process's `writes`."""

    def __init__(self, user_id: int, writes: SampleWrites) -> None:
        self.user_id = user_id
        self.writes = writes

    async def write(self, at_ms: int, rows: list[Row]) -> None:
        """The rows, written with every other user's of this process gathered meanwhile."""
        await self.writes.write((self.user_id, at_ms, rows))

    async def all_day(self) -> bool:
        return await database_sync_to_async(all_day_on)(self.user_id)
