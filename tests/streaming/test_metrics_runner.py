"""Market metrics in a user's stream (streaming/risk/metrics/runner.py): a real manager,
the real tastytrade SDK and Tradier's REST API against the sandbox over real sockets.

tastytrade's metrics equal the SDK's own `get_market_metrics` mapped by the contract's
rules (IV rank = tos rank x 100); a Tradier-only user gets a regression β equal to this
test's numpy regression of the same daily closes; broker failures are logged once,
retried with backoff, and the last values kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import numpy as np
import pytest
from tastytrade.metrics import get_market_metrics

from streaming.brokers.bars import date_ms, day_start_ms
from streaming.brokers.base import SupportsMarketMetrics
from streaming.brokers.tastytrade.metrics import metrics_symbol
from streaming.brokers.values import now_ms
from streaming.risk.metrics import beta
from streaming.risk.metrics.runner import MetricsRunner
from streaming.stream.manager import LinkInfo, UserStreamManager
from tests.streaming.test_manager import Published, manager_for
from tests.streaming.test_tradier_adapter import make_adapter as tradier_adapter
from tests.support.sdk import cred, sdk_session
from tests.support.tradier import tradier_client
from tests.support.wait import wait_until

#: Seconds for the stream to connect, load positions and fetch metrics (sandbox, loopback).
READY = 20.0


def tastytrade_manager(
    refresh_token: str, runner: MetricsRunner, published: Published
) -> UserStreamManager:
    manager = manager_for(refresh_token, published, listeners=[runner])
    manager.set_tab_symbols("page", set())  # a page shows the positions: their metrics
    return manager


def underlyings(manager: UserStreamManager) -> set[str]:
    return {
        str(p.get("underlying") or p["symbol"])
        for a in manager.state.accounts.values()
        for p in a.positions.values()
    }


def covered(manager: UserStreamManager) -> bool:
    wanted = underlyings(manager)
    return bool(wanted) and wanted | {"SPY"} <= manager.state.metrics.keys()


async def test_tastytrade_metrics_are_the_sdks_mapped_and_reach_snapshot_and_frame(
    broker_at_sandbox, refresh_token
):
    published = Published()
    runner = MetricsRunner(refresh=600)
    manager = tastytrade_manager(refresh_token, runner, published)
    assert isinstance(manager.adapters[7], SupportsMarketMetrics)
    assert "SPY" in manager.wanted_symbols()  # the benchmark streams
    await manager.start()
    try:
        assert await manager.wait_ready(within=READY)
        await wait_until(lambda: covered(manager), within=READY, what="metrics of every underlying")
        snapshot = manager.snapshot()
        session = sdk_session(broker_at_sandbox, refresh_token)
        theirs = {
            i.symbol: i for i in await get_market_metrics(session, sorted(snapshot["metrics"]))
        }
    finally:
        await manager.stop()
    assert "SPY" in snapshot["subscriptions"]
    # every position's underlying streams, an option-only one too: β-weighted delta,
    # expected move and the what-if curve price from it
    positions = [p for a in snapshot["accounts"] for p in a["positions"]]
    options = [p for p in positions if str(p["streamer_symbol"]).startswith(".")]
    assert options, "the sandbox's accounts hold options"
    held = {str(p.get("underlying") or p["symbol"]) for p in positions}
    assert held <= set(snapshot["subscriptions"]), held - set(snapshot["subscriptions"])
    assert snapshot["metrics"] and snapshot["metrics"].keys() == theirs.keys()
    for symbol, m in snapshot["metrics"].items():
        info = theirs[symbol]
        assert m["beta"] == float(info.beta) and m["beta_source"] == "tastytrade", symbol
        assert m["beta_window"] is None
        assert m["iv_rank"] == pytest.approx(float(info.tos_implied_volatility_index_rank) * 100)
        assert m["iv_percentile"] == pytest.approx(float(info.implied_volatility_percentile) * 100)
        assert m["iv_index"] == float(info.implied_volatility_index)
        assert m["iv_source"] == "tastytrade"
        assert m["expiration_ivs"] == {
            e.expiration_date.isoformat(): float(e.implied_volatility)
            for e in info.option_expiration_implied_volatilities or []
        }
        assert 0 < now_ms() - m["t"] < READY * 1000
    # the frame carries every underlying's metrics (latest wins): the last one is the state
    assert published.of("metrics")[-1]["metrics"] == snapshot["metrics"]


#: The demo holdings' coin and /ES future, by their contract symbols, and the symbols
#: tastytrade's market metrics know them by (as tastytrade-cli asks them).
HELD_BY_METRICS_SYMBOL = {"BTC/USD:CXTALP": "BTC/USD", "/ESZ26:XCME": "/ES"}


async def test_a_coins_and_a_futures_metrics_are_tastytrades_kept_under_the_contract_symbol(
    broker_at_sandbox, control, refresh_token
):
    """A customer holding a coin and an /ES option (the demo holdings): the runner streams
    the coin's and the future's own quotes and asks tastytrade for `BTC/USD` and `/ES`;
    what tastytrade's SDK answers for those is the metrics of `BTC/USD:CXTALP` and
    `/ESZ26:XCME` (a future's IV rank is tastytrade's `tw` rank)."""
    control.configure(demo_holdings=True)
    manager = tastytrade_manager(refresh_token, MetricsRunner(refresh=600), Published())
    await manager.start()
    try:
        await wait_until(
            lambda: HELD_BY_METRICS_SYMBOL.keys() <= underlyings(manager) and covered(manager),
            within=READY,
            what="metrics of the coin and the future",
        )
        metrics = dict(manager.state.metrics)
        subscriptions = set(manager.snapshot()["subscriptions"])
        session = sdk_session(broker_at_sandbox, refresh_token)
        asked = sorted(HELD_BY_METRICS_SYMBOL.values())
        theirs = {i.symbol: i for i in await get_market_metrics(session, asked)}
    finally:
        await manager.stop()
    assert HELD_BY_METRICS_SYMBOL.keys() <= subscriptions
    assert not set(HELD_BY_METRICS_SYMBOL.values()) & (subscriptions | metrics.keys())
    for contract, symbol in HELD_BY_METRICS_SYMBOL.items():
        m, info = metrics[contract], theirs[symbol]
        assert (m["beta"], m["beta_source"]) == (float(info.beta), "tastytrade"), contract
        assert m["iv_index"] == float(info.implied_volatility_index), contract
    future = theirs["/ES"]
    rank = metrics["/ESZ26:XCME"]["iv_rank"]
    assert rank == pytest.approx(float(future.tw_implied_volatility_index_rank) * 100)


@pytest.mark.parametrize(
    ("contract", "asked"),
    [
        ("BTC/USD:CXTALP", "BTC/USD"),
        ("ETH/USD:CXTALP", "ETH/USD"),
        ("/ESZ26:XCME", "/ES"),
        ("/ESZ6", "/ES"),
        ("/CLF27:XNYM", "/CL"),
        ("SPY", "SPY"),
        ("BRK/B", "BRK/B"),
        ("BTCUSD", "BTCUSD"),  # a ticker by its spelling: only a holding makes it the coin
    ],
)
def test_each_underlying_is_asked_by_tastytrades_metrics_symbol(contract: str, asked: str):
    assert metrics_symbol(contract) == asked


async def test_a_failing_broker_is_logged_once_retried_and_the_last_values_kept(
    broker_at_sandbox, control, refresh_token, caplog
):
    caplog.set_level(logging.WARNING, logger="streaming.risk.metrics.runner")
    fault = {"status": 500, "path_prefix": "/market-metrics", "credential": cred(refresh_token)}
    control.fault("http_error", count=3, **fault)
    runner = MetricsRunner(refresh=0.3, retry_base=0.05, retry_cap=0.2)
    manager = tastytrade_manager(refresh_token, runner, Published())
    await manager.start()
    try:
        await wait_until(lambda: covered(manager), within=READY, what="metrics after 3 failures")
        failed = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failed) == 1, [r.getMessage() for r in caplog.records]  # once per run
        kept = {u: dict(m) for u, m in manager.state.metrics.items()}
        control.fault("http_error", count=None, **fault)  # every request fails from now on
        await wait_until(lambda: runner.failures >= 3, within=READY, what="three more failures")
        assert manager.state.metrics == kept  # the last values stay, with their old `t`
        control.clear_faults()
        newest = max(m["t"] for m in kept.values())
        await wait_until(
            lambda: min(m["t"] for m in manager.state.metrics.values()) > newest,
            within=READY,
            what="fresh metrics once the broker answers again",
        )
    finally:
        await manager.stop()
    assert runner.failures == 0


def tradier_closes(sandbox, token: str, symbol: str, start: str) -> dict[int, float]:
    """Tradier's closed days' closes, called as its documentation shows (not the adapter's
    code)."""
    with tradier_client(sandbox, token) as client:
        body = client.get(
            "/v1/markets/history", params={"symbol": symbol, "interval": "daily", "start": start}
        ).json()
    days = body["history"]["day"][:-1]  # the last day is the forming one
    return {date_ms(dt.date.fromisoformat(d["date"])): float(d["close"]) for d in days}


def numpy_beta(stock: dict[int, float], spy: dict[int, float], start: int, today: int) -> float:
    """The least-squares slope of the daily returns over the days both have in the window."""
    days = sorted(d for d in stock.keys() & spy.keys() if start <= d < today)
    y, x = np.array([stock[d] for d in days]), np.array([spy[d] for d in days])
    slope, _ = np.polyfit(np.diff(x) / x[:-1], np.diff(y) / y[:-1], 1)
    return float(slope)


async def test_a_tradier_user_gets_a_regression_beta_and_no_iv_rank(broker_at_sandbox):
    token = f"tradier-metrics-{uuid.uuid4().hex[:12]}"
    adapter = tradier_adapter(token)  # link 3
    assert not isinstance(adapter, SupportsMarketMetrics)
    runner = MetricsRunner(refresh=600)
    info = LinkInfo(3, "tradier", "sandbox tradier", simulated=True)
    manager = UserStreamManager(
        43, links=[(info, adapter)], publish=Published(), flush_interval=0.2, listeners=[runner]
    )
    manager.set_tab_symbols("page", set())
    await manager.start()
    try:
        assert await manager.wait_ready(within=READY)
        await wait_until(lambda: covered(manager), within=READY * 2, what="regression metrics")
        metrics = dict(manager.state.metrics)
        fetched = now_ms()
    finally:
        await manager.stop()
    start = beta.history_start(fetched)
    first_day = dt.datetime.fromtimestamp(start / 1000, dt.UTC).date().isoformat()
    spy = tradier_closes(broker_at_sandbox, token, "SPY", first_day)
    today = day_start_ms(fetched)
    for symbol, m in metrics.items():
        assert m["beta_source"] == "regression" and m["beta_window"] == beta.WINDOW, symbol
        assert m["iv_rank"] is None and m["iv_percentile"] is None and m["iv_source"] is None
        assert m["expiration_ivs"] == {}
        closes = tradier_closes(broker_at_sandbox, token, symbol, first_day)
        expected = numpy_beta(closes, spy, start, today)
        assert m["beta"] == pytest.approx(expected, rel=1e-9, abs=1e-12), symbol
        assert m["beta_as_of"] == max(d for d in closes.keys() & spy.keys() if d < today)
    assert metrics["SPY"]["beta"] == pytest.approx(1.0, abs=1e-12)
