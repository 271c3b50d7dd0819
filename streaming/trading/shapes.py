"""The trading feature's JSON, typed: the `trading` object, a ticket and a preview, a kill
switch's or cancel-all's result per link, the audit trail's entries, and an order's net
quote (docs/streaming-contract.md "Trading"; static/js/trading/ reads them). Pure types.

`said` (the broker's words about an order step) and `order` (the contract's order JSON as
previewed) are JSON kept in the ticket's and audit's JSONFields: read back as they were
stored, so typed as the model field reads (Any).
"""

from __future__ import annotations

from typing import Any, TypedDict


class NetQuote(TypedDict):
    """An order's quote per unit (quote.net_quote): a multi-leg's net bid and ask, and the
    newest leg quote's time (None when none had one)."""

    bid: float
    ask: float
    t: int | None


class LimitsJson(TypedDict):
    """Order limits (access.OrderLimits) as the contract says them."""

    max_order_notional: float
    max_orders_per_minute: int


class TradingLink(TypedDict):
    link: int
    broker: str
    label: str
    accounts: list[str]
    #: trading is enabled on the link
    enabled: bool
    limits: LimitsJson


class TradingState(TypedDict):
    """The contract's `trading` object: on until `until` (ms), what turning it on asks for
    ("totp" or "password"), each link's switch and limits, the user's own limits."""

    on: bool
    until: int | None
    second_factor: str
    links: list[TradingLink]
    limits: LimitsJson
    killed_at: int | None


class FailedCancel(TypedDict):
    order_id: str
    error: str


class CancelOutcome(TypedDict):
    """Cancelling every working order of some accounts (owner.cancel_every)."""

    cancelled: list[str]
    failed: list[FailedCancel]
    error: str | None


class SweepResult(CancelOutcome):
    """The contract's `result`: one link's sweep (`account` None: all of its accounts)."""

    link: int
    broker: str
    label: str
    account: str | None


class KillSwitchAnswer(TypedDict):
    results: list[SweepResult]
    trading: TradingState


class TicketJson(TypedDict):
    """The contract's `ticket`."""

    id: str
    preview_id: str
    state: str
    order_id: str | None
    link: int
    account: str
    broker: str
    words: str
    said: Any
    placed_at: int | None
    replaces: str | None


class PreviewEffect(TypedDict):
    """A dry run's effect (brokers/orders/entry.PreviewResult), in dollars; null unknown."""

    cost: float | None
    fees: float | None
    buying_power_before: float | None
    buying_power_after: float | None
    #: "equity" (stock), "derivative" (options, futures), None: the broker's one figure
    buying_power_kind: str | None
    margin_change: float | None


class PreviewJson(TypedDict):
    """The contract's `preview`: the order as previewed, the words to confirm, the dry
    run's effect, warnings, checks and quote, until `expires_at` (ms)."""

    id: str
    expires_at: int | None
    words: str
    order: Any
    link: int
    account: str
    broker: str
    label: str
    effect: PreviewEffect | None
    warnings: list[str]
    second_confirm: bool
    #: "broker" (the broker's own dry run) or "app" (checks made here)
    checks: str | None
    quote: NetQuote | None
    simulated: bool


class AuditEntry(TypedDict):
    """The contract's audit `entry`."""

    id: int
    at: int
    action: str
    #: who acted ("" the user; staff by username)
    user: str
    link: int | None
    link_label: str
    account: str
    ticket: str | None
    ip: str | None
    session: str
    shown: str
    said: Any
    outcome: str


class AuditPage(TypedDict):
    """`GET /api/trading/audit`: newest first; `next` the `before` of the next page."""

    entries: list[AuditEntry]
    next: int | None
