"""Order entry at Tradier (`SupportsOrders`): form posts on the link's REST client.

Tradier takes one leg per order in its form (`class=equity|option`); a multi-leg order's
form comes from `tradier/multileg.py` where that exists. The dry run is `preview=true`;
the client order id is the order's `tag` (letters, digits and `-` only). A modify keeps
the order's id. After any change the adapter's order poll is woken (`changed`: the
account polls' `order_changed`), so the new state reaches the screen from the one poll
that reports orders, at once. One of the parts the adapter holds; the adapter forwards
`SupportsOrders` to it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import orjson

from streaming.brokers.errors import BrokerHTTPError
from streaming.brokers.orders.entry import (
    LinkedOrder,
    OrderLeg,
    OrderRefused,
    OrderRequest,
    PlaceResult,
    PreviewResult,
)
from streaming.brokers.orders.refusals import refusal_code
from streaming.brokers.tradier.client import as_list
from streaming.brokers.tradier.connection import Connection
from streaming.brokers.tradier.multileg import multileg_form, net_effect
from streaming.brokers.tradier.payloads import TradierOrder
from streaming.brokers.values import num, order_status
from streaming.instruments.kinds import Kind
from streaming.instruments.rules import refusal as none_of_kind
from streaming.instruments.symbols import OPTION_STREAMER_RE, streamer_to_occ_symbol

#: The contract's actions as Tradier's sides, for stock and for options.
STOCK_SIDES = {
    "Buy to Open": "buy",
    "Sell to Close": "sell",
    "Sell to Open": "sell_short",
    "Buy to Close": "buy_to_cover",
}
OPTION_SIDES = {action: action.lower().replace(" ", "_") for action in STOCK_SIDES}
#: Statuses after which an order can no longer change (the contract's words).
FINAL = frozenset({"Filled", "Cancelled", "Expired", "Rejected", "Replaced", "Done For Day"})
TAG_INVALID = re.compile(r"[^A-Za-z0-9-]")


def tradier_tag(client_order_id: str) -> str:
    """A client order id as a valid Tradier tag: letters, digits and `-`, ≤ 255."""
    return TAG_INVALID.sub("-", client_order_id)[:255]


def _placed_status(raw: Any) -> str:
    """An order call's `status` (`ok`: taken, not yet worked) in the contract's words."""
    return "Received" if raw == "ok" else order_status(raw if isinstance(raw, str) else None)


#: The contract's one-leg order types as Tradier's `type` (it has no trailing stop).
TYPES = {"Market": "market", "Limit": "limit", "Stop": "stop", "Stop Limit": "stop_limit"}


def priced_form(order: OrderRequest) -> dict[str, str]:
    """`type`, `duration`, and the `price` and `stop` the type has."""
    kind = TYPES.get(order.order_type)
    if kind is None:
        raise OrderRefused(
            "unsupported", f"Tradier takes no {order.order_type.lower()} orders; use a Stop."
        )
    form = {"type": kind, "duration": order.time_in_force.lower()}
    if order.price is not None:
        form["price"] = str(order.price)
    if order.stop_price is not None:
        form["stop"] = str(order.stop_price)
    return form


def single_leg_form(order: OrderRequest, leg: OrderLeg) -> dict[str, str]:
    form = priced_form(order) | {"quantity": str(leg.quantity)}
    if leg.kind not in (Kind.EQUITY, Kind.EQUITY_OPTION):
        raise OrderRefused("unsupported", none_of_kind("tradier", leg.kind))
    if leg.is_option:
        occ = streamer_to_occ_symbol(leg.symbol)
        match = OPTION_STREAMER_RE.match(leg.symbol)
        if occ is None or match is None:
            raise OrderRefused("unknown_symbol", f"{leg.symbol} is not an option symbol.")
        form |= {
            "class": "option",
            "symbol": match.group(1),
            "option_symbol": occ,
            "side": OPTION_SIDES[leg.action],
        }
    else:
        form |= {"class": "equity", "symbol": leg.symbol, "side": STOCK_SIDES[leg.action]}
    if order.client_order_id:
        form["tag"] = tradier_tag(order.client_order_id)
    return form


def order_form(
    order: OrderRequest, *, preview: bool, price_effect: str | None = None
) -> dict[str, str]:
    """The order as Tradier's form (a multi-leg one from `multileg.py`, its direction
    `price_effect` where the legs alone do not settle it)."""
    if len(order.legs) > 1:
        return multileg_form(order, preview=preview, price_effect=price_effect)
    form = single_leg_form(order, order.legs[0])
    if preview:
        form["preview"] = "true"
    return form


def linked_form(group: LinkedOrder, *, preview: bool) -> dict[str, str]:
    """A linked order as Tradier's form: `class` oco/oto/otoco, the group's `tag`, and
    each member's fields numbered from 0 (the trigger first), its own `duration[i]`."""
    form = {"class": group.complex.lower()}
    for i, member in enumerate(group.members):
        one = single_leg_form(dataclasses.replace(member, client_order_id=""), member.legs[0])
        one.pop("class")
        form |= {f"{key}[{i}]": value for key, value in one.items()}
    if group.client_order_id:
        form["tag"] = tradier_tag(group.client_order_id)
    if preview:
        form["preview"] = "true"
    return form


