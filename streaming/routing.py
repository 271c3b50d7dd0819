"""Websocket URL routes."""

from django.urls import path

from streaming.alerts.replayed import ReplayAlerts
from streaming.replay.consumer import ReplayConsumer
from streaming.tabs.consumers import StreamConsumer
from streaming.wiring import quote_waits

websocket_urlpatterns = [
    path("ws/stream/", StreamConsumer.as_asgi()),
    # a replay page's own socket, never in the live fan-out (streaming/replay/consumer.py)
    path(
        "ws/replay/<str:day>/",
        ReplayConsumer.as_asgi(quote_waits=quote_waits(), rules=ReplayAlerts),
    ),
]
