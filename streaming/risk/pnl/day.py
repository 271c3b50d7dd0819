"""One day's P&L curves, per account and in total, as `GET /api/pnl` and the page have
them: today from the samples, an earlier day from the samples or else the brokers' own
history (docs/streaming-contract.md "P&L over the day")."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from channels.db import database_sync_to_async
from django.conf import settings

from streaming.risk.pnl.owner import UNSUPPORTED, HistoryUnavailable, ask_balance_history
from streaming.risk.pnl.stats import (
    CurvePoint,
    CurveStats,
    NetLiqPoint,
    as_day_change,
    curve_stats,
)
from streaming.risk.pnl.store import samples_of_day

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents

#: How long an earlier day's broker history may take (a person waits for the page).
HISTORY_WITHIN = 15.0
TOTAL_LABEL = "Total"


class Series(CurveStats):
    """One account's curve (`account` "" for the total) and its stats."""

    account: str
    broker: str
    label: str
    points: list[CurvePoint]


class PnlDay(TypedDict):
    """`GET /api/pnl?day=` (static/js/risk/pnl/ reads it): the total's series first, then
    each account's; `source` "samples", "broker" or "none" (then `reason` says why)."""

    day: str
    #: seconds between samples
    interval: float
    source: str
    reason: str
    series: list[Series]
    as_of: int


class DayError(ValueError):
    """A `day` that is not a date, or is in the future: a sentence for the 400."""


def parse_day(text: str | None, today: dt.date) -> dt.date:
    """`YYYY-MM-DD`, a New York trading day; today's when absent."""
    if not text:
        return today
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise DayError(f"day must be a date as YYYY-MM-DD, not {text[:40]!r}.") from None
    if day > today:
        raise DayError(f"{day} is in the future: there is no P&L for it yet (today is {today}).")
    return day


@dataclass(frozen=True)
class AccountInfo:
    number: str
    broker: str
    label: str


def _accounts(user_id: int) -> list[AccountInfo]:
    from accounts.selectors import broker_link_list

    return [
        AccountInfo(str(number), link.broker, link.label)
        for link in broker_link_list(user_id=user_id)
        for number in link.account_numbers or []
    ]


def series(account: str, broker: str, label: str, points: list[CurvePoint]) -> Series:
    return {
        "account": account,
        "broker": broker,
        "label": label,
        "points": points,
        **curve_stats(points),
    }


def held_total(curves: list[list[CurvePoint]]) -> list[CurvePoint]:
    """The accounts' net liq summed at each time any of them has a point, each holding its
    last value between points; only where every account has one by then."""
    times = sorted({p["t"] for points in curves for p in points})
    last: list[float | None] = [None] * len(curves)
    index = [0] * len(curves)
    total: list[NetLiqPoint] = []
    for t in times:
        for i, points in enumerate(curves):
            while index[i] < len(points) and points[index[i]]["t"] <= t:
                last[i] = points[index[i]]["net_liq"]
                index[i] += 1
        known = [v for v in last if v is not None]
        if len(known) == len(curves):
            total.append({"t": t, "net_liq": sum(known)})
    return as_day_change(total)


async def _broker_day(
    agents: Agents, user_id: int, accounts: list[AccountInfo], day: dt.date
) -> tuple[list[Series], list[str]]:
    """Each account's history from its broker, and sentences for those without one."""

    async def one(info: AccountInfo) -> list[tuple[int, float]] | str:
        try:
            return await ask_balance_history(
                agents, user_id, info.number, day, within=HISTORY_WITHIN
            )
        except HistoryUnavailable as exc:
            if str(exc) == UNSUPPORTED:
                return f"no balance history at {info.broker.capitalize()} ({info.number})"
            return f"{info.number}: {exc}"

    answers = await asyncio.gather(*(one(info) for info in accounts))
    found: list[Series] = []
    missing: list[str] = []
    for info, answer in zip(accounts, answers, strict=True):
        if isinstance(answer, str):
            missing.append(answer)
        elif answer:
            points = as_day_change([{"t": t, "net_liq": v} for t, v in answer])
            found.append(series(info.number, info.broker, info.label, points))
        else:
            missing.append(f"{info.number}: the broker has no points for {day}")
    return found, missing


async def pnl_day(agents: Agents, user_id: int, day: dt.date, today: dt.date) -> PnlDay:
    """The answer of `GET /api/pnl?day=`."""
    accounts = await database_sync_to_async(_accounts)(user_id)
    known = {a.number: a for a in accounts}
    sampled = await database_sync_to_async(samples_of_day)(user_id, day)
    answer: PnlDay = {
        "day": day.isoformat(),
        "interval": settings.PNL_SAMPLE_INTERVAL,
        "source": "samples",
        "reason": "",
        "series": [],
        "as_of": int(dt.datetime.now(dt.UTC).timestamp() * 1000),
    }
    if sampled:
        total = sampled.pop("", [])
        answer["series"] = [series("", "", TOTAL_LABEL, total)] + [
            series(
                number,
                known[number].broker if number in known else "",
                known[number].label if number in known else number,
                points,
            )
            for number, points in sampled.items()
        ]
        return answer
    if day == today:
        answer |= {
            "source": "none",
            "reason": "No samples yet today: the first is taken as soon as your accounts "
            "stream, then one every "
            f"{settings.PNL_SAMPLE_INTERVAL:g} s while a page is open.",
        }
        return answer
    found, missing = await _broker_day(agents, user_id, accounts, day)
    if not found:
        answer |= {
            "source": "none",
            "reason": f"No samples and no broker history for {day}: " + "; ".join(missing) + "."
            if missing
            else f"No samples and no linked accounts for {day}.",
        }
        return answer
    total = held_total([s["points"] for s in found])
    answer["source"] = "broker"
    answer["reason"] = (
        "From the brokers' own history (net liq; day P&L is its change since the day's "
        "first point)" + (": " + "; ".join(missing) if missing else "") + "."
    )
    answer["series"] = [series("", "", TOTAL_LABEL, total), *found]
    return answer