def refusal(exc: BrokerHTTPError) -> OrderRefused:
    """Tradier's error answer (`{"errors": {"error": [...]}}`) as the contract's refusal."""
    try:
        said = orjson.loads(exc.message)
    except orjson.JSONDecodeError:
        said = {"error": exc.message}
    if not isinstance(said, dict):
        said = {"error": exc.message}
    errors = said.get("errors")
    texts = as_list(errors.get("error") if isinstance(errors, dict) else None)
    sentence = " ".join(str(t) for t in texts) or exc.message
    code = refusal_code(exc.status, sentence)
    if exc.status == 429:
        code, sentence = "rejected", "Tradier asks for a pause before the next order."
    return OrderRefused(code, f"Tradier refused the order: {sentence}", said)


class TradierOrders:
    """`SupportsOrders` for a Tradier link, through its connection's client. `changed`:
    what to wake after an order of an account changed (its adapter's order poll)."""

    def __init__(self, connection: Connection, changed: Callable[[str], None]) -> None:
        self._connection = connection
        self._changed_in = changed

    async def _call(
        self, method: str, path: str, *, data: dict[str, str] | None = None, params: Any = None
    ) -> Any:
        async with self._connection.use() as client:
            try:
                return await client.request(method, path, data=data, params=params, max_retries=0)
            except BrokerHTTPError as exc:
                raise refusal(exc) from None

    async def _changed(self, method: str, path: str, data: dict[str, str] | None) -> PlaceResult:
        """A place, modify or cancel; then the order poll runs at once, for that account."""
        try:
            body = await self._call(method, path, data=data)
        finally:
            self._changed_in(path.split("/")[3])  # /v1/accounts/{n}/orders…
        answer = (body or {}).get("order") or {}
        return PlaceResult(
            order_id=str(answer.get("id", "")),
            status=_placed_status(answer.get("status")),
            said=body,
        )

    async def _form(self, order: OrderRequest, *, preview: bool) -> dict[str, str]:
        """`order_form`, a multi-leg limit whose legs do not settle debit or credit (a
        diagonal: a roll to another strike) told by its legs' quotes, as tastytrade's."""
        effect = None
        if len(order.legs) > 1 and order.order_type == "Limit" and net_effect(order) is None:
            effect = await self._quoted_effect(order)
        return order_form(order, preview=preview, price_effect=effect)

    async def _quoted_effect(self, order: OrderRequest) -> str | None:
        """Debit when the buys are worth more than the sells at the quotes' mids; None
        when a leg has no bid and ask (the form then refuses the order in words)."""
        occ = {leg.symbol: streamer_to_occ_symbol(leg.symbol) for leg in order.legs}
        try:
            body = await self._call(
                "POST", "/v1/markets/quotes", data={"symbols": ",".join(filter(None, occ.values()))}
            )
        except OrderRefused:
            return None  # no quotes: the order is refused in words, never sent a guess
        wrapper = (body or {}).get("quotes")
        rows = as_list(wrapper.get("quote") if isinstance(wrapper, dict) else None)
        mids: dict[str, float] = {}
        for row in rows:
            if not isinstance(row, dict):
                continue
            bid, ask = num(row.get("bid")), num(row.get("ask"))
            if bid is not None and ask is not None:
                mids[str(row.get("symbol"))] = (bid + ask) / 2
        pays = order.pays_at([mids.get(occ[leg.symbol] or "") for leg in order.legs])
        return None if pays is None else "Debit" if pays else "Credit"

    # -- SupportsOrders --------------------------------------------------------------------
    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        form = await self._form(order, preview=True)
        body = await self._call("POST", f"/v1/accounts/{order.account}/orders", data=form)
        return _previewed(order, body)

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        form = await self._form(order, preview=False)
        return await self._changed("POST", f"/v1/accounts/{order.account}/orders", form)

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        """Tradier's `preview=true` of the linked order: it answers for what fills first."""
        body = await self._call(
            "POST",
            f"/v1/accounts/{group.account}/orders",
            data=linked_form(group, preview=True),
        )
        return _previewed(group.first, body)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        form = linked_form(group, preview=False)
        return await self._changed("POST", f"/v1/accounts/{group.account}/orders", form)

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        tag = tradier_tag(client_order_id)
        for row in await self._orders(account):
            if tag and row.get("tag") == tag:
                return PlaceResult(
                    order_id=str(row.get("id")),
                    status=order_status(row.get("status")),
                    said=dict(row),
                )
        return None

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        """Tradier's modify: type, duration, price and stop; its quantity cannot change."""
        body = await self._call("GET", f"/v1/accounts/{order.account}/orders/{order_id}")
        current = (body or {}).get("order")
        if not isinstance(current, dict):
            raise OrderRefused("not_found", f"Tradier has no order {order_id}.", body)
        if num(current.get("quantity")) != sum(leg.size for leg in order.legs):
            raise OrderRefused(
                "unsupported",
                "Tradier cannot change an order's quantity: cancel it and place a new one.",
                current,
            )
        form = priced_form(order)
        return await self._changed("PUT", f"/v1/accounts/{order.account}/orders/{order_id}", form)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        """One order; a member of an oto/oco/otoco cancels its parent (the linked order as
        Tradier lists it), the other working members with it."""
        rows = await self._orders(account)
        parent = next((row for row in rows if order_id in _member_ids(row)), None)
        target = str(parent.get("id")) if parent is not None else order_id
        result = await self._changed("DELETE", f"/v1/accounts/{account}/orders/{target}", None)
        if parent is None:
            return result
        others = [m for m in _working_members(parent) if m != order_id]
        return dataclasses.replace(result, order_id=order_id, with_it=others)

    async def working_orders(self, account: str) -> list[str]:
        """Every order that can still change; a linked order's working members (the app
        shows each member as an order), not its parent."""
        return [m for row in await self._orders(account) for m in _working_members(row)]

    async def _orders(self, account: str) -> list[TradierOrder]:
        """The account's orders working now or finished today, with their tags."""
        body = await self._call(
            "GET", f"/v1/accounts/{account}/orders", params={"includeTags": "true"}
        )
        wrapper = (body or {}).get("orders")
        rows = as_list(wrapper.get("order") if isinstance(wrapper, dict) else None)
        # the edge: Tradier's JSON objects as the orders they are
        return [cast(TradierOrder, row) for row in rows if isinstance(row, dict)]


