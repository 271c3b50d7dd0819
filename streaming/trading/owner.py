"""How trading reaches the user's stream owner: one question, `order.request`.

The owner holds the broker sessions, so every order-entry step runs there
(`OrderDesk.answer`, registered for `ToOwner.ORDER_REQUEST` by streaming/node.py): find the
link's adapter, attach the live quote, hold a place to the preview's quote band, and place
at most once — a place asked again while one is in flight joins it, a finished one is
answered from memory, and a ticket claimed before (`reconcile`) is looked up at the
broker by its client order id before anything is placed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast, get_args

import orjson
from django.conf import settings

from streaming.brokers.errors import describe as describe_error
from streaming.brokers.errors import unanswered
from streaming.brokers.orders.entry import (
    LinkedOrder,
    OrderRefused,
    OrderRequest,
    PlaceResult,
    PreviewResult,
    SupportsOrders,
)
from streaming.cluster.agents import PAGE_OWNER_WAIT, Agents
from streaming.contract.layer import ToTab
from streaming.contract.trading import (
    EntryStep,
    ManageStep,
    OrderCall,
    OrderReply,
    OrderStep,
)
from streaming.trading import price_guard
from streaming.trading.broker_rules import check_linked_supported, check_supported
from streaming.trading.input import OrderInputError, TicketLinked, TicketOrder, parse_ticket
from streaming.trading.order_json import order_json
from streaming.trading.price_guard import Verdict
from streaming.trading.quote import far_side, net_quote, notional, quote_moved, stop_at_once
from streaming.trading.shapes import CancelOutcome, FailedCancel, NetQuote
from streaming.trading.words import describe, describe_linked

if TYPE_CHECKING:
    from streaming.cluster.layer import Message
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: How long the web side waits for a preview, cancel or list (a broker round trip or two).
ORDER_WAIT = 15.0
#: Every step but a place is asked again after this long without an answer (the owner
#: moved: a new owner's control channel may not have existed when it was first sent).
ORDER_REASK = 4.0
#: How long it waits for a place; never asked again on silence (`reask` = `within`): a
#: place whose answer is lost is reconciled, not re-sent.
PLACE_WAIT = 20.0
#: How long a preview waits for the first quote of a symbol it just subscribed.
QUOTE_WAIT = 2.0
#: Finished places remembered per process (a re-asked place answers from here).
REMEMBERED = 2000


@dataclass(frozen=True)
class Answer:
    """An order step's answer: its HTTP status and its JSON body (the contract's)."""

    status: int
    body: Mapping[str, Any]


#: The steps that place (never asked again on silence: a lost answer is reconciled).
PLACING: frozenset[OrderStep] = frozenset({"place", "replace"})


async def ask_order(agents: Agents, user_id: int, call: OrderCall) -> Answer:
    """One order-entry step at the user's owner; 504 `timeout` when nobody answered (for
    a place: the outcome is unknown, reconciled later)."""
    places = call["op"] in PLACING
    within = PLACE_WAIT if places else ORDER_WAIT
    reask = within if places else ORDER_REASK
    reply = await agents.ask_owner(user_id, call, within=within, reask=reask)
    if reply is None:
        return _refused(504, "timeout", "The stream did not answer in time; try again.")
    return Answer(int(reply["status"]), orjson.loads(reply["text"]))


def _refused(status: int, code: str, message: str, **extra: Any) -> Answer:
    return Answer(status, {"error": message, "code": code, **extra})


def _placed(result: PlaceResult, *, reconciled: bool = False) -> Answer:
    return Answer(
        200,
        {
            "order_id": str(result.order_id),
            "status": result.status,
            "said": result.said,
            "reconciled": reconciled,
        },
    )


class PlaceOnce:
    """Places at most once per key in this process: a second ask while one runs joins it;
    one after it finished gets its answer. An unknown outcome (504) is not remembered: the
    next ask reconciles at the broker."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self.remembered = remembered
        self._in_flight: dict[str, asyncio.Future[Answer]] = {}
        self._finished: OrderedDict[str, Answer] = OrderedDict()

    async def __call__(self, key: str, place: Callable[[], Awaitable[Answer]]) -> Answer:
        if key in self._finished:
            return self._finished[key]
        running = self._in_flight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await place()
        except BaseException as exc:
            answer = _refused(504, "unknown", "The broker's answer was lost; the order is checked.")
            future.set_result(answer)
            if not isinstance(exc, Exception):
                raise
            log.warning("place %s failed: %r", key, exc)
            return answer
        finally:
            self._in_flight.pop(key, None)
        future.set_result(answer)
        if answer.status != 504:
            self._finished[key] = answer
            while len(self._finished) > self.remembered:
                self._finished.popitem(last=False)
        return answer


