"""Preview, then confirm: a ticket from the broker's dry run to one order at the broker.

`preview_order` checks the order and who may place it, asks the owner for the dry run and
stores the ticket with exactly what was previewed. `confirm_order` holds the confirm to
the key rules, the preview's lifetime and the limits, claims the ticket once
(claim.py) and has the owner place it; a confirm that lost the claim with the same key
waits for the winner's outcome, and a place whose answer was lost is reconciled at the
broker before anything is placed again (docs/streaming-contract.md "Never twice").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import BrokerLink
from streaming.cluster.agents import Agents
from streaming.contract.layer import ToOwner
from streaming.contract.trading import EntryCall, FindCall
from streaming.models import TradeTicket
from streaming.trading import claim as claims
from streaming.trading.access import Refusal, may_place, order_limits, trading_link
from streaming.trading.audit import audit_record
from streaming.trading.input import OrderInputError, TicketLinked, parse_ticket
from streaming.trading.order_json import order_json
from streaming.trading.owner import PLACE_WAIT, ask_order

Answer = tuple[int, dict[str, Any]]

#: How long a confirm that lost the claim waits for the winner's outcome (s): the
#: place's own wait and a margin.
FOLLOW_WAIT = PLACE_WAIT + 5.0
#: How often it reads the row meanwhile (s).
POLL = 0.1

audit = database_sync_to_async(audit_record)


async def _audit_ticket(
    ticket: TradeTicket,
    action: str,
    request: HttpRequest | None,
    *,
    said: Mapping[str, object] | None = None,
    outcome: str = "",
) -> None:
    """One step of a ticket in the audit trail (what the trader was shown with it)."""
    await audit(
        user_id=ticket.user_id,
        action=action,
        request=request,
        link_id=ticket.link_id,
        account=ticket.account,
        ticket=ticket.id,
        shown=ticket.words,
        said=said,
        outcome=outcome,
    )


def _refused(refusal: Refusal, **extra: Any) -> Answer:
    return refusal.status, {"error": refusal.message, "code": refusal.code, **extra}


def valid_key(key: str | None) -> bool:
    """1 to 100 printable ASCII characters."""
    return bool(key) and len(key or "") <= 100 and all(" " <= c <= "~" for c in key or "")


# -- preview ---------------------------------------------------------------------------------
def _preview_refusal(user_id: int, link_id: int, account: str) -> Refusal | BrokerLink:
    refusal = may_place(user_id, link_id)
    if refusal is not None:
        return refusal
    link = trading_link(user_id, link_id)
    if link is None or account not in (link.account_numbers or []):
        return Refusal(404, "not_found", f"No account {account} is linked to you.")
    return link


def _store_preview(
    user_id: int, link: BrokerLink, order: dict[str, Any], words: str, preview: dict[str, Any]
) -> TradeTicket:
    return TradeTicket.objects.create(
        user_id=user_id,
        link=link,
        account=order["account"],
        order=order,
        words=words,
        preview=preview,
        expires_at=timezone.now() + timedelta(seconds=float(settings.TRADING_PREVIEW_TTL)),
        replaces=order.get("replaces") or "",
    )


async def preview_order(
    agents: Agents, user_id: int, body: Any, request: HttpRequest | None
) -> Answer:
    """`POST /api/orders/preview` (an order, or a linked order): 200 `{"preview": …}` or a
    refusal in words."""
    try:
        ticket_order = parse_ticket(body)
    except OrderInputError as exc:
        return 400, {"error": exc.message, "code": exc.code}
    account = (
        ticket_order.group.account
        if isinstance(ticket_order, TicketLinked)
        else ticket_order.order.account
    )
    found = await database_sync_to_async(_preview_refusal)(user_id, ticket_order.link, account)
    if isinstance(found, Refusal):
        return await _preview_refused(
            user_id, ticket_order.link, account, request, *_refused(found)
        )
    link = found
    call: EntryCall = {
        "type": ToOwner.ORDER_REQUEST,
        "op": "preview",
        "link": link.id,
        "order": order_json(ticket_order),
    }
    reply = await ask_order(agents, user_id, call)
    status, answer = reply.status, reply.body
    if status != 200:
        return await _preview_refused(user_id, link.id, account, request, status, answer)
    # the order as the owner resolved it against the user's holdings, and its words
    shown, words = answer["order"], answer["words"]
    kept = {
        k: answer.get(k)
        for k in (
            "checks",
            "effect",
            "warnings",
            "second_confirm",
            "quote",
            "reference_price",
            "notional",
        )
    }
    ticket = await database_sync_to_async(_store_preview)(user_id, link, shown, words, kept)
    await audit(
        user_id=user_id,
        action="preview",
        request=request,
        link_id=link.id,
        account=account,
        ticket=ticket.id,
        shown=words,
        said={"checks": answer["checks"], "broker": answer.get("said") or {}},
        outcome="previewed",
    )
    return 200, {"preview": claims.preview_json(ticket, link)}


async def _preview_refused(
    user_id: int,
    link_id: int,
    account: str,
    request: HttpRequest | None,
    status: int,
    answer: Mapping[str, object],
) -> Answer:
    """A preview refused (who may trade, what the broker takes, the broker's dry run):
    answered with its sentence, and a `refused` row in the audit trail."""
    said = {"code": answer.get("code"), "error": answer.get("error")}
    await audit(
        user_id=user_id,
        action="refused",
        request=request,
        link_id=link_id,
        account=account,
        said=said,
        outcome=f"preview {said['code']}",
    )
    return status, said


# -- confirm ---------------------------------------------------------------------------------
def _limit_refusal(user_id: int, ticket: TradeTicket) -> Refusal | None:
    """The contract's rule 6 for this ticket: its notional and the orders of the last 60 s."""
    limits = order_limits(user_id, ticket.link_id)
    raw = (ticket.preview or {}).get("notional")
    if raw is None:
        return Refusal(
            409,
            "limit_notional",
            "This order's size cannot be told without a live quote; use a limit order.",
        )
    amount = Decimal(str(raw))
    if amount > limits.max_order_notional:
        return Refusal(
            409,
            "limit_notional",
            f"This order is {amount:,.2f} US dollars, over your limit of "
            f"{limits.max_order_notional:,.2f}.",
        )
    if claims.recent_orders(user_id) >= limits.max_orders_per_minute:
        return Refusal(
            409,
            "limit_rate",
            f"At most {limits.max_orders_per_minute} orders a minute; wait a moment.",
        )
    return None


def _second_confirm_refusal(ticket: TradeTicket, second_confirm: bool) -> Refusal | None:
    """A preview that warned its stop would trigger at once is placed only on the second
    confirm (the contract's "A stop that would trigger at once")."""
    warning = (ticket.preview or {}).get("second_confirm")
    if not warning or second_confirm:
        return None
    return Refusal(409, "second_confirm", f"{warning} Confirm again to place it anyway.")


def _outcome(ticket: TradeTicket, *, first: bool = False) -> Answer:
    """What a confirm answers for a ticket as it stands."""
    body = {"ticket": claims.ticket_json(ticket)}
    said = ticket.said or {}
    if ticket.state == "placed":
        return (201 if first else 200), body
    if ticket.state == "rejected":
        return 400, {"error": said.get("error"), "code": said.get("code") or "rejected", **body}
    if ticket.state == "expired":
        code = said.get("code") or "preview_expired"
        message = (
            "The quote moved since the preview; preview the order again."
            if code == "quote_moved"
            else "This preview expired; preview the order again."
        )
        return 409, {"error": message, "code": code, **body}
    return 202, body


async def confirm_order(
    agents: Agents,
    user_id: int,
    preview_id: str,
    key: str | None,
    request: HttpRequest | None,
    *,
    second_confirm: bool = False,
) -> Answer:
    """`POST /api/orders`: exactly one order per preview, whatever is resent.
    `second_confirm`: the trader confirmed a preview that asks for it a second time."""
    if not valid_key(key):
        return 400, {
            "error": "Send an Idempotency-Key header of 1 to 100 printable characters.",
            "code": "bad_idempotency_key",
        }
    assert key is not None
    db = database_sync_to_async
    ticket = await db(claims.user_ticket)(user_id, preview_id)
    if ticket is None:
        return 404, {"error": "No such preview; preview the order again.", "code": "not_found"}
    if ticket.idempotency_key is None and ticket.state == "previewed":
        refused = await _before_claim(user_id, ticket, request, second_confirm)
        if refused is not None:
            return refused
        try:
            won = await db(claims.claim)(ticket, key)
        except claims.KeyTaken:
            return 400, {
                "error": "This Idempotency-Key was sent with another order; use one per preview.",
                "code": "bad_idempotency_key",
            }
        if won:
            ticket = await db(claims.fresh)(ticket)
            await _audit_ticket(ticket, "confirm", request, outcome="claimed")
            return await _place(agents, ticket, request, reconcile=False)
        ticket = await db(claims.fresh)(ticket)
    if ticket.idempotency_key != key:
        if ticket.idempotency_key is None:
            if ticket.state == "expired":  # a new try, not a resend of a claimed one
                return await _refuse_expired(ticket, request)
            return _outcome(ticket)
        return 409, {
            "error": "This preview was already confirmed.",
            "code": "already_confirmed",
            "ticket": claims.ticket_json(ticket),
        }
    return await _follow(agents, ticket, key, request)


async def _before_claim(
    user_id: int, ticket: TradeTicket, request: HttpRequest | None, second_confirm: bool
) -> Answer | None:
    """Expiry, the second confirm, who may place, the limits: a refusal, or None to go on."""
    db = database_sync_to_async
    if ticket.expires_at <= timezone.now():
        await db(claims.expire)(ticket)
        return await _refuse_expired(await db(claims.fresh)(ticket), request)
    refusal = (
        _second_confirm_refusal(ticket, second_confirm)
        or await db(may_place)(user_id, ticket.link_id)
        or await db(_limit_refusal)(user_id, ticket)
    )
    if refusal is None:
        return None
    said = {"code": refusal.code, "error": refusal.message}
    await _audit_ticket(ticket, "refused", request, said=said, outcome=f"confirm {refusal.code}")
    return _refused(refusal)


async def _refuse_expired(ticket: TradeTicket, request: HttpRequest | None) -> Answer:
    """A confirm of an expired preview: refused in words, and a `refused` row."""
    status, body = _outcome(ticket)
    said = {"code": body["code"], "error": body["error"]}
    await _audit_ticket(ticket, "refused", request, said=said, outcome=f"confirm {said['code']}")
    return status, body


async def _follow(
    agents: Agents, ticket: TradeTicket, key: str, request: HttpRequest | None
) -> Answer:
    """A confirm with the key of an earlier one: the earlier one's outcome (waited for a
    bounded time); a lost place is claimed again, reconciled, and placed at most once."""
    db = database_sync_to_async
    deadline = time.monotonic() + FOLLOW_WAIT
    while True:
        if ticket.state in claims.SETTLED:
            return _outcome(ticket)
        if claims.stale(ticket) and await db(claims.reclaim)(ticket, key):
            return await _place(agents, await db(claims.fresh)(ticket), request, reconcile=True)
        if time.monotonic() >= deadline:
            return _outcome(ticket)
        await asyncio.sleep(POLL)
        ticket = await db(claims.fresh)(ticket)


def _place_call(ticket: TradeTicket, *, reconcile: bool) -> EntryCall:
    """The claimed ticket's place (or replace, of the order it replaces)."""
    call: EntryCall = {
        "type": ToOwner.ORDER_REQUEST,
        "op": "replace" if ticket.replaces else "place",
        "link": ticket.link_id,
        "account": ticket.account,
        "order": ticket.order,
        "client_order_id": ticket.client_order_id,
        "quote": (ticket.preview or {}).get("quote"),
        "reconcile": reconcile,
    }
    if ticket.replaces:
        call["order_id"] = ticket.replaces
    return call


def _find_call(ticket: TradeTicket) -> FindCall:
    """What the broker holds under the ticket's client order id."""
    return {
        "type": ToOwner.ORDER_REQUEST,
        "op": "find",
        "link": ticket.link_id,
        "account": ticket.account,
        "client_order_id": ticket.client_order_id,
    }


async def _place(
    agents: Agents, ticket: TradeTicket, request: HttpRequest | None, *, reconcile: bool
) -> Answer:
    """The owner places the claimed ticket (reconciling first after a lost answer); the
    outcome is stored and audited."""
    reply = await ask_order(agents, ticket.user_id, _place_call(ticket, reconcile=reconcile))
    status, answer = reply.status, reply.body
    await _settle(ticket, status, answer, request)
    return _outcome(await database_sync_to_async(claims.fresh)(ticket), first=status == 200)


async def _settle(
    ticket: TradeTicket, status: int, answer: Mapping[str, object], request: HttpRequest | None
) -> None:
    db = database_sync_to_async
    said: dict[str, Any]
    if status == 200:
        said = {"status": answer.get("status"), "broker": answer.get("said") or {}}
        await db(claims.record)(ticket, "placed", order_id=str(answer["order_id"]), said=said)
        action = "reconciled" if answer.get("reconciled") else "placed"
        outcome = f"{action} {answer['order_id']}"
    elif status == 409 and answer.get("code") == "quote_moved":
        said = {"code": "quote_moved", "error": answer.get("error")}
        await db(claims.expire)(ticket, said)
        action, outcome = "refused", "quote_moved"
    elif status in (400, 404):
        said = {
            "code": answer.get("code"),
            "error": answer.get("error"),
            "broker": answer.get("said") or {},
        }
        await db(claims.record)(ticket, "rejected", said=said)
        action, outcome = "rejected", str(answer.get("code"))
    else:
        said = {"code": answer.get("code"), "error": answer.get("error")}
        await db(claims.record)(ticket, "unknown", said=said)
        action, outcome = "unknown", str(answer.get("code"))
    await _audit_ticket(ticket, action, request, said=said, outcome=outcome)


# -- a ticket --------------------------------------------------------------------------------
async def ticket_status(
    agents: Agents, user_id: int, ticket_id: str, request: HttpRequest | None
) -> Answer:
    """`GET /api/orders/tickets/<id>`: the ticket; one whose place was lost is first
    looked up at the broker by its client order id (found: placed; nothing is placed)."""
    db = database_sync_to_async
    ticket = await db(claims.user_ticket)(user_id, ticket_id)
    if ticket is None:
        return 404, {"error": "No such ticket.", "code": "not_found"}
    key = ticket.idempotency_key
    if key and claims.stale(ticket) and await db(claims.reclaim)(ticket, key):
        reply = await ask_order(agents, user_id, _find_call(ticket))
        status, answer = reply.status, reply.body
        if status == 200:
            await _settle(ticket, status, answer, request)
        else:
            await db(claims.record)(
                ticket,
                "unknown",
                said={"code": answer.get("code"), "error": answer.get("error")},
            )
        ticket = await db(claims.fresh)(ticket)
    return 200, {"ticket": claims.ticket_json(ticket)}
