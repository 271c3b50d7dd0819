"""Portfolio limits evaluated on the portfolio's values: pure, no I/O, no clock of its own.

Given the user's limits, which of them are armed and the current values (the β-weighted
delta in SPY shares, the day P&L in dollars; None: unknown, not evaluated), `LimitBook`
proposes what changes: a breach (the value went outside while armed) or a re-arm (the
band's value came back inside by the hysteresis; the daily loss re-arms on the next
trading day instead). The book updates its own copy at once, so the next evaluation does
not propose the same change; whether a breach really happened is the database's
compare-and-set (limits/store.py), which makes it fire once in the cluster
(docs/streaming-contract.md "Portfolio limits").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS = (
    "beta_delta_above",
    "beta_delta_below",
    "daily_loss",
)
KINDS = (BETA_DELTA_ABOVE, BETA_DELTA_BELOW, DAILY_LOSS)
#: The band re-arms once the value is back inside by this fraction of the limit's
#: magnitude, and at least BAND_HYSTERESIS_MIN SPY shares.
BAND_HYSTERESIS = 0.02
BAND_HYSTERESIS_MIN = 1.0
#: Where a trading day's date is taken (the US markets' day).
MARKET_ZONE = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Limits:
    """The user's limits; None: off."""

    beta_delta_min: float | None = None
    beta_delta_max: float | None = None
    daily_loss: float | None = None

    def bound(self, kind: str) -> float | None:
        """The number a kind is checked against (for the daily loss: the loss, positive)."""
        if kind == BETA_DELTA_ABOVE:
            return self.beta_delta_max
        if kind == BETA_DELTA_BELOW:
            return self.beta_delta_min
        return self.daily_loss


@dataclass
class Armed:
    """One limit's state as stored: `armed` (the band), `day` (the daily loss: the trading
    day of its last crossing; armed on any other day)."""

    armed: bool = True
    day: dt.date | None = None


@dataclass(frozen=True)
class Values:
    """The portfolio's values now; None: unknown (that limit is not evaluated)."""

    beta_delta: float | None
    day_pnl: float | None


@dataclass(frozen=True)
class Change:
    """What the book proposes: a `breach` of `kind` at `value` against `limit`, or a `rearm`."""

    action: Literal["breach", "rearm"]
    kind: str
    value: float | None = None
    limit: float | None = None
    day: dt.date | None = None


def trading_day(now_ms: int) -> dt.date:
    """The New York date; Saturday and Sunday belong to Friday (holidays are not known)."""
    day = dt.datetime.fromtimestamp(now_ms / 1000, MARKET_ZONE).date()
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def band_hysteresis(limit: float) -> float:
    return max(BAND_HYSTERESIS_MIN, abs(limit) * BAND_HYSTERESIS)


def outside(kind: str, value: float, limit: float) -> bool:
    """Whether the value is past the limit (the daily loss: P&L at -limit or below)."""
    if kind == BETA_DELTA_ABOVE:
        return value > limit
    if kind == BETA_DELTA_BELOW:
        return value < limit
    return value <= -limit


def back_inside(kind: str, value: float, limit: float) -> bool:
    """Whether a band's value came back inside by more than the hysteresis."""
    if kind == BETA_DELTA_ABOVE:
        return value <= limit - band_hysteresis(limit)
    return value >= limit + band_hysteresis(limit)


def _shares(value: float) -> str:
    return (
        f"{value:+,.0f}".replace("-", "-")
        if abs(value) >= 10
        else f"{value:+,.1f}".replace("-", "-")
    )


def _usd(value: float) -> str:
    return f"{value:,.2f}".replace("-", "-") + " USD"


def message(kind: str, value: float, limit: float) -> str:
    """The breach's sentence, as the notification shows it."""
    if kind == BETA_DELTA_ABOVE:
        return (
            f"β-weighted delta {_shares(value)} SPY shares is above your limit of {_shares(limit)}"
        )
    if kind == BETA_DELTA_BELOW:
        return (
            f"β-weighted delta {_shares(value)} SPY shares is below your limit of {_shares(limit)}"
        )
    return f"Day P&L {_usd(value)} is past your daily loss limit of {_usd(limit)}"


@dataclass
class LimitBook:
    """One user's limits and their armed state, and their evaluation."""

    limits: Limits = field(default_factory=Limits)
    states: dict[str, Armed] = field(default_factory=dict)

    def replace(self, limits: Limits, states: dict[str, Armed]) -> None:
        """The limits and states as the database has them now (a load or an edit)."""
        self.limits = limits
        self.states = {kind: states.get(kind, Armed()) for kind in KINDS}

    def any_set(self) -> bool:
        """Whether any limit is on (a book with none has nothing to evaluate)."""
        return any(self.limits.bound(kind) is not None for kind in KINDS)

    def armed(self, kind: str, today: dt.date) -> bool:
        state = self.states.setdefault(kind, Armed())
        if kind == DAILY_LOSS:
            return state.day is None or state.day < today
        return state.armed

    def check(self, values: Values, now_ms: int) -> list[Change]:
        """The changes these values cause; the book's copy already reflects them."""
        today = trading_day(now_ms)
        changes: list[Change] = []
        for kind in KINDS:
            limit = self.limits.bound(kind)
            value = values.day_pnl if kind == DAILY_LOSS else values.beta_delta
            if limit is None or value is None:
                continue  # off, or the value is unknown: not evaluated
            state = self.states.setdefault(kind, Armed())
            if self.armed(kind, today):
                if outside(kind, value, limit):
                    state.armed, state.day = False, today
                    changes.append(Change("breach", kind, value, limit, today))
            elif kind != DAILY_LOSS and back_inside(kind, value, limit):
                state.armed = True
                changes.append(Change("rearm", kind))
        return changes
