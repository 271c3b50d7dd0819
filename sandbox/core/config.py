"""Tunable knobs of the sandbox, settable at start and through the control API."""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class SandboxConfig:
    """Every number the sandbox runs by; defaults mimic the real broker."""

    seed: int = 7
    #: Lifetime of OAuth access tokens; the real API uses 900 s.
    token_lifetime: float = 900.0
    #: Price ticks per second for each active underlying symbol.
    tick_rate: float = 4.0
    #: How often the ticker wakes up to apply ticks.
    tick_interval: float = 0.05
    #: Smallest DXLink aggregation period honoured (the client asks, the server confirms).
    min_aggregation_period: float = 0.01
    #: Server KEEPALIVE interval on DXLink when idle.
    keepalive_interval: float = 30.0
    #: Close a DXLink connection whose client sent nothing for this long (0: never).
    client_keepalive_timeout: float = 60.0
    #: How often working orders are advanced (fills happen over time).
    order_step_interval: float = 1.0
    #: How often every subscribed account gets an AccountBalance push.
    balance_push_interval: float = 5.0
    #: How often a random demo order is placed per subscribed account (0: never).
    demo_order_interval: float = 0.0
    #: Whether a customer's margin account also holds what real accounts hold and its
    #: broker offers: a bracket, a stop-loss, a trailing stop, a crypto position, a future
    #: option (sandbox/core/demo_seed.py). The demo turns it on; tests start from a plain book.
    demo_holdings: bool = False
    #: How often a made-up news article about a simulated symbol is published (0: never).
    news_interval: float = 0.0
    #: Made-up articles written at start, 10 minutes apart back in time (the demo's history).
    news_backfill: int = 0
    #: Required OAuth client secret; empty accepts any non-empty secret.
    client_secret: str = ""
    #: Largest DXLink message the sandbox sends (the SDK refuses > 64 KiB).
    max_message_bytes: int = 60_000
    #: Most symbols the market will track before refusing new ones.
    max_symbols: int = 20_000
    #: First order id (fill ids count from it too). 0: the start time in microseconds, so a
    #: restarted sandbox never hands out an id of a previous run (that would take more than
    #: a million orders a second). Fixed once the sandbox starts.
    order_id_base: int = 0
    #: The sandbox's clock starts at this instant (epoch seconds) and runs on from there at
    #: real speed; 0: the real time. The market, the brokerage and every façade's dates
    #: (the market date, expirations, clocks and calendars) read it, so a run can be set on
    #: a chosen day (a holiday week, New Year's Eve). Fixed once the sandbox starts.
    start_time: float = 0.0

    # -- Tradier (sandbox/tradier/) ----------------------------------------
    #: How long a market session id may be used to *start* a stream (Tradier: 5 minutes).
    tradier_session_ttl: float = 300.0
    #: What a second concurrent stream of the same token does. Tradier forbids it but does
    #: not document the reaction (UNCONFIRMED): "kick" closes the older stream, "reject"
    #: refuses the new one.
    tradier_second_session: str = "kick"
    #: Rate-limit window (Tradier: one minute from the first request) and per-token limits
    #: per group (production 120/min; Tradier's own sandbox 60/min).
    tradier_rate_window: float = 60.0
    tradier_rate_limit_market: int = 120
    tradier_rate_limit_standard: int = 120
    #: Close a market stream that had nothing to send for this long (Tradier: 15 minutes).
    tradier_idle_close: float = 900.0
    #: Re-send the last tick of a quiet symbol this often (seen by LEAN: ~20 s; 0: never).
    tradier_idle_repeat: float = 0.0
    #: Whether streaming is available at all (disputed for Tradier's own sandbox).
    tradier_streaming: bool = True
    #: Seconds Tradier's market data lags: quotes and stream events report event times this
    #: far in the past (Tradier's own sandbox is 15-minute delayed: 900). 0: real time.
    tradier_quote_delay: float = 0.0

    # -- Alpaca (sandbox/alpaca/) ------------------------------------------
    #: A second trade-event stream of the same key: "reject" (HTTP 429, as reported for
    #: trade_updates) or "kick" (close the older one). UNCONFIRMED for the SSE endpoint.
    alpaca_second_connection: str = "reject"
    #: `:heartbeat` comment interval on idle SSE streams.
    alpaca_heartbeat_interval: float = 15.0
    #: Seconds a market data news socket may stay unauthenticated (Alpaca: 10).
    alpaca_news_auth_timeout: float = 10.0
    #: Seconds a market data crypto socket may stay unauthenticated (Alpaca: "a few").
    alpaca_crypto_auth_timeout: float = 10.0
    #: Trade events kept per key for replay (`since_id`/`since_ulid`).
    alpaca_event_retention: int = 10_000
    #: Seconds a disconnected stream still counts as connected (alpaca-py #740 saw stale
    #: connections block reconnects with 429 for a while). UNCONFIRMED.
    alpaca_stale_cleanup: float = 0.0
    #: A `since_id` older than what is retained: "retained" (send what is kept) or
    #: "error" (400). UNCONFIRMED.
    alpaca_stale_since: str = "retained"
    #: Treat a `Last-Event-ID` header like `since_id` (the documented samples show no `id:`
    #: lines at all). UNCONFIRMED.
    alpaca_honour_last_event_id: bool = False
    #: Emit `pending_new` before `new`. UNCONFIRMED.
    alpaca_pending_new_event: bool = False
    #: A fill event's `price`: "execution" (that execution's price) or "average" (the
    #: order's average fill price, which the docs' wording could also mean). UNCONFIRMED.
    alpaca_fill_price: str = "execution"
    #: Send `: internal server error` before closing a stream on error (v2 does).
    alpaca_error_comment: bool = True
    #: Per-token trading rate limit (order placement), per window.
    tradier_rate_limit_trading: int = 60

    def update(self, values: dict[str, Any]) -> list[str]:
        """Apply known keys with type coercion; returns the unknown keys."""
        known = {f.name: f.type for f in fields(self)}
        unknown = [key for key in values if key not in known]
        for key, value in values.items():
            if key in known:
                current = getattr(self, key)
                if isinstance(current, bool) and isinstance(value, str):
                    value = value.lower() in ("1", "true", "yes", "on")
                setattr(self, key, type(current)(value))
        return unknown

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the control API's state report (the secret is masked)."""
        data = asdict(self)
        data["client_secret"] = "***" if self.client_secret else ""
        return data
