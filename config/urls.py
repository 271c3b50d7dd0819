"""URL routes: admin, login/logout, the dashboard and its JSON endpoints."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from operations import views as operations
from streaming import sse, views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health", operations.health, name="health"),
    path("healthz", operations.health),  # the earlier name, kept for existing probes
    path("ready", operations.ready, name="ready"),
    path("metrics", operations.metrics, name="metrics"),

    path("ops/streams/", operations.stream_health_page, name="stream-health"),
    path("ops/streams.json", operations.stream_health_json, name="stream-health-json"),
    path("api/snapshot", views.api_snapshot, name="api-snapshot"),
    path("api/events", sse.event_stream, name="api-events"),
    path("watchlist", views.watchlist, name="watchlist"),
    path("", views.dashboard, name="home"),
]
