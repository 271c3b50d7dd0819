"""The stream's tables, a module per concept: watchlists, market overviews, replay
checkpoints, news, price alerts, portfolio limits, P&L samples, trading access, tickets and
the audit trail, Web Push's key and devices, the push outbox and working orders.

Django registers an app's models from `streaming.models`, so this one import list names
every model; it is the only list this package keeps. An importer may take a model from here
(`from streaming.models import Watchlist`, Django's convention); a constant or a helper
beside a model (`DEFAULT_WATCHLIST`) is imported from its module.
"""

from streaming.models.access import TradingProfile
from streaming.models.alerts import Alert, AlertTrigger
from streaming.models.audit import TradingAudit
from streaming.models.checkpoints import StreamCheckpoint
from streaming.models.limits import LimitBreach, LimitState, PortfolioLimits
from streaming.models.news import NewsItem, NewsSymbol
from streaming.models.outbox import PushDelivery
from streaming.models.overview import MarketOverview
from streaming.models.pnl import PnlSample
from streaming.models.push import PushKey, PushSubscription
from streaming.models.tickets import TradeTicket
from streaming.models.watchlist import Watchlist
from streaming.models.working_orders import WorkingOrders

__all__ = [
    "Alert",
    "AlertTrigger",
    "LimitBreach",
    "LimitState",
    "MarketOverview",
    "NewsItem",
    "NewsSymbol",
    "PnlSample",
    "PortfolioLimits",
    "PushDelivery",
    "PushKey",
    "PushSubscription",
    "StreamCheckpoint",
    "TradeTicket",
    "TradingAudit",
    "TradingProfile",
    "Watchlist",
    "WorkingOrders",
]