def _previewed(order: OrderRequest, body: Any) -> PreviewResult:
    """Tradier's preview answer (of `order`, or of a group's first member)."""
    answer = (body or {}).get("order") or {}
    if answer.get("result") is False or answer.get("status") not in (None, "ok"):
        raise OrderRefused("rejected", "Tradier's preview refused the order.", body)
    # a single leg's cost is signed by its side; a multileg's `order_cost` is unsigned and
    # its `type` (debit, credit, even) says which way the money goes
    sells = not order.legs[0].buys if len(order.legs) == 1 else answer.get("type") == "credit"
    cost = num(answer.get("order_cost"))
    fees = [num(answer.get(k)) for k in ("commission", "fees")]
    return PreviewResult(
        checks="broker",
        cost=(-cost if sells else cost) if cost is not None else None,
        fees=sum(f for f in fees if f is not None) if any(f is not None for f in fees) else None,
        margin_change=num(answer.get("margin_change")),
        warnings=[str(w) for w in as_list(answer.get("warnings"))],
        said=body,
    )


def _linked(row: Mapping[str, object]) -> bool:
    return row.get("class") in ("oto", "oco", "otoco")


def _member_ids(row: Mapping[str, object]) -> list[str]:
    """A linked order's member ids (its `leg` orders), else the order's own id."""
    if not _linked(row):
        return [str(row.get("id"))]
    return [str(m.get("id")) for m in as_list(row.get("leg")) if isinstance(m, dict)]


def _working_members(row: Mapping[str, Any]) -> list[str]:
    """The ids of the order (or of a linked order's members) that can still change."""
    if not _linked(row):
        rows = [row]
    else:
        rows = [m for m in as_list(row.get("leg")) if isinstance(m, dict)]
    return [str(m.get("id")) for m in rows if order_status(m.get("status")) not in FINAL]
