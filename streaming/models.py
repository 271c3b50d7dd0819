"""Per-user stream preferences."""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_WATCHLIST = ["SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA"]


class Watchlist(models.Model):
    """The symbols a user watches (quotes streamed even without a position).

    `version` grows by one with every change (0 is the default list of a user who never
    saved one), so a tab can tell a newer list from an older one.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlist"
    )
    symbols = models.JSONField(default=list)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"watchlist of user {self.user_id} (v{self.version})"

    @classmethod
    def symbols_for(cls, user_id: int) -> list[str]:
        return cls.state_for(user_id)[0]

    @classmethod
    def state_for(cls, user_id: int) -> tuple[list[str], int]:
        """The user's list and its version; `(DEFAULT_WATCHLIST, 0)` if never saved."""
        row = cls.objects.filter(user_id=user_id).only("symbols", "version").first()
        if row is None:
            return list(DEFAULT_WATCHLIST), 0
        return list(row.symbols), row.version


class StreamCheckpoint(models.Model):
    """Where a link's replayable event stream was last applied (e.g. Alpaca's event ULID).

    Kept in the database, not in memory, so that a restarted process or a new owner of
    the user replays exactly what it missed. Cursors only move forward.
    """

    link = models.ForeignKey(
        "accounts.BrokerLink", on_delete=models.CASCADE, related_name="stream_checkpoints"
    )
    stream = models.CharField(max_length=64)
    cursor = models.CharField(max_length=128)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "stream"], name="one_checkpoint_per_stream")
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.stream} of link {self.link_id}"


class MarketOverview(models.Model):
    """The symbols of a user's market overview (`/market` and the dashboard's strip).

    No row means the default list (`streaming.overview.service.DEFAULT_OVERVIEW`). The symbols
    stream like a tab's own (the `subscribe` message), inside the user's symbol cap.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="market_overview"
    )
    symbols = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"market overview of user {self.user_id}"


class NewsItem(models.Model):
    """One revision of a news article from a provider (Alpaca's market data news).

    News is public market data, stored once for every user. An article that the provider
    updates (same provider id, newer `updated_at`) replaces its row: the old row is deleted
    and a new one inserted, so the primary key is a cursor over *revisions* — a reader that
    has seen up to pk N (the news SSE stream's `id:`) gets the update as the next item, and
    the article is never listed twice. Times are aware UTC (USE_TZ).
    """

    provider = models.CharField(max_length=16)
    news_id = models.CharField(max_length=64)
    headline = models.CharField(max_length=500)
    summary = models.TextField(blank=True, default="")
    author = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=100, blank=True, default="")
    url = models.URLField(max_length=1000, blank=True, default="")
    symbols = models.JSONField(default=list)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "news_id"], name="one_row_per_article")
        ]

    def __str__(self) -> str:
        return f"{self.provider} news {self.news_id}: {self.headline[:40]}"


class NewsSymbol(models.Model):
    """Which symbols an article is about (indexed, so "news for AAPL, MSFT" is a join)."""

    item = models.ForeignKey(NewsItem, on_delete=models.CASCADE, related_name="symbol_rows")
    symbol = models.CharField(max_length=32, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "symbol"], name="one_row_per_article_symbol")
        ]


class Alert(models.Model):
    """A price alert (docs/streaming-contract.md "Price alerts"): evaluated by the user's
    stream owner on every quote of `symbol` (streaming/alerts/rules.py).

    `armed` and `crossings` are changed only by compare-and-set (streaming/alerts/store.py):
    a trigger is `armed -> false` with `crossings + 1`, so a crossing fires once in the
    cluster, whichever process evaluated it and however often.
    """

    ABOVE, BELOW, MOVE_UP, MOVE_DOWN = "above", "below", "move_up", "move_down"
    CONDITIONS = [
        (ABOVE, "above"),
        (BELOW, "below"),
        (MOVE_UP, "up % from the previous close"),
        (MOVE_DOWN, "down % from the previous close"),
    ]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts"
    )
    symbol = models.CharField(max_length=32)
    condition = models.CharField(max_length=16, choices=CONDITIONS)
    #: A price (above/below) or a percent (move_up/move_down).
    level = models.DecimalField(max_digits=14, decimal_places=4)
    #: False: the alert fires once, then is inactive. True: it re-arms (see alerts.py).
    rearm = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    armed = models.BooleanField(default=True)
    crossings = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "active"], name="alert_user_active")]

    def __str__(self) -> str:
        return f"alert {self.id}: {self.symbol} {self.condition} {self.level}"


class AlertTrigger(models.Model):
    """One crossing of an alert. The alert's words are copied here so that the history
    outlives an edit or a delete. `delivered`: the `alert` frame is in the event log (a
    new owner sends the undelivered ones when it starts)."""

    alert = models.ForeignKey(Alert, on_delete=models.SET_NULL, null=True, related_name="triggers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_triggers"
    )
    symbol = models.CharField(max_length=32)
    condition = models.CharField(max_length=16)
    level = models.DecimalField(max_digits=14, decimal_places=4)
    price = models.DecimalField(max_digits=18, decimal_places=6)
    #: The time of the quote that crossed (aware UTC).
    triggered_at = models.DateTimeField()
    #: The alert's crossing number (1, 2, …): unique per alert.
    crossing = models.PositiveIntegerField()
    rearm = models.BooleanField(default=False)
    message = models.CharField(max_length=200)
    delivered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "crossing"], name="one_trigger_per_crossing")
        ]
        indexes = [models.Index(fields=["user", "delivered"], name="trigger_user_delivered")]

    def __str__(self) -> str:
        return f"trigger {self.id} of alert {self.alert_id} (crossing {self.crossing})"


# --- risk: limits ---
class PortfolioLimits(models.Model):
    """The trader's portfolio limits (docs/streaming-contract.md "Portfolio limits"): a
    β-weighted delta band in SPY shares and a daily loss limit in dollars; null: off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolio_limits"
    )
    beta_delta_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    beta_delta_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    daily_loss = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"limits of user {self.user_id}"


class LimitState(models.Model):
    """Whether one of a user's limits is armed, changed only by compare-and-set
    (streaming/risk/limits/store.py): a crossing is `armed -> false` with `crossings + 1`
    (for the daily loss: `day` set to the trading day), so it fires once in the cluster."""

    BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS = (
        "beta_delta_above",
        "beta_delta_below",
        "daily_loss",
    )
    KINDS = [(k, k) for k in (BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS)]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="limit_states"
    )
    kind = models.CharField(max_length=24, choices=KINDS)
    armed = models.BooleanField(default=True)
    crossings = models.PositiveIntegerField(default=0)
    #: The trading day (New York) of the last daily loss crossing: armed again the next.
    day = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="limit_state_user_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of user {self.user_id}: armed={self.armed}"


