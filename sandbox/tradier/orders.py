"""Tradier's order endpoints beyond placing: the order list and one order, `preview=true`
(the brokerage's dry run), modify (`PUT`, in place: same id) and cancel (`DELETE`), in
Tradier's answer and error shapes. Linked orders (`class=oto|oco|otoco`, tradier/linked.py)
are placed here, listed as one parent item, cancelled as a whole and never changed.

The brokerage is read through its records only (`OrderRecord`, `PlacedOrder`); what a
record's status means in Tradier's words is `ORDER_STATUS` in api.py, shared with the renderer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.records import (
    AccountEvent,
    OrderRecord,
    OrderRejected,
    PlacedOrder,
    parse_decimal,
)
from sandbox.core.symbols import parse_occ_symbol
from sandbox.tradier.api import TradierCustomer, TradierSandbox, endpoint, place_order
from sandbox.tradier.linked import (
    LINKED_CLASSES,
    linked_forms,
    linked_item,
    linked_request,
    parent_status,
)
from sandbox.tradier.multileg import MULTILEG_TYPES, multileg_preview_item
from sandbox.tradier.query import BadQuery, day, day_of, in_days, page_of
from sandbox.tradier.wire import (
    ORDER_STATUS,
    ORDER_TYPES,
    PREFIX,
    STOP_TYPES,
    TYPE_NAMES,
    collapse,
    errors,
    params,
    preview_answer,
    render,
    stop_price,
    time_in_force,
)

_TERMINAL = {"filled", "canceled", "rejected", "expired"}
#: modify's `type` on a single-leg order: Tradier's `ORDER_TYPES`, less what Tradier
#: documents for multileg orders only
_UNSUPPORTED_TYPES = {"debit", "credit", "even"}
#: one month back, as Tradier's `filter=all` defaults to
_ALL_DAYS = 31


def _status(order: OrderRecord) -> str:
    """The order's state in Tradier's words."""
    return ORDER_STATUS.get(order.status, "open")


def _include_tags(values: dict[str, str]) -> bool:
    return values.get("includeTags", "").strip().lower() == "true"


# -- list and one -----------------------------------------------------------------------
def _listed(facade: TradierSandbox, number: str, values: dict[str, str]) -> list[OrderRecord]:
    """Today's orders, or with paging/filter parameters every remembered order they select
    (as Tradier's docs say), oldest first either way."""
    brokerage = facade.sandbox.brokerage
    scope = values.get("filter", "")
    if scope not in ("", "intraday", "all"):
        raise BadQuery(f"Invalid filter {scope}: one of intraday, all")
    on_day, start, end = day(values, "date"), day(values, "start"), day(values, "end")
    paged = any(values.get(k) for k in ("page", "limit", "date", "start", "end"))
    if scope == "all" or paged:
        orders = brokerage.order_history(number)
        orders.reverse()  # oldest first, as the day's list is
        if scope == "all" and start is None:
            now = brokerage.balance(number).as_of  # the brokerage's clock
            start = day_of(now) - dt.timedelta(days=_ALL_DAYS)
    else:
        orders = brokerage.live_orders(number)
    if on_day is not None:
        start = end = on_day
    return [o for o in orders if in_days(o.received_at, start, end)]


def orders_part(request: Request, facade: TradierSandbox, number: str) -> Any:
    """One account's `orders` value (also each account's part of `/v1/user/orders`);
    BadQuery for a parameter Tradier would refuse."""
    values = dict(request.query_params)
    selected = _listed(facade, number, values)
    tags = _include_tags(values)
    items = [_entry_item(facade, number, e, tags) for e in _entries(selected)]
    if any(values.get(k) for k in ("page", "limit")):
        items = page_of(items, values, 25)
    return {"order": collapse(items)} if items else "null"


def _entries(orders: list[OrderRecord]) -> list[OrderRecord | int]:
    """The listed orders with each linked order once, as its group's id, where its first
    member is listed (its members are not listed on their own)."""
    entries: list[OrderRecord | int] = []
    seen: set[int] = set()
    for order in orders:
        if order.group_id is None:
            entries.append(order)
        elif order.group_id not in seen:
            seen.add(order.group_id)
            entries.append(order.group_id)
    return entries


def _entry_item(
    facade: TradierSandbox, number: str, entry: OrderRecord | int, tags: bool
) -> dict[str, Any]:
    if isinstance(entry, int):
        return _group_item(facade, number, entry, tags) or {}
    return facade.order_item(entry, include_tag=tags)


def _group_item(
    facade: TradierSandbox, number: str, group_id: int, tags: bool
) -> dict[str, Any] | None:
    """A linked order's parent item (every member in `leg`), or None: no such group."""
    members = facade.sandbox.brokerage.group(number, group_id)
    if not members:
        return None
    return linked_item(group_id, members, lambda o: facade.order_item(o, include_tag=tags))


async def list_orders(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    try:
        body = orders_part(request, facade, number)
    except BadQuery as exc:
        return errors(request, str(exc))
    return render(request, {"orders": body})


async def one_order(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    raw = request.path_params["order_id"]
    order = facade.sandbox.brokerage.order(number, int(raw)) if raw.isdigit() else None
    tags = _include_tags(dict(request.query_params))
    if order is None:  # a linked order's id (its group's), or nothing
        group = _group_item(facade, number, int(raw), tags) if raw.isdigit() else None
        return render(request, {"order": group or "null"})
    # a linked order's member by its own id: its own item (the parent lists it in `leg`)
    return render(request, {"order": facade.order_item(order, include_tag=tags)})


# -- preview ----------------------------------------------------------------------------
def _preview_item(facade: TradierSandbox, form: dict[str, str], placed: PlacedOrder) -> dict:
    """Tradier's preview answer from the dry run: costs from the order's leg at the price
    it would fill at now (the limit, or the far side of the quote)."""
    order, preview = placed.order, placed.preview
    leg = order.legs[0]
    option = parse_occ_symbol(leg.symbol)
    name = option.streamer_symbol if option else leg.symbol
    quote = facade.sandbox.market.quote(name)
    side = form.get("side", "")
    price = abs(order.price) if order.price is not None else None
    stop = order.stop_trigger
    if price is not None:
        fill = float(price)
    elif stop is not None:  # a stop works as a market order from its trigger on
        fill = float(stop)
    else:
        fill = quote["askPrice" if leg.is_buy else "bidPrice"]
    quantity = float(leg.quantity)
    multiplier = 100 if option else 1
    order_cost = round(fill * quantity * multiplier, 4)
    described = {
        "symbol": option.underlying if option else leg.symbol,
        "quantity": quantity,
        "side": side,
        "type": form.get("type", "market"),
        "duration": form["duration"].strip(),  # validated by the dry run's request
        "class": "option" if option else "equity",
        "strategy": "option" if option else "equity",
    }
    item = preview_answer(preview, order_cost, described)
    if price is not None:
        item["price"] = float(price)
    if stop is not None:
        item["stop_price"] = float(stop)
    if option:
        item["option_symbol"] = form.get("option_symbol", "").upper()
    return item


async def place_or_preview(
    request: Request, facade: TradierSandbox, c: TradierCustomer
) -> Response:
    """`preview=true` runs every check of a real order and places nothing."""
    form = await params(request)
    if form.get("class", "").strip() in LINKED_CLASSES:
        return await _place_linked(request, facade, c, form)
    if form.get("preview", "").strip().lower() != "true":
        return await place_order(request, facade, c)
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    try:
        request_body = facade.order_request(form)
        placed = facade.sandbox.brokerage.place_order(number, request_body, dry_run=True)
    except OrderRejected as exc:
        return errors(request, exc.message)
    if form.get("class") == "multileg":
        item = multileg_preview_item(facade.sandbox, form, placed)
    else:
        item = _preview_item(facade, form, placed)
    return render(request, {"order": item})


async def _place_linked(
    request: Request, facade: TradierSandbox, c: TradierCustomer, form: dict[str, str]
) -> Response:
    """`class=oto|oco|otoco` (tradier/linked.py): placed as one linked order of the core;
    answers the group's id, which GET, DELETE and the order list use. `preview=true` runs
    the core's dry run and answers the preview of the order that fills first."""
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    order_class = form["class"].strip()
    dry_run = form.get("preview", "").strip().lower() == "true"
    brokerage = facade.sandbox.brokerage
    try:
        forms = linked_forms(form)
        linked = linked_request(order_class, forms, facade.order_request)
        placed = brokerage.place_linked(number, linked, dry_run=dry_run)
    except OrderRejected as exc:
        return errors(request, exc.message)
    if dry_run:
        first = PlacedOrder(placed.orders[0], placed.preview)
        item = _preview_item(facade, forms[0], first)
        item.update({"class": order_class, "strategy": order_class, "num_legs": len(forms)})
        return render(request, {"order": item})
    facade.sandbox.publish([AccountEvent("Order", number, o) for o in placed.orders])
    return render(request, {"order": {"id": placed.group_id, "status": "ok"}})


# -- modify and cancel ------------------------------------------------------------------
def _working_order(
    request: Request, facade: TradierSandbox, c: TradierCustomer, verb: str
) -> OrderRecord | int | Response:
    """The account's order named in the path if it can still be `verb`ed, a linked order's
    group id when the path names one, else the refusal."""
    number = request.path_params["number"]
    if number not in c.accounts:
        return errors(request, f"Invalid account number {number}")
    raw = request.path_params["order_id"]
    order = facade.sandbox.brokerage.order(number, int(raw)) if raw.isdigit() else None
    if order is None and raw.isdigit() and facade.sandbox.brokerage.group(number, int(raw)):
        return int(raw)  # a linked order's (group) id
    if order is None:  # unknown, or another account's: the same answer
        return errors(request, f"Order {raw} not found", 404)
    if order.group_id is not None:  # a member: its linked order decides
        return order
    status = _status(order)
    if status in _TERMINAL:
        return errors(request, f"Order {raw} is {status} and cannot be {verb}")
    return order


def _changes(form: dict[str, str], order: OrderRecord) -> dict[str, Any]:
    """Tradier's modify form as `modify_order` keywords; blank fields are not sent. A
    multileg order's `type` is market, debit, credit or even (its price effect with it); a
    single-leg order's market, limit, stop or stop_limit, but a stop stays a stop kind and
    any other order not one (the brokerage changes a stop's trigger, not whether it has
    one). `stop` changes a stop's trigger."""
    form = {k: v.strip() for k, v in form.items() if v.strip()}
    multileg = len(order.legs) > 1
    current = TYPE_NAMES.get(order.order_type, order.order_type.lower())
    changes: dict[str, Any] = {}
    kind = form.get("type")
    if kind is not None and multileg:
        if kind not in MULTILEG_TYPES:
            raise BadQuery(
                f"Invalid order type {kind}: a multileg order is one of market, debit, credit, even"
            )
        changes["order_type"], changes["price_effect"] = MULTILEG_TYPES[kind]
        if kind == "even":
            form.pop("price", None)
            changes["price"] = Decimal(0)
    elif kind is not None:
        if kind in _UNSUPPORTED_TYPES:
            raise BadQuery(f"Order type {kind} is not supported")
        if kind not in ORDER_TYPES:
            raise BadQuery(f"Invalid order type {kind}")
        if (kind in STOP_TYPES) != (current in STOP_TYPES):
            raise BadQuery(
                f"Order type {kind} cannot replace {current} in place: cancel the order and "
                f"place a {kind} order"
            )
        changes["order_type"] = ORDER_TYPES[kind]
    raw_stop = form.get("stop")
    if raw_stop is not None and multileg:
        raise BadQuery(f"Invalid stop {raw_stop}: a multileg order takes none")
    stop = stop_price(raw_stop, kind or current, required=False)  # OrderRejected: 400
    if stop is not None:
        changes["stop_trigger"] = stop
    duration = form.get("duration")
    if duration is not None:
        changes["time_in_force"] = time_in_force(duration)  # as placing validates it
    raw_price = form.get("price")
    if raw_price is not None:
        price = parse_decimal(raw_price)
        if price is None or not price.is_finite() or price <= 0:
            raise BadQuery(f"Invalid price {raw_price}")
        changes["price"] = price
    if not changes:
        raise BadQuery("Nothing to change: send type, duration, price or stop")
    new_type = changes.get("order_type", order.order_type)
    if "price" in changes and new_type in ("Market", "Stop"):
        name = TYPE_NAMES[new_type]
        raise BadQuery(f"Invalid price {changes['price']}: a {name} order takes none")
    if new_type == "Stop Limit" and "price" not in changes and order.price is None:
        raise BadQuery("A stop_limit order needs a price: send price")
    return changes


def _price_effect(order: OrderRecord, price: Decimal | None) -> str | None:
    """A new limit keeps the order's side: a buy pays (debit), a sell receives; a
    multi-leg order keeps its limit's effect (none yet: the core infers it from the legs)."""
    if price is None:
        return None
    if len(order.legs) > 1:
        if order.price is None:
            return None
        return "Debit" if order.price < 0 else "Credit"
    return "Debit" if order.legs[0].is_buy else "Credit"


async def modify(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    """`PUT .../orders/{id}`: change type, duration, price or stop in place (the id stays)."""
    found = _working_order(request, facade, c, "changed")
    if isinstance(found, Response):
        return found
    if isinstance(found, int) or found.group_id is not None:
        return _linked_unchangeable(request, found)
    try:
        changes = _changes(await params(request), found)
    except BadQuery as exc:
        return errors(request, str(exc))
    except OrderRejected as exc:  # the duration or stop, refused as placing refuses them
        return errors(request, exc.message)
    number = request.path_params["number"]
    effect = changes.pop("price_effect", None) or _price_effect(found, changes.get("price"))
    try:
        modified = facade.sandbox.brokerage.modify_order(
            number, found.id or 0, price_effect=effect, **changes
        )
    except OrderRejected as exc:
        return errors(request, exc.message, 404 if exc.status == 404 else 400)
    facade.sandbox.publish([AccountEvent("Order", number, modified)])
    return render(request, {"order": {"id": modified.id, "status": "ok"}})


async def cancel(request: Request, facade: TradierSandbox, c: TradierCustomer) -> Response:
    found = _working_order(request, facade, c, "canceled")
    if isinstance(found, Response):
        return found
    number = request.path_params["number"]
    if isinstance(found, int) or found.group_id is not None:
        return _cancel_linked(request, facade, number, found)
    try:
        cancelled = facade.sandbox.brokerage.cancel_order(number, found.id or 0)
    except OrderRejected as exc:
        return errors(request, exc.message, 404 if exc.status == 404 else 400)
    facade.sandbox.publish([AccountEvent("Order", number, cancelled)])
    return render(request, {"order": {"id": cancelled.id, "status": "ok"}})


routes = [
    Route(f"{PREFIX}/v1/accounts/{{number}}/orders", endpoint(list_orders), methods=["GET"]),
    Route(f"{PREFIX}/v1/accounts/{{number}}/orders", endpoint(place_or_preview), methods=["POST"]),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/orders/{{order_id}}",
        endpoint(one_order),
        methods=["GET"],
    ),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/orders/{{order_id}}", endpoint(modify), methods=["PUT"]
    ),
    Route(
        f"{PREFIX}/v1/accounts/{{number}}/orders/{{order_id}}", endpoint(cancel), methods=["DELETE"]
    ),
]


# -- linked orders: cancelled as a whole, never changed ----------------------------------
def _linked_unchangeable(request: Request, found: OrderRecord | int) -> Response:
    """`PUT` of a linked order or of one of its members: refused in words (the core changes
    no member on its own; Tradier documents no change of an advanced order)."""
    raw = request.path_params["order_id"]
    if isinstance(found, int):
        what = f"Order {raw} is a linked order"
    else:
        kind = (found.group_kind or "").lower()
        what = f"Order {raw} is part of {kind} order {found.group_id}"
    return errors(
        request, f"{what} and cannot be changed: cancel the linked order and place it again"
    )


def _cancel_linked(
    request: Request, facade: TradierSandbox, number: str, found: OrderRecord | int
) -> Response:
    """`DELETE` of a linked order (its group id) or of one of its members: the whole group
    is cancelled (`Brokerage.cancel_group`: every member not done); answers the group id."""
    group_id = found if isinstance(found, int) else found.group_id or 0
    brokerage = facade.sandbox.brokerage
    members = brokerage.group(number, group_id)
    raw = request.path_params["order_id"]
    status = parent_status(members)
    if status in _TERMINAL:
        return errors(request, f"Order {raw} is {status} and cannot be canceled")
    try:
        cancelled = brokerage.cancel_group(number, group_id)
    except OrderRejected as exc:
        return errors(request, exc.message, 404 if exc.status == 404 else 400)
    facade.sandbox.publish([AccountEvent("Order", number, o) for o in cancelled])
    return render(request, {"order": {"id": group_id, "status": "ok"}})
