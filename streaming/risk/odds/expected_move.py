"""The expected move: one standard deviation of the price to a horizon, the chain page's
"±$x by expiration" (docs/streaming-contract.md, "The odds")."""

from __future__ import annotations

import math

from streaming.risk.model import DAYS_PER_YEAR


def expected_move(price: float, iv: float, days: float) -> float:
    """price * IV * √(days / 365): one sd of the price in `days` calendar days (0 once the
    horizon has passed)."""
    return price * iv * math.sqrt(max(days, 0.0) / DAYS_PER_YEAR)
