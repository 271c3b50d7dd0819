"""A ticket's row, claimed once: the database half of "never twice".

A preview is claimed in one UPDATE (`previewed → placing` with the confirm's key), so
of any number of parallel confirms exactly one wins; a ticket left `placing` past
`CLAIM_TIMEOUT` (its owner died) or `unknown` (the answer was lost) is claimed again by
one confirm (`attempts` + 1), which reconciles at the broker before placing. Sync (ORM);
tickets.py calls these through `database_sync_to_async`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import BrokerLink
from streaming.models import TradeTicket
from streaming.trading.owner import PLACE_WAIT
from streaming.trading.shapes import PreviewJson, TicketJson

#: A ticket `placing` this long (s) lost its owner: the place's own wait and a margin.
CLAIM_TIMEOUT = PLACE_WAIT + 10.0
#: States a ticket ends in.
SETTLED = frozenset({"placed", "rejected", "expired"})


class KeyTaken(Exception):
    """The idempotency key already names another ticket of the user."""


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def ticket_json(ticket: TradeTicket, link: BrokerLink | None = None) -> TicketJson:
    """The contract's `ticket`."""
    link = link or ticket.link
    return {
        "id": str(ticket.id),
        "preview_id": str(ticket.id),
        "state": ticket.state,
        "order_id": ticket.order_id or None,
        "link": ticket.link_id,
        "account": ticket.account,
        "broker": link.broker,
        "words": ticket.words,
        "said": ticket.said,
        "placed_at": _ms(ticket.placed_at),
        "replaces": ticket.replaces or None,
    }


def preview_json(ticket: TradeTicket, link: BrokerLink) -> PreviewJson:
    """The contract's `preview`."""
    preview = ticket.preview
    return {
        "id": str(ticket.id),
        "expires_at": _ms(ticket.expires_at),
        "words": ticket.words,
        "order": ticket.order,
        "link": link.id,
        "account": ticket.account,
        "broker": link.broker,
        "label": link.label,
        "effect": preview.get("effect"),
        "warnings": preview.get("warnings", []),
        "second_confirm": bool(preview.get("second_confirm")),
        "checks": preview.get("checks"),
        "quote": preview.get("quote"),
        "simulated": link.is_simulated,
    }


def user_ticket(user_id: int, ticket_id: str) -> TradeTicket | None:
    try:
        key = UUID(str(ticket_id))
    except ValueError:
        return None
    return TradeTicket.objects.select_related("link").filter(pk=key, user_id=user_id).first()


def claim(ticket: TradeTicket, key: str) -> bool:
    """`previewed → placing` under `key` in one UPDATE: True for exactly one caller."""
    try:
        won = TradeTicket.objects.filter(pk=ticket.pk, state="previewed").update(
            state="placing",
            idempotency_key=key,
            claimed_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
    except IntegrityError:
        raise KeyTaken from None
    return won == 1


def reclaim(ticket: TradeTicket, key: str) -> bool:
    """Claim a ticket of `key` again when its place was lost (`unknown`, or `placing`
    past `CLAIM_TIMEOUT`): True for exactly one caller, who reconciles first."""
    stale = timezone.now() - timedelta(seconds=CLAIM_TIMEOUT)
    won = (
        TradeTicket.objects.filter(pk=ticket.pk, idempotency_key=key)
        .filter(Q(state="unknown") | Q(state="placing", claimed_at__lt=stale))
        .update(state="placing", claimed_at=timezone.now(), attempts=F("attempts") + 1)
    )
    return won == 1


def expire(ticket: TradeTicket, said: Mapping[str, object] | None = None) -> None:
    """A preview too old (or whose quote moved) can never be placed."""
    TradeTicket.objects.filter(pk=ticket.pk, state__in=("previewed", "placing")).update(
        state="expired", said=said or {"code": "preview_expired"}
    )


def record(
    ticket: TradeTicket, state: str, *, order_id: str = "", said: Mapping[str, object]
) -> None:
    """The place's outcome (only onto a ticket still `placing`: never over a settled one)."""
    settled = TradeTicket.objects.filter(pk=ticket.pk, state="placing")
    if state == "placed":
        settled.update(state=state, said=said, order_id=order_id, placed_at=timezone.now())
    else:
        settled.update(state=state, said=said)


def fresh(ticket: TradeTicket) -> TradeTicket:
    return TradeTicket.objects.select_related("link").get(pk=ticket.pk)


def stale(ticket: TradeTicket) -> bool:
    """Whether a ticket's place was lost: `unknown`, or `placing` past the timeout."""
    if ticket.state == "unknown":
        return True
    cutoff = timezone.now() - timedelta(seconds=CLAIM_TIMEOUT)
    return (
        ticket.state == "placing" and ticket.claimed_at is not None and ticket.claimed_at < cutoff
    )


def recent_orders(user_id: int) -> int:
    """The user's orders sent to a broker in the last 60 s (the rate limit counts these)."""
    since = timezone.now() - timedelta(seconds=60)
    return TradeTicket.objects.filter(
        user_id=user_id, claimed_at__gte=since, state__in=("placing", "placed", "unknown")
    ).count()
