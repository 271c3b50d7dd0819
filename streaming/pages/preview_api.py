"""`POST /api/orders/preview`: the trading feature's preview (trading/views.py), and for an
order that opens options the odds of the position it opens (`preview.odds`,
docs/streaming-contract.md "The roll picker"): its opening legs as one strategy, each at
its mid, sigma from their chain IVs (risk/odds/opening.py, as a roll row's POP). The chain is
the quote-source link's (chains/owner.py `ask_chain`), so this composes two features."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.brokers.values import now_ms
from streaming.chains.owner import ask_chain
from streaming.cluster.agents import agents_of
from streaming.contract.layer import ToOwner
from streaming.instruments.instrument import Instrument, parse
from streaming.portfolio.expected_move import close_of
from streaming.risk.legs import Leg
from streaming.risk.odds.opening import opening_odds
from streaming.trading.views import preview_view as trading_preview

OPENS = {"Buy to Open": 1.0, "Sell to Open": -1.0}
NO_CHAIN = "The chain of {u} on {day} could not be read, so its odds are unknown."
NOT_LISTED = "{name} is not in the chain's strikes around the money, so its odds are unknown."
#: The strike window read around the money for the legs' mids and IVs.
STRIKES = 40


def _opening(order: Mapping[str, Any]) -> list[tuple[Instrument, float]]:
    """The order's opening equity option legs (instrument, signed quantity)."""
    legs = order.get("legs")
    if legs is None and isinstance(order.get("trigger"), Mapping):
        legs = order["trigger"].get("legs")
    found = []
    for leg in legs or ():
        instrument = parse(str(leg.get("symbol") or ""))
        sign = OPENS.get(str(leg.get("action")))
        if instrument is None or sign is None or not instrument.kind.is_option:
            continue
        if instrument.expires is None or instrument.strike is None or "/" in instrument.root:
            continue
        found.append((instrument, sign * float(leg.get("quantity") or 0)))
    return found


async def order_odds(request: HttpRequest, user_id: int, order: Mapping[str, Any]) -> Any:
    """`preview.odds`: `{probability_of_profit, pop_inputs, pop_note, breakevens}`; None
    for an order that opens no option."""
    opening = _opening(order)
    if not opening:
        return None
    agents = agents_of(request)
    legs: list[Leg] = []
    price = None
    for instrument, quantity in opening:
        assert instrument.expires is not None and instrument.strike is not None
        day = instrument.expires.isoformat()
        right: Literal["call", "put"] = "call" if instrument.right == "C" else "put"
        status, answer = await ask_chain(
            agents,
            user_id,
            {
                "type": ToOwner.CHAIN_REQUEST,
                "kind": "chain",
                "symbol": instrument.underlying,
                "expiration": day,
                "strikes": STRIKES,
                "live": [right],
            },
        )
        chain: dict[str, Any] = dict(answer)
        if status != 200:
            return _note(NO_CHAIN.format(u=instrument.underlying, day=day))
        side = next(
            (
                r[right]
                for r in chain.get("rows") or ()
                if abs(float(r["strike"]) - float(instrument.strike)) < 1e-6
            ),
            None,
        )
        if side is None:
            return _note(NOT_LISTED.format(name=instrument.display))
        price = chain.get("underlying_price")
        legs.append(
            Leg(
                account=str(order.get("account")),
                symbol=instrument.symbol,
                underlying=instrument.underlying,
                kind=right,
                quantity=quantity,
                multiplier=float(chain.get("multiplier") or 100),
                strike=float(instrument.strike),
                expiration=instrument.expires,
                expires_at=close_of(instrument.expires),
                cost=side.get("mark"),
                iv=side.get("iv"),
                greeks={"delta": side.get("delta"), "gamma": None, "theta": None, "vega": None},
            )
        )
    now = dt.datetime.fromtimestamp(now_ms() / 1000, dt.UTC)
    odds = opening_odds(legs, price, now=now, rate=float(settings.RISK_INTEREST_RATE))
    return odds


def _note(sentence: str) -> dict[str, Any]:
    return {
        "probability_of_profit": None,
        "pop_inputs": None,
        "pop_note": sentence,
        "breakevens": None,
    }


def _posted_order(request: HttpRequest) -> Mapping[str, Any]:
    """The order the request posts, as far as its legs can be read ({} otherwise: the
    trading preview answers bad input in its own words)."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def preview_view(request: HttpRequest) -> HttpResponse:
    """The trading feature's preview; a previewed order gains `preview.odds`. The odds'
    chains are read while the broker's dry run runs, not after it: the preview's time to
    confirm starts when it is made."""
    user = await request.auser()
    odds = None
    if user.is_authenticated and user.pk is not None and request.method == "POST":
        odds = asyncio.ensure_future(_odds_or_note(request, user.pk, _posted_order(request)))
    try:
        response = await trading_preview(request)
    except BaseException:
        if odds is not None:
            odds.cancel()
        raise
    if odds is None:
        return response
    if response.status_code != 200:
        odds.cancel()  # refused: no odds to say
        return response
    body = json.loads(response.content)
    body["preview"]["odds"] = await odds
    return JsonResponse(body, status=200)


async def _odds_or_note(request: HttpRequest, user_id: int, order: Mapping[str, Any]) -> Any:
    """`order_odds` of the posted order; None where its legs cannot be read (a quantity
    that is no number: the preview refuses such an order in its own words)."""
    try:
        return await order_odds(request, user_id, order)
    except (TypeError, ValueError):
        return None
