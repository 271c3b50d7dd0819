"""Broker links: which user owns which broker credential, and whether it works; and
users' personal API tokens (stored hashed; see accounts/tokens.py).

Secrets live only in `encrypted_secrets` (a Fernet token, see `accounts.crypto`);
they are written by `accounts.services` and read by `accounts.selectors`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.crypto import decrypt_json


def current_broker_env() -> str:
    """The broker environment in force (`settings.BROKER_ENV`): a new link's environment."""
    return settings.BROKER_ENV


class BrokerLink(models.Model):
    """One broker credential of one user, with what verifying it found.

    A link made while `BROKER_ENV` is "sandbox" is simulated for its whole life: the
    environment is copied on creation and never changes.
    """

    class Broker(models.TextChoices):
        TASTYTRADE = "tastytrade", "tastytrade"
        TRADIER = "tradier", "Tradier"
        ALPACA = "alpaca", "Alpaca"

    #: The secrets each broker needs (all required; stored encrypted, never shown again).
    SECRET_FIELDS: dict[str, tuple[str, ...]] = {
        "tastytrade": ("provider_secret", "refresh_token"),
        "tradier": ("access_token",),
        "alpaca": ("key_id", "secret_key"),
    }

    class Environment(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox (simulated)"
        LIVE = "live", "Live"

    class AlpacaApi(models.TextChoices):
        """Which of Alpaca's APIs an Alpaca link's keys are for."""

        BROKER = "broker", "Broker API (a brokerage built on Alpaca)"
        PAPER = "paper", "Trading API, paper account"
        LIVE = "live", "Trading API, live account"

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", "Unverified"
        VERIFIED = "verified", "Verified"
        ERROR = "error", "Error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_links"
    )
    broker = models.CharField(max_length=32, choices=Broker.choices, default=Broker.TASTYTRADE)
    label = models.CharField(max_length=100)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=current_broker_env, editable=False
    )
    alpaca_api = models.CharField(
        "Alpaca API",
        max_length=16,
        choices=AlpacaApi.choices,
        default=AlpacaApi.BROKER,
        help_text="Alpaca links only: Broker API keys, or a trader's own Trading API keys"
        " (paper or live). Other brokers keep the default.",
    )
    account_numbers = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.UNVERIFIED, editable=False
    )
    last_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False)
    encrypted_secrets = models.TextField(editable=False)
    enabled = models.BooleanField(default=True)
    #: Orders may be placed through this link (docs/streaming-contract.md, "Trading"):
    #: off until staff turns it on; the staff kill switch turns it off again.
    trading_enabled = models.BooleanField(
        default=False, help_text="Orders may be placed through this link from the screen."
    )
    #: Staff's per-link limits; blank: the user's, else the server's defaults.
    max_order_notional = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Largest order (quantity x multiplier x price, US dollars); blank: the default.",
    )
    max_orders_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders placed per minute at most; blank: the default."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "id"]
        verbose_name = "broker link"

    def __str__(self) -> str:
        simulated = " SIMULATED" if self.is_simulated else ""
        return f"{self.label} ({self.broker}{simulated})"

    def __repr__(self) -> str:
        return (
            f"<BrokerLink id={self.pk} user_id={self.user_id} broker={self.broker} "
            f"environment={self.environment} status={self.status}>"
        )

    @property
    def uses_alpaca_trading_api(self) -> bool:
        """An Alpaca link with a trader's own (paper or live) Trading API keys."""
        return self.broker == self.Broker.ALPACA and self.alpaca_api != self.AlpacaApi.BROKER

    @property
    def is_simulated(self) -> bool:
        """True for a sandbox link: everything built from it is labelled SIMULATED."""
        return self.environment == self.Environment.SANDBOX

    def secrets(self) -> dict[str, str]:
        """The decrypted secrets; raises `accounts.crypto.SecretsUnreadable`."""
        return decrypt_json(self.encrypted_secrets)


class ApiToken(models.Model):
    """A personal, read-only API token for scripts and bots (accounts/tokens.py).

    The token is `sdt_<prefix>_<secret>`: the prefix is public (it finds the row, and the
    user sees it to tell tokens apart); of the secret only its SHA-256 is stored, so a
    database leak yields no usable token. The whole token is shown once, when created.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField("SHA-256 of the secret", max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    #: Recorded at most once a minute per token (accounts.tokens.api_token_touch).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (sdt_{self.prefix}_…)"

    def __repr__(self) -> str:
        return f"<ApiToken id={self.pk} user_id={self.user_id} prefix={self.prefix}>"

    def state_at(self, now: datetime) -> str:
        """`active`, `expired` or `revoked` at `now` (an aware datetime)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


class NotificationSettings(models.Model):
    """Which events notify one user, and how (docs/streaming-contract.md "Notifications").

    The browser raises the notifications itself (static/js/stream/notify.js); these are
    kept here so they follow the trader to every browser. A user without a row has the
    defaults (`accounts.notification_settings.DEFAULTS`).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    fills = models.BooleanField(default=True, help_text="Fills and partial fills notify.")
    rejections = models.BooleanField(default=True, help_text="Rejected orders notify.")
    alerts = models.BooleanField(default=True, help_text="Triggered price alerts notify.")
    desktop = models.BooleanField(default=True, help_text="Raise desktop notifications.")
    sound = models.BooleanField(default=False, help_text="Beep with each notification.")
    push = models.BooleanField(default=True, help_text="Send Web Push to the user's devices.")
    email = models.BooleanField(default=False, help_text="Send an e-mail to the user's address.")
    pnl_all_day = models.BooleanField(
        default=False,
        help_text="Sample P&L through the trading session with no page open (the stream runs).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notification settings of user {self.user_id}"


class DisplayPreferences(models.Model):
    """How one trader's screen looks, kept on the server so it follows them to every
    browser (docs/streaming-contract.md "Display preferences"): whether values flash when
    they move, the one time zone every time is shown in (New York's until they choose
    another: accounts/times.py), and how each table is sorted. A user without a row has the
    defaults (`accounts.display_preferences.DEFAULTS`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="display_preferences"
    )
    flashes = models.BooleanField(default=True, help_text="Values flash when they move.")
    time_zone = models.CharField(
        max_length=64,
        default="America/New_York",
        help_text="IANA time zone every time is shown in (New York's: the market's clock).",
    )
    sorts = models.JSONField(
        default=dict, blank=True, help_text='Per table: {"col": <column>, "dir": "asc"|"desc"}.'
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "display preferences"
        verbose_name_plural = "display preferences"

    def __str__(self) -> str:
        return f"display preferences of user {self.user_id}"