class LimitBreach(models.Model):
    """One crossing of a limit (the `limit` frame's payload). `delivered`: the frame is in
    the event log (a new owner sends the undelivered ones when it starts)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="limit_breaches"
    )
    kind = models.CharField(max_length=24)
    #: The limit's crossing number (1, 2, …): unique per (user, kind).
    crossing = models.PositiveIntegerField()
    value = models.DecimalField(max_digits=18, decimal_places=4)
    limit = models.DecimalField(max_digits=14, decimal_places=2)
    breached_at = models.DateTimeField()
    message = models.CharField(max_length=200)
    delivered = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "crossing"], name="limit_breach_crossing"
            )
        ]
        indexes = [models.Index(fields=["user", "delivered"], name="breach_user_delivered")]

    def __str__(self) -> str:
        return f"breach {self.id}: {self.kind} of user {self.user_id} (crossing {self.crossing})"


# --- risk: pnl ---
class PnlSample(models.Model):
    """One grid sample of an account's (or, `account` "", the user's total) net liq and day
    P&L, written by the owner of the user's stream (streaming/risk/pnl/sampler.py). The
    unique (user, account, at) is what keeps a restart or a failover from doubling a
    sample: the first write of a grid bucket wins. A missing input is stored null, never 0."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pnl_samples"
    )
    #: The account number; "" for the user's total.
    account = models.CharField(max_length=64, blank=True)
    #: The grid time: the start of the sample's PNL_SAMPLE_INTERVAL bucket (aware UTC).
    at = models.DateTimeField()
    net_liq = models.DecimalField(max_digits=20, decimal_places=4, null=True)
    day_pnl = models.DecimalField(max_digits=20, decimal_places=4, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account", "at"], name="one_pnl_sample_per_grid_time"
            )
        ]
        indexes = [models.Index(fields=["user", "at"], name="pnl_sample_user_at")]

    def __str__(self) -> str:
        return f"pnl {self.user_id} {self.account or 'total'} @ {self.at:%Y-%m-%d %H:%M:%S}"


# --- trading: access (docs/streaming-contract.md "Trading") ---
class TradingProfile(models.Model):
    """A user's trading switch and limits: whether they turned trading on with a second
    factor (and until when), when a kill switch last turned it off, and their own limits
    (a link's limits, set by staff, come first)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_profile"
    )
    #: Trading is on until then (the second factor's window); null: off.
    granted_until = models.DateTimeField(null=True, blank=True)
    #: How it was turned on: "totp" or "password".
    granted_with = models.CharField(max_length=16, blank=True)
    killed_at = models.DateTimeField(null=True, blank=True)
    max_order_notional = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    max_orders_per_minute = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"trading of user {self.user_id}"


class AppendOnlyQuerySet(models.QuerySet):
    """An audit trail is never changed: bulk updates and deletes are refused here, and
    the database refuses them too (a trigger, migration 0009)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("the trading audit trail is append-only")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise TypeError("the trading audit trail is append-only")


