"""`/metrics`: Prometheus text format, for staff or the metrics token only, and one view
of every daphne process sharing a PROMETHEUS_MULTIPROC_DIR (a killed one's open sockets
drop out once a process starts)."""

from __future__ import annotations

import logging
import os

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster.conftest import Tab
from tests.support.cluster import FAST_CLUSTER, running_cluster
from tests.support.live import DEMO_USER, LiveApp
from tests.support.wait import wait_until

TOKEN = "metrics-token-for-tests"
MARKET_BUY = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "IWM", "action": "Buy to Open", "quantity": 1}
    ],
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


# -- who may scrape ------------------------------------------------------------------------
@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.mark.django_db
def test_anonymous_gets_401_without_a_traceback(client, token, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "message": "Send the metrics token (Authorization: Bearer <METRICS_TOKEN>), or log in "
        "as staff.",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "no-cache" in response["Cache-Control"]
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text


@pytest.mark.django_db
def test_logged_in_non_staff_gets_403(client, django_user_model, token, caplog):
    client.force_login(django_user_model.objects.create_user("trader", password="x"))
    with caplog.at_level(logging.INFO):
        response = client.get("/metrics")
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "message": "Only staff may read the metrics."}
    assert all(record.exc_info is None for record in caplog.records)


@pytest.mark.django_db
def test_staff_session_gets_the_metrics(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ops", password="x", is_staff=True))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "streamdesk_streams_open",
        "streamdesk_frames_out",
        "streamdesk_frame_bytes_out",
        "streamdesk_quote_events_in",
        "streamdesk_quote_latency_seconds",
        "streamdesk_account_latency_seconds",
        "streamdesk_account_stage_seconds",
        "streamdesk_account_events_logged",
        "streamdesk_account_events_replayed",
        "streamdesk_resyncs",
        "streamdesk_epochs_started",
        "streamdesk_links",
        "streamdesk_broker_reconnects",
        "streamdesk_token_refreshes",
        "streamdesk_broker_rate_limited",
        "streamdesk_lease_takeovers",
        "streamdesk_slow_client_closes",
        "streamdesk_relay_batches",
        "streamdesk_login_lockouts",
    } <= names


