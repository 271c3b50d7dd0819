"""Option legs as the risk code reads them (streaming/risk/legs.py `Leg`), for tests that
build strategies by hand: one contract per call, its symbol spelled as the stream spells it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from streaming.risk.legs import Kind, Leg


def option_leg(
    kind: Kind,
    strike: float,
    qty: float,
    cost: float | None,
    expiration: dt.date,
    *,
    account: str = "A1",
    underlying: str = "XYZ",
    iv: float | None = None,
    greeks: Mapping[str, float | None] | None = None,
) -> Leg:
    """A 100-share option on `underlying` (greeks unknown unless given)."""
    return Leg(
        account=account,
        symbol=f".{underlying}{expiration:%y%m%d}{kind[0].upper()}{strike:g}",
        underlying=underlying,
        kind=kind,
        quantity=qty,
        multiplier=100.0,
        strike=strike,
        expiration=expiration,
        expires_at=None,
        cost=cost,
        iv=iv,
        greeks=dict(greeks or {"delta": None, "gamma": None, "theta": None, "vega": None}),
    )
