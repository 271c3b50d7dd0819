"""Risk in the contract: an underlying's market metrics, a portfolio limit crossed, the
limits' settings and their layer message, and the owner call for an account's P&L over a
day (docs/streaming-contract.md "Risk: market metrics and β-weighted delta", "Portfolio
limits", "P&L over the day")."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from streaming.contract.layer import OwnerCall


# -- risk: metrics --------------------------------------------------------------------------------
class Metrics(TypedDict):
    """An underlying's market metrics (docs/streaming-contract.md "Risk: market metrics
    and β-weighted delta"): each value with its source and age."""

    beta: float | None
    beta_source: Literal["tastytrade", "regression"] | None
    beta_window: str | None
    beta_as_of: int | None
    iv_index: float | None
    iv_rank: float | None  # 0-100
    iv_percentile: float | None  # 0-100
    iv_source: Literal["tastytrade"] | None
    expiration_ivs: dict[str, float]
    dividend_yield: float | None
    t: int


# -- portfolio limits: a crossing, the settings and their layer message ---------------------------
class LimitPayload(TypedDict):
    """A portfolio limit crossed (docs/streaming-contract.md "Portfolio limits")."""

    id: int
    kind: str  # "beta_delta_above" | "beta_delta_below" | "daily_loss"
    value: float
    limit: float
    at: int
    message: str


class LimitSettings(TypedDict):
    """The user's portfolio limits (`GET`/`PUT /api/risk/limits`); None: off."""

    beta_delta_min: float | None
    beta_delta_max: float | None
    daily_loss: float | None
    updated_at: int | None


class LimitsChangedRequest(TypedDict):
    """`limits.changed`: the user's limits changed; the owner reads them again."""

    type: str


# -- P&L over the day -----------------------------------------------------------------------------
class PnlHistoryRequest(OwnerCall):
    """`ToOwner.PNL_HISTORY_REQUEST`: `account`, `day` (YYYY-MM-DD); answered with a
    `PnlHistoryReply`."""

    account: str
    day: str


class PnlHistoryReply(TypedDict):
    """`ToTab.PNL_HISTORY_REPLY`: `points` ([ms, net liq], ascending), or `error` (a sentence;
    "unsupported" when the account's broker keeps no balance history)."""

    type: str
    points: NotRequired[list[list[float]]]
    error: NotRequired[str]
