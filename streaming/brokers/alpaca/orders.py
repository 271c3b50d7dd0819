"""Order entry at Alpaca (`SupportsOrders`), in both of the adapter's modes: the Broker
API's per-account paths (`/v1/trading/accounts/{id}/orders`) and the Trading API's
(`/v2/orders`).

Alpaca has no dry run, so a preview is the app's checks (`checks="app"`): the asset
exists, the buying power before and after a buy, a closing order's quantity against the
position, and the cost at the limit (or the owner's reference price for a market order).
Keys need no session: every call opens a short client with the link's key, like the
balance history, so an order does not wait for the stream to connect. One of the parts
the adapter holds (in both modes); the adapter forwards `SupportsOrders` to it. Refusals are
Alpaca's `{"code", "message"}`; a 403 with a `4031…` code refuses the order, not the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from streaming.brokers.alpaca.client import AlpacaClient
from streaming.brokers.alpaca.connection import Connection
from streaming.brokers.alpaca.payloads import AlpacaError, OrderBody
from streaming.brokers.errors import BrokerHTTPError, CredentialRejected
from streaming.brokers.orders.entry import (
    BUYING_POWER_KINDS,
    LinkedOrder,
    OrderLeg,
    OrderRefused,
    OrderRequest,
    PlaceResult,
    PreviewResult,
)
from streaming.brokers.orders.refusals import refusal_code
from streaming.brokers.values import decimal, num, order_status
from streaming.instruments.kinds import Kind

#: Statuses after which an order can no longer change (the contract's words).
FINAL = frozenset({"Filled", "Cancelled", "Expired", "Rejected", "Replaced", "Done For Day"})
#: `message (code)`: how the client words Alpaca's error body.
ERROR_TEXT = re.compile(r"^(?:HTTP \d+: )?(.*) \((\d+)\)$", re.DOTALL)
#: Alpaca's code for a refused order (buying power, shorting, suspended): not the key.
ORDER_FORBIDDEN = "4031"


def alpaca_symbol(leg: OrderLeg) -> str:
    """The leg's instrument as Alpaca's orders spell it: a ticker, an option's OCC symbol
    (unpadded), a coin's pair (`BTC/USD`)."""
    return leg.broker_symbol("alpaca")


def held_symbol(leg: OrderLeg) -> str:
    """How Alpaca names the leg's position and asset in a path: a coin without its slash
    (`BTCUSD`: `GET /v2/positions/BTC/USD` answers 404, alpaca-py #537), else as ordered."""
    if leg.kind is Kind.CRYPTO:
        return f"{leg.instrument.root}USD"
    return alpaca_symbol(leg)


def _said(text: str) -> AlpacaError:
    """Alpaca's error body back from the client's `message (code)` text."""
    match = ERROR_TEXT.match(text)
    if match is None:
        return {"message": text}
    return {"code": int(match.group(2)), "message": match.group(1)}


def refusal(status: int, text: str) -> OrderRefused:
    said = _said(text)
    message = str(said.get("message", text))
    code = refusal_code(status, message)
    return OrderRefused(code, f"Alpaca refused the order: {message}", said)


def single_leg(order: OrderRequest) -> OrderLeg:
    if len(order.legs) != 1:
        raise OrderRefused("unsupported", "Alpaca takes single-leg orders only here.")
    return order.legs[0]


#: The contract's order types as Alpaca's `type`.
TYPES = {
    "Market": "market",
    "Limit": "limit",
    "Stop": "stop",
    "Stop Limit": "stop_limit",
    "Trailing Stop": "trailing_stop",
    "Notional Market": "market",
}


def prices(order: OrderRequest) -> dict[str, str]:
    """The prices the order's type has: `limit_price`, `stop_price`, and a trailing
    stop's `trail_price` or `trail_percent` (a replace sends its `trail`)."""
    body: dict[str, str] = {}
    if order.price is not None:
        body["limit_price"] = str(order.price)
    if order.stop_price is not None:
        body["stop_price"] = str(order.stop_price)
    if order.trail_amount is not None:
        body["trail_price"] = str(order.trail_amount)
    if order.trail_percent is not None:
        body["trail_percent"] = str(order.trail_percent)
    return body


