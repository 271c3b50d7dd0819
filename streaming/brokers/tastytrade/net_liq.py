"""One day of a tastytrade account's net liq from the broker's own history.

`GET /accounts/{n}/net-liq/history?start-time=` through the unmodified SDK
(`Account.get_net_liquidating_value_history`): OHLC bars, each read as its `close` at its
`time`; only the bars inside the asked (UTC) day are kept. The adapter calls this with
the session it already holds (TastytradeAdapter.balance_history).
"""

from __future__ import annotations

import datetime as dt

from tastytrade import Account, Session


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The (UTC) day as [start, end)."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return start, start + dt.timedelta(days=1)


def bar_time(text: str) -> dt.datetime:
    """A bar's `time` (ISO-8601, `Z` or an offset; a naive one is read as UTC)."""
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


async def net_liq_history(session: Session, account: str, day: dt.date) -> list[tuple[int, float]]:
    """(ms, net liq) of the account's bars in `day`, ascending."""
    start, end = day_bounds(day)
    acct = await Account.get(session, account)
    bars = await acct.get_net_liquidating_value_history(session, start_time=start)
    points = []
    for bar in bars:
        when = bar_time(bar.time)
        if start <= when < end:
            points.append((int(when.timestamp() * 1000), float(bar.close)))
    return sorted(points)
