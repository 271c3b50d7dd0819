"""The orders of an Alpaca link as folded from what it reads and hears, in both modes:
one of the parts its adapter holds.

Idempotence: a fill row's id is `"{order_id}:{cumulative filled qty}"`, so a replayed
event yields the same id; per order the highest cumulative quantity already covered by a
row is kept and an event at or below it adds no row, and an order state older
(`updated_at`) than the one already applied is ignored. Baseline: a REST read with
`synthesize` adds one fill row for whatever filled beyond the rows held (price: the
order's `filled_avg_price`), so a freshly started process shows every filled order with
its price. A linked order nested under its parent is several orders, each in its group,
remembered for when a member comes alone (Alpaca's children do not name their parent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from streaming.brokers.alpaca.orders import FINAL
from streaming.brokers.alpaca.payloads import AlpacaOrder
from streaming.brokers.alpaca.wire import linked_members, order_payload
from streaming.brokers.base import AdapterSink
from streaming.brokers.orders.shape import Fill, Group, Order
from streaming.brokers.values import decimal, num, order_status, quantity_text, time_ms


@dataclass
class _OrderView:
    number: str
    covered: Decimal = Decimal(0)  # highest cumulative filled qty covered by a fill row
    fills: list[Fill] = field(default_factory=list)
    last: Order | None = None  # the payload last emitted
    updated_ms: int | None = None  # `updated_at` of the order state last applied


class OrderBook:
    """Every order of one Alpaca link seen so far, and what was last emitted of each."""

    def __init__(self, link_id: int) -> None:
        self._link_id = link_id
        self.views: dict[str, _OrderView] = {}
        #: order id -> its linked order: Alpaca's children do not name their parent, so a
        #: child's later event or lone REST row is linked by what its parent once said
        self.groups: dict[str, Group] = {}
        self.stale_updates = 0  # order states older than the one already applied

    def changes_unannounced(self, number: str) -> bool:
        """Whether the account holds a working order Alpaca changes without a trade event:
        a trailing stop (its high-water mark and stop follow the price) or an exit of a
        linked order (a partly filled take profit shrinks its stop loss: orders.md)."""
        return any(
            view.number == number
            and view.last is not None
            and (view.last["order_type"] == "Trailing Stop" or view.last["group"] is not None)
            and order_status(view.last["status"]) not in FINAL
            for view in self.views.values()
        )

    async def apply_order(
        self,
        sink: AdapterSink,
        number: str,
        order: AlpacaOrder,
        *,
        execution: tuple[Decimal | None, Decimal | None, int | None] | None = None,
        synthesize: bool = False,
    ) -> bool:
        """Fold an order state (and maybe one execution, which is the order's own) in;
        emit what changed. A linked order with its children nested (`legs`) is several
        orders: the parent and each child are folded in as orders of their own, and the
        group each belongs to is remembered for when it comes alone.

        Returns whether a fill row was added."""
        members = linked_members(order)
        for member, linked in members:
            self.groups[str(member["id"])] = linked
        replaces = str(order.get("replaces") or "")
        if replaces in self.groups and str(order["id"]) not in self.groups:
            # a bracket's exit replaced (its price moved): the new order takes its place
            self.groups[str(order["id"])] = self.groups[replaces]
        added = await self._apply_one(
            sink, number, order, execution=execution, synthesize=synthesize
        )
        for child, _ in members[1:]:
            added = await self._apply_one(sink, number, child, synthesize=synthesize) or added
        return added

    async def _apply_one(
        self,
        sink: AdapterSink,
        number: str,
        order: AlpacaOrder,
        *,
        execution: tuple[Decimal | None, Decimal | None, int | None] | None = None,
        synthesize: bool = False,
    ) -> bool:
        """`apply_order` for one order (a linked order's member, or any other)."""
        oid = str(order["id"])
        view = self.views.setdefault(oid, _OrderView(number))
        updated = time_ms(order.get("updated_at"))
        if updated is not None and view.updated_ms is not None and updated < view.updated_ms:
            self.stale_updates += 1  # e.g. a replayed event behind a newer REST baseline
            return False
        if updated is not None:
            view.updated_ms = updated
        filled = decimal(order.get("filled_qty")) or Decimal(0)
        added = False
        if filled > view.covered and (execution is not None or synthesize):
            gap = filled - view.covered
            if execution is not None:
                qty, price, at = execution
                row_qty = min(qty, gap) if qty and qty > 0 else gap
            else:  # polling or a baseline snapshot: what filled since the last row
                row_qty = gap
                avg = decimal(order.get("filled_avg_price"))
                prior = sum(
                    (Decimal(str(f["quantity"])) * Decimal(str(f["price"] or 0)))
                    for f in view.fills
                )
                price = (avg * filled - prior) / gap if avg is not None else None
                if price is not None and price <= 0:
                    price = avg
                at = time_ms(order.get("filled_at")) or time_ms(order.get("updated_at"))
            view.fills.append(
                {
                    "id": f"{oid}:{quantity_text(filled)}",
                    "quantity": num(row_qty),
                    "price": num(price),
                    "at": at,
                }
            )
            view.covered = filled
            added = True
        payload = order_payload(order, view.fills, group=self.groups.get(oid))
        if payload != view.last:
            view.last = payload
            await sink.account_event("order", self._link_id, number, payload)
        return added
