"""streamdesk on PostgreSQL (DATABASE_URL): a real daphne process and a real postgres that
the test stops and restarts underneath it. Connections are per request under ASGI, so a
restart leaves no dead connection to trip over and nothing piles up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import websockets

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import DEMO_USER, LiveApp
from tests.support.postgres_server import PostgresServer
from tests.support.wait import wait_until

MARKET_BUY = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "IWM", "action": "Buy to Open", "quantity": 1}
    ],
}

#: What a connection kept across a restart says when it is used again (psycopg / Django).
DEAD_CONNECTION = ("connection is closed", "connection already closed", "terminating connection")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()  # its own: these tests restart it
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pg_app(postgres: PostgresServer, tmp_path_factory) -> Iterator[LiveApp]:
    config = SandboxConfig(tick_rate=10, alpaca_heartbeat_interval=2, demo_order_interval=0)
    with SandboxServer(config) as sandbox:
        app = LiveApp(
            sandbox.url,
            tmp_path_factory.mktemp("pg"),
            DATABASE_URL=postgres.create_database(),
        ).start()
        app.sandbox = sandbox
        yield app
        app.stop()


def _ready(app: LiveApp) -> httpx.Response:
    return httpx.get(f"{app.url}/ready", timeout=10)


async def test_ready_names_the_database_while_postgres_is_down(pg_app, postgres):
    assert _ready(pg_app).json()["checks"]["database"] == "ok"
    log_from = pg_app.log_path.stat().st_size
    postgres.stop_process()
    try:
        down = _ready(pg_app)
        assert down.status_code == 503
        assert down.json()["failing"] == ["database"]
        assert down.json()["checks"]["database"].startswith("OperationalError")
    finally:
        postgres.start_process()
    await wait_until(lambda: _ready(pg_app).status_code == 200, what="ready again")
    assert "Traceback" not in pg_app.log_path.read_text()[log_from:]


async def test_a_postgres_restart_leaves_no_dead_or_leaked_connections(pg_app, postgres):
    """Across a restart: pages, login, the open socket's fills, a new socket; afterwards
    no request fails on a dead connection and idle connections do not accumulate."""
    client = pg_app.login(*DEMO_USER)
    accounts = await wait_until(lambda: client.get("/api/snapshot").json()["accounts"])
    account = sorted(a["number"] for a in accounts if a["broker"] == "tastytrade")[0]
    headers = {"Cookie": pg_app.cookie_header(client), "Origin": pg_app.url}
    async with websockets.connect(pg_app.ws_url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await ws.recv())["type"] == "snapshot"

        postgres.restart()
        log_from = pg_app.log_path.stat().st_size

        # every kind of database use, after the restart
        assert client.get("/").status_code == 200  # session + dashboard
        assert client.get("/api/snapshot").status_code == 200
        again = pg_app.login(*DEMO_USER)  # writes a new session row
        assert again.get("/").status_code == 200
        control = pg_app.sandbox.control()
        order_id = str(control.place_order(account, MARKET_BUY)["order"]["id"])
        for _ in range(3):
            control.step()
        control.close()
        async with asyncio.timeout(20):
            while True:
                frame = json.loads(await ws.recv())
                if (
                    frame["type"] == "order"
                    and str(frame["order"]["id"]) == order_id
                    and frame["order"]["status"] == "Filled"
                ):
                    break
    headers = {"Cookie": pg_app.cookie_header(again), "Origin": pg_app.url}
    async with websockets.connect(pg_app.ws_url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await ws.recv())["type"] == "snapshot"

    for _ in range(30):
        assert client.get("/api/snapshot").status_code == 200
    assert _ready(pg_app).status_code == 200
    # per-request connections: once requests are done, none is left open
    await wait_until(
        lambda: postgres.connections(pg_app.env["DATABASE_URL"]) == 0,
        within=10,
        what="no idle connections left",
    )
    after = pg_app.log_path.read_text()[log_from:]
    assert not [line for line in after.splitlines() if any(d in line for d in DEAD_CONNECTION)]
    assert "Traceback" not in after