class OrderDesk:
    """The owner's order entry in this process (the node's: streaming/node.py): answers
    `order.request`, placing at most once per ticket."""

    def __init__(self) -> None:
        self.places = PlaceOnce()

    async def answer(self, manager: UserStreamManager, request: Message, left: float) -> OrderReply:
        """The owner's side of `order.request` (a just-started manager gets a moment
        first)."""
        await manager.wait_ready(within=min(left, PAGE_OWNER_WAIT))
        try:
            answer = await _answer(manager, request, self.places)
        except Exception:
            log.exception("user %s: order request failed", manager.user_id)
            answer = _refused(500, "server_error", "The order step failed on the server.")
        text = orjson.dumps(dict(answer.body)).decode()
        return {"type": ToTab.ORDER_REPLY, "status": answer.status, "text": text}


_ENTRY_STEPS: frozenset[str] = frozenset(get_args(EntryStep))


async def _answer(manager: UserStreamManager, request: Message, places: PlaceOnce) -> Answer:
    link_id = int(request.get("link") or 0)
    adapter = manager.adapters.get(link_id)
    if adapter is None:
        return _refused(404, "not_found", "No such broker link is linked to you.")
    if not isinstance(adapter, SupportsOrders):
        return _refused(400, "unsupported", "This broker link does not take orders here yet.")
    op = str(request.get("op"))
    manage = _MANAGE.get(op)
    if manage is not None:
        if op == "cancel" and not request.get("account"):
            account = order_account(manager, link_id, request.get("order_id"))
            accounts = list(request.get("accounts") or [])
            if not account and len(accounts) == 1:
                account = accounts[0]
            if not account:
                return _refused(
                    404,
                    "not_found",
                    f"Order {request.get('order_id')} is not in the stream yet; name its account.",
                )
            request = {**request, "account": account}
        return await _managed(adapter, op, request, manage)
    if op not in _ENTRY_STEPS:
        return _refused(400, "bad_order", f"Unknown order step {op!r}.")
    step = cast(EntryStep, op)
    broker = manager.links[link_id].broker
    try:
        ticket = parse_ticket(request.get("order"), manager.state.instrument_book().resolve)
        if isinstance(ticket, TicketLinked):
            check_linked_supported(broker, ticket.group)
        else:
            check_supported(broker, ticket.order)
    except OrderInputError as exc:
        return _refused(400, exc.code, exc.message)
    if isinstance(ticket, TicketLinked):
        return await _answer_linked(manager, adapter, step, ticket, request, places)
    order = ticket.order
    quote = await _live_quote(manager, order)
    order = replace(
        order,
        client_order_id=str(request.get("client_order_id") or ""),
        reference_price=far_side(order, quote),
    )
    verdict = _guard(manager, (order,))
    if verdict.refused is not None:
        return _refused(409, "stale_quote", verdict.refused)
    if step == "preview":
        return await _preview(manager, adapter, replace(ticket, order=order), quote, verdict)
    if quote_moved(order, request.get("quote"), quote, settings.TRADING_QUOTE_BAND):
        return _refused(
            409, "quote_moved", "The quote moved since the preview; preview the order again."
        )
    key = f"{manager.user_id}:{order.client_order_id}"
    replaces = str(request.get("order_id") or ticket.replaces or "") if step == "replace" else None
    return await places(key, lambda: _place(adapter, order, request, replaces))


async def _answer_linked(
    manager: UserStreamManager,
    adapter: SupportsOrders,
    step: EntryStep,
    ticket: TicketLinked,
    request: Message,
    places: PlaceOnce,
) -> Answer:
    """A linked order's preview or place: every member tagged with the group's client
    order id and priced at the first member's live quote (one symbol)."""
    group = ticket.group
    quote = await _live_quote(manager, group.first)
    cid = str(request.get("client_order_id") or "")

    def tagged(order: OrderRequest) -> OrderRequest:
        return replace(order, client_order_id=cid, reference_price=far_side(order, quote))

    group = replace(
        group,
        client_order_id=cid,
        trigger=None if group.trigger is None else tagged(group.trigger),
        orders=tuple(tagged(order) for order in group.orders),
    )
    verdict = _guard(manager, group.members)
    if verdict.refused is not None:
        return _refused(409, "stale_quote", verdict.refused)
    if step == "preview":
        try:
            result = group.preview_of(await adapter.preview_linked(group))
        except Exception as exc:
            return _preview_failed(manager, exc)
        shown = replace(ticket, group=group)
        words = describe_linked(group, result)
        return _previewed(manager, shown, group.first, group.members, quote, result, verdict, words)
    if step == "replace":
        return _refused(
            400, "unsupported", "A linked order is not replaced: cancel it and place a new one."
        )
    if quote_moved(group.first, request.get("quote"), quote, settings.TRADING_QUOTE_BAND):
        return _refused(
            409, "quote_moved", "The quote moved since the preview; preview the order again."
        )
    key = f"{manager.user_id}:{cid}"
    return await places(key, lambda: _place_linked(adapter, group, request))