#: Alpaca's linked order classes: a member is changed only as Alpaca allows (`exit_change`).
LINKED_CLASSES = frozenset({"bracket", "oco", "oto"})


def exit_change(current: Mapping[str, object], order: OrderRequest) -> dict[str, str]:
    """A linked order's member as Alpaca changes one (orders.md: PATCH moves a bracket's
    exit prices): the take-profit's `limit_price` or the stop-loss's `stop_price`, nothing
    else; what else the ticket changed is refused in words (Alpaca itself refuses the
    members it does not change: an entry, an OTO's exit)."""
    leg = single_leg(order)
    kind = TYPES.get(order.order_type)
    same = (
        kind == current.get("type")
        and decimal(current.get("qty")) == leg.quantity
        and order.time_in_force.lower() == str(current.get("time_in_force") or "").lower()
    )
    price = order.price if kind == "limit" else order.stop_price
    if not same or price is None or kind not in ("limit", "stop"):
        raise OrderRefused(
            "unsupported",
            "Alpaca changes a linked order's take-profit or stop-loss by its price only: "
            "keep its type, quantity and time in force, or cancel the group and place it again.",
        )
    return {"limit_price" if kind == "limit" else "stop_price": str(price)}


def order_body(order: OrderRequest) -> OrderBody:
    leg = single_leg(order)
    body: OrderBody = {
        "symbol": alpaca_symbol(leg),
        # a dollar amount: Alpaca's `notional` (it sizes the order at its fill), no qty
        **({"notional": str(order.notional)} if order.notional is not None else {}),
        **({"qty": str(leg.quantity)} if leg.quantity is not None else {}),
        "side": "buy" if leg.buys else "sell",
        "type": TYPES[order.order_type],
        "time_in_force": order.time_in_force.lower(),
    }
    if leg.kind is Kind.EQUITY_OPTION:  # Alpaca's options say whether they open or close
        body["position_intent"] = leg.action.lower().replace(" ", "_")
    body |= prices(order)
    if order.client_order_id:
        body["client_order_id"] = order.client_order_id
    return body


#: The contract's linked orders as Alpaca's order classes.
ORDER_CLASSES = {"OTOCO": "bracket", "OCO": "oco", "OTO": "oto"}


def _exit(order: OrderRequest) -> tuple[str, dict[str, str]]:
    """A take-profit (`take_profit: {limit_price}`) or a stop-loss (`stop_loss:
    {stop_price, limit_price?}`) as Alpaca nests it under its parent."""
    if order.order_type == "Limit":
        return "take_profit", {"limit_price": str(order.price)}
    loss = {"stop_price": str(order.stop_price)}
    if order.price is not None:
        loss["limit_price"] = str(order.price)
    return "stop_loss", loss


def linked_body(group: LinkedOrder) -> OrderBody:
    """A bracket (OTOCO), an OCO or an OTO as one Alpaca order: the parent is the
    trigger (an OCO's: its take-profit, a `limit`), the exits nested in it."""
    pair = group.pair
    parent = group.trigger or (pair[0] if pair else group.orders[0])
    body = order_body(replace(parent, client_order_id=group.client_order_id))
    body["order_class"] = ORDER_CLASSES[group.complex]
    for order in group.orders:
        key, value = _exit(order)
        body[key] = value
    return body


def placed(body: Any) -> PlaceResult:
    body = body if isinstance(body, dict) else {}
    return PlaceResult(
        order_id=str(body.get("id", "")), status=order_status(body.get("status")), said=body
    )


