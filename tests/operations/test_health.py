"""/health (liveness) and /ready (readiness: database, Redis, channel layer) for a load balancer."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from channels.layers import channel_layers

from tests.support.redis_server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_layer(settings) -> Iterator:
    """Point REDIS_URL and a channels-redis layer at a URL; the layer is rebuilt for it."""

    def use(url: str) -> None:
        settings.REDIS_URL = url
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url]},
            }
        }
        channel_layers.backends.clear()

    yield use
    channel_layers.backends.clear()


async def test_health_answers_without_login(async_client):
    for path in ("/health", "/healthz"):
        response = await async_client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert "no-cache" in response["Cache-Control"]


async def test_ready_on_the_embedded_defaults(async_client, settings):
    """SQLite and the in-memory layer: no Redis is asked for."""
    settings.REDIS_URL = ""
    response = await async_client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "channel_layer": "ok"},
        "failing": [],
    }


@pytest.mark.redis
async def test_ready_with_redis(async_client, redis_server, redis_layer):
    redis_layer(redis_server.url)
    response = await async_client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "channel_layer": "ok"}


async def test_not_ready_while_redis_is_down(async_client, settings, redis_layer, caplog):
    """503 naming Redis and the layer, within the deadline, one log line each, no traceback."""
    settings.READY_TIMEOUT = 1.5
    redis_layer(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING):
        response = await async_client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["redis", "channel_layer"]
    assert body["checks"]["database"] == "ok"
    refused = "ConnectionError: Error 111 connecting to 127.0.0.1:"
    assert body["checks"]["redis"].startswith(refused)
    assert body["checks"]["channel_layer"].startswith(refused)
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in caplog.text
    assert {
        r.getMessage().split(" is not")[0] for r in caplog.records if "readiness" in r.name
    } == {
        "readiness: redis",
        "readiness: channel_layer",
    }


async def test_not_ready_when_redis_hangs(async_client, settings, redis_layer):
    """A Redis that takes the connection but never answers (SIGSTOP): the deadline holds."""
    settings.READY_TIMEOUT = 0.5
    with socket.create_server(("127.0.0.1", 0)) as silent:
        redis_layer(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        started = time.monotonic()
        response = await async_client.get("/ready")
        took = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "redis": "no answer within 0.5 s",
        "channel_layer": "no answer within 0.5 s",
    }
    assert took < 2.0
