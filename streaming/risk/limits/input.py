"""A `PUT /api/risk/limits` body, checked: every refusal is a sentence for the trader.

Pure (no database): the views merge what this returns with what is stored and check the
band's order on the merge (`check_band`), docs/streaming-contract.md "Portfolio limits".
"""

from __future__ import annotations

import math
from typing import Any, Literal

#: The limits a user sets (LimitSettings' fields but `updated_at`).
LimitField = Literal["beta_delta_min", "beta_delta_max", "daily_loss"]
FIELDS: tuple[LimitField, ...] = ("beta_delta_min", "beta_delta_max", "daily_loss")
#: The band's bounds (SPY shares) and the loss limit (dollars) are at most this large.
MAX_BETA_DELTA = 10_000_000.0
MAX_DAILY_LOSS = 1_000_000_000.0
MAX_BODY_BYTES = 4096


class LimitInputError(ValueError):
    """A body the API refuses (400), with the sentence it answers."""


def _number(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LimitInputError(f"{name} must be a number or null, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise LimitInputError(f"{name} must be a finite number")
    return round(number, 2)


def parse_limits(body: Any) -> dict[str, float | None]:
    """The fields a body sets (missing keys are left out: they keep their stored value)."""
    if not isinstance(body, dict):
        raise LimitInputError("the body must be a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise LimitInputError(f"unknown field {unknown[0]!r}: the limits are {', '.join(FIELDS)}")
    values: dict[str, float | None] = {
        name: _number(name, body[name]) for name in FIELDS if name in body
    }
    for name in ("beta_delta_min", "beta_delta_max"):
        v = values.get(name)
        if v is not None and abs(v) > MAX_BETA_DELTA:
            raise LimitInputError(f"{name} must be within ±{MAX_BETA_DELTA:,.0f} SPY shares")
    loss = values.get("daily_loss")
    if loss is not None and loss <= 0:
        raise LimitInputError("daily_loss must be a positive number of dollars (or null: off)")
    if loss is not None and loss > MAX_DAILY_LOSS:
        raise LimitInputError(f"daily_loss must be at most {MAX_DAILY_LOSS:,.0f} dollars")
    return values


def check_band(low: float | None, high: float | None) -> None:
    """The band's bounds in order (either may be open)."""
    if low is not None and high is not None and low > high:
        raise LimitInputError(
            f"beta_delta_min ({low:,.2f}) must not be greater than beta_delta_max ({high:,.2f})"
        )
