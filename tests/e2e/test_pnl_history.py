"""An earlier day on `GET /api/pnl` at a real daphne: no samples, so the owner of the
user's stream asks each broker (`pnl.history` over owner RPC) and the answer is the
brokers' own history — tastytrade's net-liq bars as the SDK reads them, Alpaca's
portfolio history, and a sentence for Tradier, which keeps none
(docs/streaming-contract.md "P&L over the day")."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from tastytrade import Account

from sandbox.core.trading_calendar import previous_trading_day
from tests.support.live import read_json as read
from tests.support.sdk import sdk_session


async def sdk_day(live_sandbox, account: str, day: dt.date) -> list[dict[str, Any]]:
    """The day's tastytrade bars read by the SDK itself (`time-back=1m`), filtered here."""
    session = sdk_session(live_sandbox, "demo-refresh-token")
    bars = await (await Account.get(session, account)).get_net_liquidating_value_history(
        session, time_back="1m"
    )
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    points = []
    for bar in bars:
        when = dt.datetime.fromisoformat(bar.time)
        when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        if start <= when < start + dt.timedelta(days=1):
            points.append({"t": int(when.timestamp() * 1000), "net_liq": float(bar.close)})
    return sorted(points, key=lambda p: p["t"])


async def test_an_earlier_day_comes_from_the_brokers_through_the_owner(live_sandbox, demo):
    snapshot = read(demo, "/api/snapshot")
    by_broker: dict[str, list[str]] = {}
    for account in snapshot["accounts"]:
        by_broker.setdefault(account["broker"], []).append(account["number"])
    # a trading day (the sandbox's calendar, holidays included): Alpaca keeps points on
    # those only (a clean clone run just after midnight asked for Thanksgiving)
    day = previous_trading_day(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    body = read(demo, "/api/pnl", day=str(day))
    assert (body["day"], body["source"]) == (str(day), "broker"), body
    for number in by_broker["tradier"]:
        assert f"no balance history at Tradier ({number})" in body["reason"]
    series = {s["account"]: s for s in body["series"]}
    assert series[""]["label"] == "Total"
    assert not set(by_broker["tradier"]) & set(series)
    # every tastytrade and Alpaca account answered (the reason says why one did not)
    assert set(by_broker["tastytrade"] + by_broker["alpaca"]) <= set(series), body["reason"]
    for number in by_broker["tastytrade"]:
        expected = await sdk_day(live_sandbox, number, day)
        assert [(p["t"], p["net_liq"]) for p in series[number]["points"]] == [
            (p["t"], p["net_liq"]) for p in expected
        ], number
        assert expected, "the sandbox seeds a daily net-liq bar for every past day"
    for number in by_broker["alpaca"]:
        points = series[number]["points"]
        assert len(points) > 1 and all(
            b["t"] - a["t"] == 300_000 for a, b in itertools.pairwise(points)
        )
