"""P&L samples in the database: the sampler's writes and the API's reads.

Synchronous Django ORM code behind `PnlStore` (the sampler, through
`database_sync_to_async`) and `samples_of_day` (the API). A write is one
`bulk_create(ignore_conflicts=True)`: the unique (user, account, at) makes a second write
of the same grid time (a restart, a new owner after a failover) a no-op, so the first
sample of a bucket stands (docs/streaming-contract.md "P&L over the day").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from channels.db import database_sync_to_async

from streaming.models import PnlSample
from streaming.risk.pnl_session import in_trading_session

#: A sample row as the sampler makes it: (account, net liq, day P&L); account "" = total.
Row = tuple[str, float | None, float | None]


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.4f}")


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def write_samples(user_id: int, at_ms: int, rows: list[Row]) -> None:
    """One grid time's rows; those already there (same user, account, at) are kept."""
    at = utc(at_ms)
    PnlSample.objects.bulk_create(
        [
            PnlSample(
                user_id=user_id,
                account=account,
                at=at,
                net_liq=_decimal(net_liq),
                day_pnl=_decimal(day_pnl),
            )
            for account, net_liq, day_pnl in rows
        ],
        ignore_conflicts=True,
    )


def samples_of_day(user_id: int, day: dt.date) -> dict[str, list[dict[str, Any]]]:
    """The day's (UTC) samples by account ("" = total), each `{t, net_liq, day_pnl}` in
    time order."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    found: dict[str, list[dict[str, Any]]] = {}
    rows = PnlSample.objects.filter(
        user_id=user_id, at__gte=start, at__lt=start + dt.timedelta(days=1)
    ).order_by("account", "at")
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
    """One user's samples, for the stream's sampler (async: the ORM off the loop)."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    async def write(self, at_ms: int, rows: list[Row]) -> None:
        await database_sync_to_async(write_samples)(self.user_id, at_ms, rows)

    async def all_day(self) -> bool:
        return await database_sync_to_async(all_day_on)(self.user_id)