def order_account(manager: UserStreamManager, link_id: int, order_id: Any) -> str:
    """The account an order of the link is in, as the stream knows it ("" if not: a cancel
    without an account falls back to the link's only account, else is refused)."""
    for (link, known), order in reversed(manager.state.orders.items()):
        if link == link_id and str(known) == str(order_id):
            return str(order.get("account") or "")
    return ""


async def _live_quote(manager: UserStreamManager, order: OrderRequest) -> NetQuote | None:
    """The order's quote from the stream; its symbols are subscribed (for a preview's
    lifetime and a margin) so that the confirm finds the quote still moving."""
    symbols = sorted(leg.symbol for leg in order.legs)
    ttl = float(settings.TRADING_PREVIEW_TTL) + 60.0
    manager.set_tab_symbols(f"trading:{','.join(symbols)}", symbols, ttl=ttl)
    deadline = time.monotonic() + QUOTE_WAIT
    quote = net_quote(order, manager.state.quotes)
    while quote is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        quote = net_quote(order, manager.state.quotes)
    return quote


def _guard(manager: UserStreamManager, members: tuple[OrderRequest, ...]) -> Verdict:
    """The price guard on these members, against each instrument's own live quote."""
    return price_guard.check(
        members, manager.state.quotes, manager.feed.quote_live, settings.TRADING_PRICE_WARN
    )


async def _preview(
    manager: UserStreamManager,
    adapter: SupportsOrders,
    ticket: TicketOrder,
    quote: NetQuote | None,
    verdict: Verdict,
) -> Answer:
    order = ticket.order
    try:
        result = await adapter.preview_order(order)
    except Exception as exc:
        return _preview_failed(manager, exc)
    words = describe(order, result)
    return _previewed(manager, ticket, order, (order,), quote, result, verdict, words)


def _preview_failed(manager: UserStreamManager, exc: Exception) -> Answer:
    """A dry run that failed, in words: the broker's refusal, its silence, or the error."""
    if isinstance(exc, OrderRefused):
        return _refused(exc.status, exc.code, str(exc), said=exc.said)
    log.warning("user %s: preview failed: %r", manager.user_id, exc, exc_info=exc)
    if unanswered(exc):
        return _refused(504, "timeout", "The broker did not answer the preview; try again.")
    # anything else is said as it is: a preview places nothing, so no outcome is unknown
    return _refused(502, "broker_error", f"The preview failed: {describe_error(exc)}")


def _previewed(
    manager: UserStreamManager,
    ticket: TicketOrder | TicketLinked,
    first: OrderRequest,
    members: tuple[OrderRequest, ...],
    quote: NetQuote | None,
    result: PreviewResult,
    verdict: Verdict,
    words: str,
) -> Answer:
    """A preview's answer: the order as resolved (each leg by its contract symbol), the
    words the trader confirms, the dry run's effect, the warnings (the broker's, the price
    guard's, a stop that would trigger at once) and which of them need the second confirm,
    and the notional the limits check (the largest member's)."""
    at_once = [w for w in (stop_at_once(m, manager.state.quotes) for m in members) if w]
    warnings = [*result.warnings, *verdict.warnings, *at_once]
    amounts = [notional(m, manager.state.quotes) for m in members]
    amount = None if any(a is None for a in amounts) else max(a for a in amounts if a is not None)
    return Answer(
        200,
        {
            "order": order_json(ticket),
            "words": words,
            "checks": result.checks,
            "effect": {
                "cost": result.cost,
                "fees": result.fees,
                "buying_power_before": result.buying_power_before,
                "buying_power_after": result.buying_power_after,
                "buying_power_kind": result.buying_power_kind,
                "margin_change": result.margin_change,
            },
            "warnings": warnings,
            "second_confirm": " ".join([*verdict.confirm, *at_once]) or None,
            "quote": quote,
            "reference_price": None
            if first.reference_price is None
            else str(first.reference_price),
            "notional": None if amount is None else str(amount),
            "said": result.said,
        },
    )


