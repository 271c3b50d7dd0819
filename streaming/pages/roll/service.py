"""The roll picker's answer (docs/streaming-contract.md, "The roll picker"): the position
read from the user's snapshot, the next four expirations' chains from the quote-source
link (chains/owner.py `ask_chain`, their options subscribed and awaited: greeks stream at
tastytrade), three choices a day (choices.py), each row priced at mid with the new
position's odds (rows.py), and the broker's own dry run of each row's order for its
buying-power effect (trading/owner.py `ask_order`, `op: "preview"`: nothing is stored,
nothing audited, nothing placed).

It composes chains, risk and trading, so it lives with the pages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from streaming.brokers.values import now_ms
from streaming.chains.owner import ask_chain
from streaming.cluster.agents import Agents
from streaming.contract.layer import ToOwner
from streaming.contract.trading import EntryCall
from streaming.pages.roll import choices, rows
from streaming.pages.roll.found import account_of, position_of
from streaming.pages.roll.query import Refused, RollQuery
from streaming.portfolio.page import snapshot_for
from streaming.trading.owner import ask_order

#: Expirations offered after the position's.
EXPIRATIONS = 4
#: The strike window asked per expiration: 20 strikes either side of the money reach a
#: 0.05 delta at the sandbox's and the brokers' usual strike grids.
STRIKES = 40
NO_PREVIEW = "Alpaca previews no order: its buying-power effect is known once it is placed."
NO_NET = "Its net at mid is unknown, so its order cannot be previewed."
NOT_OFFERED = "No chain for {u} on {day}: it is not offered."
NO_LATER = "No expiration of {u} is listed after {day}: there is nowhere to roll to."
Answer = tuple[int, dict[str, Any]]


def _listed(
    chain: Mapping[str, Any], day: dt.date
) -> dict[tuple[choices.Right, float], rows.Option]:
    """The chain's options by (right, strike)."""
    found: dict[tuple[choices.Right, float], rows.Option] = {}
    for row in chain.get("rows") or ():
        for right in ("call", "put"):
            side = row[right]
            found[(right, float(row["strike"]))] = rows.Option(
                symbol=side["symbol"],
                occ=side["occ"],
                right=right,
                strike=float(row["strike"]),
                expiration=day,
                mid=side.get("mark"),
                delta=side.get("delta"),
                iv=side.get("iv"),
                quote_t=side.get("quote_t"),
            )
    return found


def _rows_of_day(
    position: rows.Position,
    chain: Mapping[str, Any],
    day: dt.date,
    target: float,
    now: dt.datetime,
    notes: list[str],
) -> list[dict[str, Any]]:
    listed = _listed(chain, day)
    offered = [choices.Listed(o.right, o.strike, o.delta) for o in listed.values()]
    held = [h for h, _ in position.held]
    price = chain.get("underlying_price")

    def net_of(strikes: choices.Strikes) -> float | None:
        opened = rows.opened_legs(position, strikes, listed)
        return None if opened is None else rows.roll_net(position, opened)

    out = []
    picked = choices.choose(held, offered, price, target, net_of)
    for choice in choices.CHOICES:
        strikes = picked[choice]
        opened = None if strikes is None else rows.opened_legs(position, strikes, listed)
        if opened is None:
            continue
        for sentence in rows.unquoted(position, opened):
            if sentence not in notes:
                notes.append(sentence)
        out.append(
            rows.row(
                position,
                choice,
                opened,
                price,
                now=now,
                rate=float(settings.RISK_INTEREST_RATE),
                stale_after=float(settings.STREAM_QUOTE_STALE_AFTER),
            )
        )
    return out