class TradingAudit(models.Model):
    """One step of order entry, as it happened: who, when, from where, what the trader
    saw and what the broker said. Append-only; never a secret, header or token."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trading_audit"
    )
    #: Who acted: the user's username, or the staff member's for a staff action.
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=24)
    #: The broker link's id and name as they were: a plain value, not a foreign key, so
    #: deleting a link (which a foreign key would update) leaves its history readable.
    link_id = models.BigIntegerField(null=True, blank=True)
    link_label = models.CharField(max_length=200, blank=True)
    account = models.CharField(max_length=64, blank=True)
    ticket = models.UUIDField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    #: A short hash of the login session (never its key).
    session = models.CharField(max_length=16, blank=True)
    shown = models.TextField(blank=True)
    said = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="trading_audit_user_id")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("the trading audit trail is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise TypeError("the trading audit trail is append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} (user {self.user_id})"


# --- trading: tickets ---
class TradeTicket(models.Model):
    """One previewed order and what became of it (docs/streaming-contract.md "Never
    twice"): the order exactly as previewed, claimed once (`previewed → placing` in one
    UPDATE) under the confirm's idempotency key, and the broker's answer."""

    STATES = ("previewed", "placing", "placed", "rejected", "unknown", "expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trade_tickets"
    )
    link = models.ForeignKey(
        "accounts.BrokerLink", on_delete=models.CASCADE, related_name="trade_tickets"
    )
    account = models.CharField(max_length=64)
    #: The contract's order JSON as previewed: what a confirm places, nothing else.
    order = models.JSONField()
    words = models.TextField()
    #: The preview's effect, warnings, quote, reference price and notional.
    preview = models.JSONField(default=dict)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=12, default="previewed")
    #: The confirm's `Idempotency-Key` (null until confirmed; unique per user).
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    order_id = models.CharField(max_length=64, blank=True)
    #: What the broker answered (status and sentence; no header, token or secret).
    said = models.JSONField(default=dict, blank=True)
    replaces = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    placed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], name="trade_ticket_user_key"
            )
        ]
        indexes = [models.Index(fields=["user", "placed_at"], name="trade_ticket_user_placed")]

    @property
    def client_order_id(self) -> str:
        """The tag every broker carries for this ticket (`sd-` and 32 hex digits)."""
        return f"sd-{self.id.hex}"

    def __str__(self) -> str:
        return f"ticket {self.id} ({self.state})"


class PushKey(models.Model):
    """The server's VAPID key pair (one row): the private key encrypted at rest
    (accounts/crypto.py), made on first use unless `PUSH_VAPID_PRIVATE_KEY` names one.
    Devices subscribe to its public key, so it is kept: a new key makes every device
    subscribe again."""

    private_key = models.TextField(help_text="The P-256 private key (PEM), encrypted.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push key {self.id}"


class PushSubscription(models.Model):
    """One browser or device of a user that takes Web Push: its push service endpoint and
    its keys (the browser's `PushSubscription.toJSON()`), checked (streaming/push/input.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=128)
    auth = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"push subscription {self.id} of user {self.user_id}"


class PushDelivery(models.Model):
    """The outbox: one event for one channel (one device, or e-mail), written with the
    event (exactly once: unique on event, channel and device) and claimed by one sender at a
    time (`claimed_until`, compare-and-set) until it is sent, gone or failed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_deliveries"
    )
    #: The event's id (the browser's notification key: `alert:<trigger id>`, …).
    event = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)
    channel = models.CharField(max_length=8)  # "push" or "email"
    subscription = models.ForeignKey(
        PushSubscription, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: `{"id", "kind", "title", "body", "url"}`: what is sent.
    message = models.JSONField()
    state = models.CharField(max_length=8, default="pending")  # sent, gone, failed
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    #: Not before (a retry's backoff); after `expires_at` it is not sent (the push TTL).
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "subscription"], name="one_delivery_per_device"
            ),
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=models.Q(subscription__isnull=True),
                name="one_email_per_event",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.channel} delivery of {self.event}"


class WorkingOrders(models.Model):
    """Whether a user has a working order, as the owner of their stream last saw it
    (streaming/push/working.py): the one reason to watch a stream with no page open that
    the database cannot tell by itself (docs/streaming-contract.md "Push and e-mail")."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="working_orders",
    )
    working = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "working orders"

    def __str__(self) -> str:
        return f"working orders of user {self.user_id}: {self.working}"