async def _reconciled(
    adapter: SupportsOrders, account: str, client_order_id: str, request: Message
) -> Answer | None:
    """Before a place: a refusal without a client order id; when asked to reconcile, what
    the broker holds under it (found: that order or group, nothing is placed; its list
    unreadable: unknown). None: go on and place."""
    if not client_order_id:
        return _refused(400, "bad_order", "An order is placed only with its client order id.")
    if not request.get("reconcile"):
        return None
    try:
        found = await adapter.find_order(account, client_order_id)
    except Exception as exc:
        log.warning("reconcile %s failed: %r", client_order_id, exc)
        return _refused(504, "unknown", "The broker's order list could not be read.")
    return None if found is None else _placed(found, reconciled=True)


async def _sent(call: Awaitable[PlaceResult]) -> Answer:
    """A place, replace or group's answer: placed, or the broker's refusal in words."""
    try:
        result = await call
    except OrderRefused as exc:
        return _refused(exc.status, exc.code, str(exc), said=exc.said)
    return _placed(result)


async def _place(
    adapter: SupportsOrders, order: OrderRequest, request: Message, replaces: str | None
) -> Answer:
    """Reconcile first when asked (found: that order, nothing placed), then place once."""
    before = await _reconciled(adapter, order.account, order.client_order_id, request)
    if before is not None:
        return before
    if replaces is not None:
        return await _sent(adapter.replace_order(replaces, order))
    return await _sent(adapter.place_order(order))


async def _place_linked(adapter: SupportsOrders, group: LinkedOrder, request: Message) -> Answer:
    """Reconcile first when asked (found: that group, nothing placed), then place once."""
    before = await _reconciled(adapter, group.account, group.client_order_id, request)
    if before is not None:
        return before
    return await _sent(adapter.place_linked(group))


async def _cancel(adapter: SupportsOrders, account: str, request: Message) -> Answer:
    result = await adapter.cancel_order(account, str(request.get("order_id") or ""))
    return Answer(
        200, {"order_id": str(result.order_id), "status": result.status, "said": result.said}
    )


async def _working(adapter: SupportsOrders, account: str, request: Message) -> Answer:
    return Answer(200, {"order_ids": [str(i) for i in await adapter.working_orders(account)]})


async def _find(adapter: SupportsOrders, account: str, request: Message) -> Answer:
    found = await adapter.find_order(account, str(request.get("client_order_id") or ""))
    if found is None:
        return _refused(404, "not_found", "The broker has no such order.")
    return _placed(found, reconciled=True)


async def _cancel_all(adapter: SupportsOrders, account: str, request: Message) -> Answer:
    accounts = list(request.get("accounts") or ([account] if account else []))
    return Answer(200, await cancel_every(adapter, accounts))


Manage = Callable[[SupportsOrders, str, "Message"], Awaitable[Answer]]
#: The steps that manage what the broker holds, each by its own function.
_MANAGE: dict[str, Manage] = {
    "cancel": _cancel,
    "working": _working,
    "cancel_all": _cancel_all,
    "find": _find,
}
assert set(_MANAGE) == set(get_args(ManageStep)), "a managing step without its function"


async def _managed(adapter: SupportsOrders, op: str, request: Message, manage: Manage) -> Answer:
    """Cancels, the working-order list and a lookup by client order id: no quote, no
    band, no second factor."""
    account = str(request.get("account") or "")
    try:
        return await manage(adapter, account, request)
    except OrderRefused as exc:
        return _refused(exc.status, exc.code, str(exc), said=exc.said)
    except Exception as exc:
        log.warning("order %s at link %s failed: %r", op, request.get("link"), exc)
        return _refused(504, "timeout", "The broker did not answer; try again.")


async def cancel_every(adapter: SupportsOrders, accounts: list[str]) -> CancelOutcome:
    """Cancel every working order of these accounts: `{cancelled, failed, error}`."""
    cancelled: list[str] = []
    failed: list[FailedCancel] = []
    errors: list[str] = []
    for account in accounts:
        try:
            ids = [str(i) for i in await adapter.working_orders(account)]
        except Exception as exc:
            errors.append(f"{account}: the working orders could not be read ({exc}).")
            continue
        working = set(ids)
        done: set[str] = set()  # each once, a linked order's members with the one cancelled
        for order_id in ids:
            if order_id in done:
                continue
            try:
                result = await adapter.cancel_order(account, order_id)
            except Exception as exc:
                failed.append({"order_id": order_id, "error": str(exc) or type(exc).__name__})
                continue
            for went in (order_id, *result.with_it):
                if went in working and went not in done:
                    done.add(went)
                    cancelled.append(went)
        failed = [f for f in failed if f["order_id"] not in done]
    return {"cancelled": cancelled, "failed": failed, "error": " ".join(errors) or None}