async def _dry_run(
    agents: Agents, user_id: int, link: int, account: str, broker: str, row: dict[str, Any]
) -> None:
    """The row's order at its net, previewed by the broker: its buying-power effect."""
    if broker == "alpaca":
        row["buying_power_note"] = NO_PREVIEW
        return
    net = row["net"]
    if net is None:
        row["buying_power_note"] = NO_NET
        return
    call: EntryCall = {
        "type": ToOwner.ORDER_REQUEST,
        "op": "preview",
        "link": link,
        "order": {
            "link": link,
            "account": account,
            "legs": [
                {"symbol": leg["symbol"], "action": leg["action"], "quantity": leg["quantity"]}
                for leg in row["legs"]
            ],
            "order_type": "Limit",
            "price": f"{max(abs(net), 0.01):.2f}",
            "time_in_force": "Day",
        },
    }
    answer = await ask_order(agents, user_id, call)
    if answer.status != 200:
        row["buying_power_note"] = str(answer.body.get("error") or "The broker refused it.")
        return
    change = buying_power_change(answer.body.get("effect") or {})
    if change is None:
        row["buying_power_note"] = "The broker's dry run gave no buying power."
        return
    row["buying_power_effect"] = change


def buying_power_change(effect: Mapping[str, Any]) -> float | None:
    """`after - before` of the dry run's buying power; where the broker states none
    (Tradier), what its cost and margin change take: `-(cost + margin_change)`."""
    before, after = effect.get("buying_power_before"), effect.get("buying_power_after")
    if before is not None and after is not None:
        return round(float(after) - float(before), 2) + 0.0
    cost, margin = effect.get("cost"), effect.get("margin_change")
    if cost is None or margin is None:
        return None
    fees = effect.get("fees") or 0.0
    return round(-(float(cost) + float(fees) + float(margin)), 2) + 0.0


async def _chains(
    agents: Agents, user_id: int, underlying: str, days: Sequence[str], rights: list[str]
) -> list[tuple[int, Any]]:
    return await asyncio.gather(
        *(
            ask_chain(
                agents,
                user_id,
                {
                    "type": ToOwner.CHAIN_REQUEST,
                    "kind": "chain",
                    "symbol": underlying,
                    "expiration": day,
                    "strikes": STRIKES,
                    "live": rights,
                },
            )
            for day in days
        )
    )


async def roll_candidates(agents: Agents, user_id: int, query: RollQuery) -> Answer:
    """`GET /api/roll/candidates`: (status, body)."""
    found, _ = await snapshot_for(agents, user_id)
    snapshot = dict(found)
    try:
        account = account_of(snapshot, query.account)
        position = position_of(snapshot, account, query)
    except Refused as exc:
        return exc.status, {"error": exc.sentence, "code": exc.code}
    status, answer = await ask_chain(
        agents,
        user_id,
        {"type": ToOwner.CHAIN_REQUEST, "kind": "expirations", "symbol": position.underlying},
    )
    listed: dict[str, Any] = dict(answer)
    if status != 200:
        return status, listed
    held_day = max(o.expiration for _, o in position.held)
    later = [e["date"] for e in listed["expirations"] if e["date"] > held_day.isoformat()]
    days = later[:EXPIRATIONS]
    notes: list[str] = []
    if not days:
        notes.append(NO_LATER.format(u=position.underlying, day=held_day.isoformat()))
    rights: list[str] = sorted({h.right for h, _ in position.held})
    now = dt.datetime.fromtimestamp(now_ms() / 1000, dt.UTC)
    candidates: list[dict[str, Any]] = []
    for day, (code, chain) in zip(
        days, await _chains(agents, user_id, position.underlying, days, rights), strict=True
    ):
        if code == 504:
            return code, dict(chain)
        if code != 200:
            notes.append(NOT_OFFERED.format(u=position.underlying, day=day))
            continue
        candidates += _rows_of_day(
            position, chain, dt.date.fromisoformat(day), query.delta, now, notes
        )
    await asyncio.gather(
        *(
            _dry_run(agents, user_id, account["link"], account["number"], account["broker"], r)
            for r in candidates
        )
    )
    times = [t for r in candidates if (t := r.pop("quoted_at")) is not None]
    return 200, {
        "position": {
            "account": account["number"],
            "broker": account["broker"],
            "link": account["link"],
            "underlying": position.underlying,
            "expiration": held_day.isoformat(),
            "legs": rows.held_legs(position),
        },
        "candidates": candidates,
        "notes": notes,
        "as_of": min(times, default=None),
        "delta": query.delta,
    }