class AlpacaOrders:
    """`SupportsOrders` for an Alpaca link, in its connection's mode (`trading_api`)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def trading_api(self) -> bool:
        """True for the Trading API (one account, `/v2` paths), False for the Broker API."""
        return self._connection.trading_api

    def _order_client(self) -> AlpacaClient:
        return self._connection.client()

    async def _call(self, client: AlpacaClient, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await client.request(method, path, **kwargs)
        except BrokerHTTPError as exc:
            raise refusal(exc.status, exc.message) from None
        except CredentialRejected as exc:  # a 403 refusing the order, not the key
            if f"({ORDER_FORBIDDEN}" not in str(exc):
                raise
            raise refusal(403, str(exc)) from None

    async def _prefix(self, client: AlpacaClient, account: str) -> str:
        """The path the account's trading resources live under."""
        if self.trading_api:
            return "/v2"
        ids = [i for i, number in self._connection.accounts.items() if number == account]
        if not ids:  # not connected yet: the key lists its accounts
            listed = await client.accounts()
            ids = [str(a["id"]) for a in listed if str(a.get("account_number")) == account]
        if not ids:
            raise OrderRefused("not_found", f"No Alpaca account {account} on this link.")
        return f"/v1/trading/accounts/{ids[0]}"

    # -- SupportsOrders --------------------------------------------------------------------
    async def preview_order(self, order: OrderRequest) -> PreviewResult:
        leg = single_leg(order)
        symbol = held_symbol(leg)
        warnings: list[str] = []
        async with self._order_client() as client:
            prefix = await self._prefix(client, order.account)
            await self._check_asset(client, leg, symbol)
            trading = await self._call(client, "GET", f"{prefix}/account")
            if leg.action in ("Sell to Close", "Buy to Close"):
                await self._check_position(client, prefix, leg, symbol)
        unit = order.estimated_price
        if order.notional is not None:
            cost: Decimal | None = order.notional
        else:
            cost = unit * leg.size * leg.multiplier if unit is not None else None
        if cost is not None and not leg.buys:
            cost = -cost  # received
        # the buying power the order uses: an option's is the account's options buying power
        kind = BUYING_POWER_KINDS.get(leg.kind)
        field = "options_buying_power" if kind == "derivative" else "buying_power"
        before = decimal(trading.get(field))
        after = before - cost if before is not None and cost is not None and leg.buys else None
        if after is not None and after < 0:
            warnings.append("This order costs more than the account's buying power.")
        if cost is None:
            warnings.append("No price to estimate the cost of this market order at.")
        return PreviewResult(
            checks="app",
            cost=num(cost),
            fees=None,
            buying_power_before=num(before),
            buying_power_after=num(after),
            buying_power_kind=kind,
            warnings=warnings,
            said={"account": {field: trading.get(field)}},
        )

    async def _check_asset(self, client: AlpacaClient, leg: OrderLeg, symbol: str) -> None:
        """The asset (or option contract) is one Alpaca knows."""
        if leg.kind is Kind.EQUITY_OPTION:
            if not self.trading_api:
                return  # the Broker API lists no option contracts: the order itself checks
            path = f"/v2/options/contracts/{symbol}"
        else:
            path = f"{'/v2' if self.trading_api else '/v1'}/assets/{symbol}"
        try:
            asset = await client.request("GET", path)
        except BrokerHTTPError as exc:
            if exc.status != 404:
                raise refusal(exc.status, exc.message) from None
            raise OrderRefused(
                "unknown_symbol",
                f"Alpaca does not know {leg.instrument.display}.",
                _said(exc.message),
            ) from None
        if isinstance(asset, dict) and asset.get("tradable") is False:
            raise OrderRefused(
                "rejected", f"Alpaca does not trade {leg.instrument.display} now.", asset
            )

    async def _check_position(
        self, client: AlpacaClient, prefix: str, leg: OrderLeg, symbol: str
    ) -> None:
        """A closing order closes at most what is held."""
        try:
            position = await client.request("GET", f"{prefix}/positions/{symbol}")
        except BrokerHTTPError as exc:
            if exc.status != 404:
                raise refusal(exc.status, exc.message) from None
            position = {}
        held = abs(decimal(position.get("qty")) or Decimal(0))
        if leg.quantity is None and held == 0:  # a dollar amount sells what is held
            raise OrderRefused(
                "rejected", f"{leg.action} {leg.instrument.display}: none is held.", position
            )
        if leg.quantity is not None and leg.quantity > held:
            raise OrderRefused(
                "rejected",
                f"{leg.action} {leg.quantity} {leg.instrument.display}: only {held:f} are held.",
                position,
            )

    async def place_order(self, order: OrderRequest) -> PlaceResult:
        body = order_body(order)
        async with self._order_client() as client:
            prefix = await self._prefix(client, order.account)
            return placed(await self._call(client, "POST", f"{prefix}/orders", json=body))

    async def preview_linked(self, group: LinkedOrder) -> PreviewResult:
        """The app's checks of what fills first (Alpaca has no dry run): the asset, the
        buying power, and for an OCO the position its exits close."""
        return await self.preview_order(group.first)

    async def place_linked(self, group: LinkedOrder) -> PlaceResult:
        body = linked_body(group)
        async with self._order_client() as client:
            prefix = await self._prefix(client, group.account)
            return placed(await self._call(client, "POST", f"{prefix}/orders", json=body))

    async def find_order(self, account: str, client_order_id: str) -> PlaceResult | None:
        async with self._order_client() as client:
            prefix = await self._prefix(client, account)
            try:
                body = await client.request(
                    "GET",
                    f"{prefix}/orders:by_client_order_id",
                    params={"client_order_id": client_order_id},
                )
            except BrokerHTTPError as exc:
                if exc.status == 404:
                    return None
                raise refusal(exc.status, exc.message) from None
        return placed(body)

    async def replace_order(self, order_id: str, order: OrderRequest) -> PlaceResult:
        leg = single_leg(order)
        if leg.quantity is None:
            raise OrderRefused(
                "unsupported",
                "Alpaca cannot replace a dollar amount's order: cancel it and place a new one.",
            )
        async with self._order_client() as client:
            prefix = await self._prefix(client, order.account)
            current = await self._call(client, "GET", f"{prefix}/orders/{order_id}")
            if str(current.get("order_class") or "simple") in LINKED_CLASSES:
                body = exit_change(current, order)
            else:
                body = {"qty": str(leg.quantity), "time_in_force": order.time_in_force.lower()}
                replaced = prices(order)
                trail = replaced.pop("trail_price", None) or replaced.pop("trail_percent", None)
                if trail is not None:  # Alpaca's PATCH says `trail` in the order's own unit
                    replaced["trail"] = trail
                body |= replaced
            if order.client_order_id:
                body["client_order_id"] = order.client_order_id
            answer = await self._call(client, "PATCH", f"{prefix}/orders/{order_id}", json=body)
        return placed(answer)

    async def cancel_order(self, account: str, order_id: str) -> PlaceResult:
        """One order; a member of a bracket, OCO or OTO cancels the others with it
        (Alpaca: "canceling one cancels the rest"), which the answer names."""
        async with self._order_client() as client:
            prefix = await self._prefix(client, account)
            nested = await self._call(
                client, "GET", f"{prefix}/orders", params={"status": "open", "nested": "true"}
            )
            await self._call(client, "DELETE", f"{prefix}/orders/{order_id}")
        group = next((g for g in _groups(nested) if order_id in g), [])
        others = [member for member in group if member != order_id]
        return PlaceResult(order_id=order_id, status="Cancel Requested", with_it=others)

    async def working_orders(self, account: str) -> list[str]:
        async with self._order_client() as client:
            prefix = await self._prefix(client, account)
            rows = await self._call(
                client, "GET", f"{prefix}/orders", params={"status": "open", "limit": 500}
            )
        return [
            str(row["id"])
            for row in rows or []
            if isinstance(row, dict) and order_status(row.get("status")) not in FINAL
        ]


def _groups(rows: Any) -> list[list[str]]:
    """The open linked orders of a nested list: each parent's id and its legs' ids that
    can still change (an mleg's legs are one order's, not members)."""
    groups = []
    for row in rows or []:
        legs = row.get("legs") if isinstance(row, dict) else None
        if not legs or row.get("order_class") == "mleg":
            continue
        members = [row, *(leg for leg in legs if isinstance(leg, dict))]
        groups.append(
            [str(m.get("id")) for m in members if order_status(m.get("status")) not in FINAL]
        )
    return groups
