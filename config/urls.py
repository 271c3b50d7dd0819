"""URL routes: admin, login/logout, the dashboard and its JSON endpoints, API tokens."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from operations import views as operations
from streaming.alerts import views as alert_views
from streaming.api import views as api_views
from streaming.candles import views as candles_views
from streaming.chains import views as chain_views
from streaming.news import views as news_views
from streaming.news.sse import view as news_sse
from streaming.orders import views as order_views
from streaming.overview import views as overview_views
from streaming.pages import dashboard, login, orders_api, preview_api, replay, snapshot
from streaming.pages import risk as risk_page
from streaming.pages.roll import views as roll_views
from streaming.push import views as push_views
from streaming.risk.limits import views as limits_views
from streaming.risk.pnl import views as pnl_views
from streaming.risk.strategies import views as strategy_views
from streaming.risk.whatif import views as risk_views
from streaming.tabs import sse
from streaming.tabs.bearer import public, token_readable
from streaming.trading import settings_views as trading_settings
from streaming.trading import views as trading_views
from streaming.user_settings import views as user_settings
from streaming.watchlist import views as watchlist_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", login.login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # public: no caller needed, so a script's API token is not looked at (streaming/tabs/bearer.py)
    path("health", public(operations.health), name="health"),
    path("healthz", public(operations.health)),  # the earlier name, kept for existing probes
    path("ready", public(operations.ready), name="ready"),
    path("metrics", operations.metrics, name="metrics"),
    path("ops/streams/", operations.stream_health_page, name="stream-health"),
    path("ops/streams.json", operations.stream_health_json, name="stream-health-json"),
    # the API's description, OpenAPI 3.1 (docs/streaming-contract.md "The JSON API")
    path("api/schema", public(api_views.schema), name="api-schema"),
    # readable with an API token too (streaming/tabs/bearer.py), each under its rate limit
    path("api/snapshot", token_readable("snapshot")(snapshot.api_snapshot), name="api-snapshot"),
    path("api/events", token_readable("connect")(sse.event_stream), name="api-events"),
    path(
        "api/news/stream",
        token_readable("connect")(news_sse.news_stream),
        name="api-news-stream",
    ),
    # orders page by page, and CSV exports (docs/streaming-contract.md "Orders", "CSV exports")
    # GET: the order list (session or token); POST: confirm a preview (pages/orders_api.py)
    path("api/orders", orders_api.orders_view, name="api-orders"),
    path(
        "api/exports/<slug:kind>.csv",
        token_readable("snapshot")(order_views.export_csv),
        name="api-export",
    ),
    path("settings/tokens", user_settings.api_tokens, name="api-tokens"),
    path(
        "settings/tokens/<int:token_id>/revoke",
        user_settings.api_token_revoke_view,
        name="api-token-revoke",
    ),
    path("settings/display", user_settings.display_settings, name="display-settings"),
    path("api/preferences", user_settings.preferences, name="api-preferences"),
    path(
        "api/notifications/settings",
        user_settings.notification_settings,
        name="api-notification-settings",
    ),
    path("watchlist", watchlist_views.watchlist, name="watchlist"),
    path("market", overview_views.market, name="market"),
    path("market/symbols", overview_views.market_symbols, name="market-symbols"),
    # candle charts: /chart/<SYMBOL>?tf=5m (docs/streaming-contract.md "Candle charts");
    # <path:…> because future symbols start with "/" (/ESZ26)
    path("chart/<path:symbol>", candles_views.chart, name="chart"),
    path("api/candles/<path:symbol>", candles_views.api_candles, name="api-candles"),
    path("api/sparklines/<path:symbol>", candles_views.api_sparkline, name="api-sparkline"),
    path("chain/<str:symbol>", chain_views.chain_page, name="chain"),
    path("api/chain/<str:symbol>", chain_views.api_chain, name="api-chain"),
    path(
        "api/chain/<str:symbol>/expirations",
        chain_views.api_chain_expirations,
        name="api-chain-expirations",
    ),
    # price alerts (docs/streaming-contract.md "Price alerts")
    path("alerts", alert_views.alerts_page, name="alerts"),
    path("api/alerts", alert_views.api_alerts, name="api-alerts"),
    path("api/alerts/<int:alert_id>", alert_views.api_alert, name="api-alert"),
    # Web Push (docs/streaming-contract.md "Push and e-mail")
    path("api/push/key", push_views.api_push_key, name="api-push-key"),
    path(
        "api/push/subscriptions", push_views.api_push_subscriptions, name="api-push-subscriptions"
    ),
    path("api/push/test", push_views.api_push_test, name="api-push-test"),
    path("settings/notifications", push_views.devices_page, name="notification-devices"),
    path("sw.js", push_views.service_worker, name="service-worker"),
    path("manifest.webmanifest", public(push_views.manifest), name="manifest"),
    path("offline", push_views.offline_page, name="offline"),
    path("news/<str:symbol>", news_views.news_page, name="news"),
    path("api/news", news_views.api_news, name="api-news"),
    # risk (docs/streaming-contract.md "The /risk page")
    path("risk", risk_page.risk_page, name="risk"),
    # P&L over the day (docs/streaming-contract.md "P&L over the day")
    path("pnl", pnl_views.pnl_page, name="pnl"),
    path("api/pnl", token_readable("snapshot")(pnl_views.api_pnl), name="api-pnl"),
    # portfolio limits (docs/streaming-contract.md "Portfolio limits")
    path("settings/limits", limits_views.limits_page, name="limits-settings"),
    path("api/risk/limits", limits_views.api_limits, name="api-risk-limits"),
    # the roll picker (docs/streaming-contract.md "The roll picker")
    path(
        "api/roll/candidates",
        token_readable("snapshot")(roll_views.api_roll_candidates),
        name="api-roll-candidates",
    ),
    # risk: strategies (docs/streaming-contract.md "Risk: strategies"); before any
    # api/risk/<underlying> route, which would take "strategies" for a symbol
    path(
        "api/risk/strategies",
        token_readable("snapshot")(strategy_views.api_strategies),
        name="api-risk-strategies",
    ),
    # the what-if risk curve (docs/streaming-contract.md "Risk: the what-if curve");
    # "portfolio" (like "strategies" and "limits" above) before the symbol route
    path(
        "api/risk/portfolio",
        token_readable("snapshot")(risk_views.api_risk_portfolio),
        name="api-risk-portfolio",
    ),
    # the scenario grid of an underlying held (any spelling, a slash too): before the curve's
    path(
        "api/risk/<path:underlying>/scenarios",
        token_readable("snapshot")(risk_views.api_risk_scenarios),
        name="api-risk-scenarios",
    ),
    # any spelling of an underlying held, a slash included (BTC/USD, /ESZ6: a path
    # converter, after every fixed route above); any other path under it: a JSON 404
    path(
        "api/risk/<path:underlying>",
        token_readable("snapshot")(risk_views.api_risk),
        name="api-risk",
    ),
    path("api/risk/", risk_views.api_risk_not_found, name="api-risk-none"),
    path("", dashboard.dashboard, name="home"),
    # a recorded day played back (docs/streaming-contract.md "Replay page")
    path("replay", replay.replay_days, name="replay"),
    path("replay/<str:day>", replay.replay_day, name="replay-day"),
    # trading (docs/streaming-contract.md "Trading: preview, confirm, place, cancel, …")
    # the trading feature's preview, with the odds of the position it opens (pages/)
    path("api/orders/preview", preview_api.preview_view, name="api-orders-preview"),
    path("api/orders/cancel-all", trading_views.cancel_all_view, name="api-orders-cancel-all"),
    path(
        "api/orders/tickets/<str:ticket_id>",
        trading_views.ticket_view,
        name="api-orders-ticket",
    ),
    path("api/orders/<str:order_id>", trading_views.cancel_view, name="api-orders-cancel"),
    path("api/trading/kill-switch", trading_views.kill_switch_view, name="api-kill-switch"),
]

# trading: the user's switch, the second factor, the audit trail (docs/streaming-contract.md
# "Trading"); never token-readable (a read-only token gets 403 token_read_only)
urlpatterns += [
    path("trading", trading_settings.trading_page, name="trading"),
    path("api/trading", trading_settings.api_trading, name="api-trading"),
    path("api/trading/enable", trading_settings.api_trading_enable, name="api-trading-enable"),
    path("api/trading/disable", trading_settings.api_trading_disable, name="api-trading-disable"),
    path("api/trading/audit", trading_settings.api_trading_audit, name="api-trading-audit"),
    path("api/trading/totp", trading_settings.api_totp_start, name="api-trading-totp"),
    path(
        "api/trading/totp/confirm",
        trading_settings.api_totp_confirm,
        name="api-trading-totp-confirm",
    ),
]

# JSON for the API (under /api/, or a route streaming/api/openapi.yaml lists), Django's
# pages elsewhere (docs/streaming-contract.md "The JSON API: its description, and its errors")
handler400 = api_views.bad_request
handler403 = api_views.permission_denied
handler404 = api_views.page_not_found
handler500 = api_views.server_error