@pytest.mark.django_db
def test_bearer_token_gets_the_metrics(client, token):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "streamdesk_streams_open" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", "Bearer " + "é" * 40, TOKEN],
)
def test_wrong_token_gets_401(client, token, header, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/metrics", headers={"Authorization": header})
    assert response.status_code == 401
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text


@pytest.mark.django_db
def test_no_token_configured_means_staff_only(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_wrong_token_is_401_even_with_a_staff_session(client, django_user_model, token):
    client.force_login(django_user_model.objects.create_user("ops", password="x", is_staff=True))
    response = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


# -- several processes, one directory ------------------------------------------------------
def scrape(app: LiveApp) -> str:
    response = httpx.get(
        f"{app.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.text


def live_gauge_files(directory, pid: int) -> list[str]:
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name.startswith("gauge_live") and p.name.endswith(f"_{pid}.db")
    )


@pytest.mark.redis
async def test_one_view_of_every_process_and_a_killed_one_drops_out(tmp_path):
    """Process A's /metrics counts B's socket; frames out, quote events in and an order
    fill move the counters; after B is killed (-9), a process that starts removes B's
    live gauges, and A reports no socket open."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": TOKEN}
    with running_cluster(tmp_path, **env) as cluster:
        assert value(scrape(cluster.a), "streamdesk_streams_open", transport="ws") == 0
        tab = await Tab(cluster.b, cluster.cookie()).open()
        snapshot = await tab.wait_for(lambda f: f["type"] == "snapshot")
        text = scrape(cluster.a)
        assert value(text, "streamdesk_streams_open", transport="ws") == 1
        assert value(text, "streamdesk_streams_open", transport="sse") == 0
        assert live_gauge_files(metrics_dir, cluster.b.pid) == [
            f"gauge_livemax_{cluster.b.pid}.db",  # the flush floor
            f"gauge_livesum_{cluster.b.pid}.db",
        ]

        # frames out (added per tab heartbeat) and quote events in (per flush)
        def frames_counted():
            text = scrape(cluster.a)
            frames = value(text, "streamdesk_frames_out_total", transport="ws")
            return text if frames >= 3 else None

        text = await wait_until(frames_counted, within=15, what="frames out counted")
        assert value(text, "streamdesk_frame_bytes_out_total", transport="ws") > 1000
        assert value(text, "streamdesk_quote_events_in_total", kind="quote") > 0
        # the adaptive flush's tick runs in B while it has a stream, and says so
        assert value(text, "streamdesk_event_loop_lag_seconds_count") > 0
        assert value(text, "streamdesk_quote_latency_seconds_count") > 0
        assert value(text, "streamdesk_epochs_started_total") == 1
        links = {
            labels: v
            for (name, labels), v in samples(text).items()
            if name == "streamdesk_links" and v
        }
        assert sum(links.values()) == len(snapshot["links"])

        # an order fills: account events logged, the fill's latency observed
        before = scrape(cluster.a)
        logged = value(before, "streamdesk_account_events_logged_total")
        orders_seen = value(before, "streamdesk_account_latency_seconds_count", kind="order")
        stage = "streamdesk_account_stage_seconds_count"
        staged = {s: value(before, stage, kind="order", stage=s) for s in ("numbered", "logged")}
        page = cluster.a.login(*DEMO_USER)
        accounts = await wait_until(
            lambda: page.get("/api/snapshot").json()["accounts"], within=15, what="accounts"
        )
        account = sorted(a["number"] for a in accounts if a["broker"] == "tastytrade")[0]
        control = cluster.sandbox.control()
        order_id = str(control.place_order(account, MARKET_BUY)["order"]["id"])
        for _ in range(3):
            control.step()
        control.close()
        await tab.wait_for(
            lambda f: (
                f["type"] == "order"
                and str(f["order"]["id"]) == order_id
                and f["order"]["status"] == "Filled"
            )
        )

        def fill_counted():
            text = scrape(cluster.a)
            done = (
                value(text, "streamdesk_account_events_logged_total") > logged
                and value(text, "streamdesk_account_latency_seconds_count", kind="order")
                > orders_seen
                # the owner's stages before the hand-over, in whichever process owns the user
                and all(value(text, stage, kind="order", stage=s) > n for s, n in staged.items())
            )
            return text if done else None

        await wait_until(fill_counted, within=15, what="the fill counted")

        # kill -9: B's live gauges stay until a process starts and removes them
        cluster.b.kill()
        assert live_gauge_files(metrics_dir, cluster.b.pid)
        restarted = LiveApp(
            cluster.sandbox.url,
            tmp_path,
            seed=False,
            REDIS_URL=cluster.redis.url,
            DATABASE_URL=cluster.database_url,
            **FAST_CLUSTER,
            **env,
        )
        restarted.start()
        try:
            assert live_gauge_files(metrics_dir, cluster.b.pid) == []
            assert value(scrape(cluster.a), "streamdesk_streams_open", transport="ws") == 0
            # the dead process's counters still count (a counter never goes backwards)
            after = scrape(restarted)
            assert value(after, "streamdesk_frames_out_total", transport="ws") >= value(
                text, "streamdesk_frames_out_total", transport="ws"
            )
        finally:
            restarted.stop()
        await tab.close()


def test_single_process_registry_without_a_directory():
    """The test process itself runs without PROMETHEUS_MULTIPROC_DIR: the plain registry."""
    from operations import metrics

    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert metrics.multiprocess_dir() is None
    assert metrics.forget_dead_processes() == []
    assert b"streamdesk_streams_open" in metrics.exposition()


def test_reconnect_reasons_are_a_bounded_set():
    """Whatever fails, the reconnect label is one of RECONNECT_REASONS (no free text)."""
    from streaming.brokers.errors import BrokerHTTPError, StreamEnded, StreamSilent
    from streaming.brokers.reconnects import RECONNECT_REASONS, reconnect_reason

    cases = {
        None: "ended",
        StreamEnded("bye"): "ended",
        StreamSilent("quiet"): "silent",
        BrokerHTTPError(429, "slow down"): "rate_limited",
        BrokerHTTPError(503, "down"): "server_error",
        BrokerHTTPError(404, "gone"): "broker_error",
        TimeoutError(): "timeout",
        ConnectionRefusedError(): "unreachable",
        ExceptionGroup("g", [ValueError("user 42 AAPL")]): "unexpected",
    }
    for exc, reason in cases.items():
        assert reconnect_reason(exc) == reason
        assert reason in RECONNECT_REASONS


def test_broker_time_of_a_frame():
    """The oldest live quote's `t` (delayed ones skipped); an order's `updated_at`."""
    from streaming.metrics import broker_time

    quotes = {
        "type": "quotes",
        "quotes": {"SPY": {"t": 1000}, "QQQ": {"t": 900}, "OLD": {"t": 5, "delayed": True}},
        "greeks": {"X": {"t": 950}},
    }
    assert broker_time(quotes) == 900
    assert broker_time({"type": "order", "order": {"updated_at": 1234}}) == 1234
    assert broker_time({"type": "balance", "balance": {"updated_at": None}}) is None
    assert broker_time({"type": "status", "link": {}}) is None
