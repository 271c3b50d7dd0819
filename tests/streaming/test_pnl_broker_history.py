"""Earlier days' net liq from the brokers' own history, through the real adapters over
real sockets against the sandbox: tastytrade's net-liq history (the SDK on the link's
running session) and Alpaca's portfolio history (Broker and Trading API). Each answer is
checked against the broker's raw endpoint read independently, and today's last point
against the balance the adapter streamed."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import httpx
import pytest

from streaming.brokers import catalog
from streaming.brokers.base import MemoryCheckpoint, StreamConfig, SupportsBalanceHistory
from tests.streaming.test_broker_order_history import BROKERS as ORDER_HISTORY_BROKERS
from tests.streaming.test_broker_order_history import alpaca_paper_at_sandbox  # noqa: F401 (a fixture)
from tests.support.brokers import TRADIER_FAST
from tests.support.recording import RecordingSink, running

WITHIN = 20.0

#: The links with a balance history, as the order-history test makes them.
BROKERS = {name: ORDER_HISTORY_BROKERS[name] for name in ("tastytrade", "alpaca", "alpaca-paper")}


def adapter_for(name: str):
    api, secrets_of, fast = BROKERS[name]
    return catalog.make_adapter(
        link_id=7,
        broker=name.split("-")[0],
        credentials=secrets_of(uuid.uuid4().hex[:10]),
        account_numbers=[],
        config=StreamConfig(**fast),
        checkpoint=MemoryCheckpoint(),
        alpaca_api=api,
    )


async def independent_read(name: str, adapter, account: str, day: dt.date, url: str):
    """The same day read another way: tastytrade's history by `time-back=1m` through the
    SDK, Alpaca's over a week at 5 minutes with plain httpx; filtered to `day` here."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    end = start + dt.timedelta(days=1)
    if name == "tastytrade":
        from tastytrade import Account

        session = adapter.connection.session
        bars = await (await Account.get(session, account)).get_net_liquidating_value_history(
            session, time_back="1m"
        )
        found = [(dt.datetime.fromisoformat(b.time), float(b.close)) for b in bars]
    else:
        key, secret = adapter.connection.key_id, adapter.connection.secret_key
        if name == "alpaca":
            (account_id,) = [i for i, n in adapter.connection.accounts.items() if n == account]
            path = f"/v1/trading/accounts/{account_id}/account/portfolio/history"
            auth = {"auth": httpx.BasicAuth(key, secret)}
        else:
            path = "/v2/account/portfolio/history"
            auth = {"headers": {"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret}}
        async with httpx.AsyncClient(base_url=f"{url}/alpaca") as client:
            answer = await client.get(
                path, params={"period": "1W", "timeframe": "5Min", "date_end": str(day)}, **auth
            )
        body = answer.json()
        found = [
            (dt.datetime.fromtimestamp(t, dt.UTC), float(e))
            for t, e in zip(body["timestamp"], body["equity"], strict=True)
            if e is not None
        ]
    return [(int(t.timestamp() * 1000), v) for t, v in found if start <= t < end]


@pytest.mark.parametrize("name", list(BROKERS))
async def test_a_days_net_liq_from_the_brokers_history(name, alpaca_paper_at_sandbox):  # noqa: F811
    adapter = adapter_for(name)
    assert isinstance(adapter, SupportsBalanceHistory)
    sink = RecordingSink()
    today = dt.datetime.now(dt.UTC).date()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live", within=WITHIN)
        account = sorted({a for k, _, a, _ in sink.events if k == "balance"})[0]
        # the last five days before today: tastytrade keeps a bar a day, Alpaca a point
        # per 5 minutes of each trading day (none on weekends and holidays)
        days = [today - dt.timedelta(days=back) for back in range(1, 6)]
        answers = {day: await adapter.balance_history(account, day) for day in days}
        expected = {
            day: await independent_read(name, adapter, account, day, alpaca_paper_at_sandbox.url)
            for day in days
        }
    with_points = [day for day in days if answers[day]]
    assert with_points, "the sandbox seeds a back-history: some of the last 5 days have points"
    newest = max(with_points)
    for day in days:
        got, read = answers[day], expected[day]
        if name != "tastytrade" and day == newest:
            # Alpaca: the current market date's last point is the live net liq, which moved
            # between the two reads (docs/sandbox.md "Portfolio history")
            got, read = got[:-1], read[:-1]
        assert got == read, day
    for day in with_points:
        points = answers[day]
        assert points == sorted(points) and all(v > 0 for _, v in points)
        if name == "tastytrade":
            assert len(points) == 1  # the day's bar
        else:
            assert all(b - a == 300_000 for (a, _), (b, _) in itertools.pairwise(points))


async def test_tradier_keeps_no_balance_history(broker_at_sandbox):
    adapter = catalog.make_adapter(
        link_id=8,
        broker="tradier",
        credentials={"access_token": "pnl-tradier"},
        account_numbers=[],
        config=StreamConfig(**TRADIER_FAST),
        checkpoint=MemoryCheckpoint(),
    )
    assert not isinstance(adapter, SupportsBalanceHistory)
