"""Tradier's fills, synthesized: its order rows carry no fill list, only the cumulative
executed quantity, so the fills are made up from how it grows (docs/streaming-contract.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streaming.brokers.orders.shape import Fill
from streaming.brokers.values import num, quantity_text

#: Order statuses after which an order can never be open again (Tradier's vocabulary).
FINAL_STATUSES = {"filled", "canceled", "expired", "rejected"}


def fill_ids(order: Mapping[str, Any] | None) -> set[str]:
    """The ids of every fill of a contract order (None: no order yet)."""
    if not order:
        return set()
    return {f["id"] for leg in order.get("legs") or () for f in leg.get("fills") or ()}


class FillBook:
    """Synthesizes fills from Tradier's cumulative `exec_quantity`.

    Tradier's order rows carry no fill list, only `exec_quantity`, `last_fill_price`,
    `last_fill_quantity` and `avg_fill_price`. A fill is made when the executed quantity
    grows; its id is `f"{key}:{cumulative}"`, so the same fill always has the same id —
    after a restart too. Seen for the first time part-filled, an order gets the earlier
    executions as one fill (at the implied average price) plus its last fill.

    An order whose history goes backwards (another creation time, a smaller executed
    quantity, or open again after it was final) is a new order under a reused id (a
    broker restart): its fills are forgotten, so new fills are never merged into old ones.
    """

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.fills: dict[str, list[Fill]] = {}
        #: Per order id: (creation time, status) last seen.
        self.orders: dict[str, tuple[Any, Any]] = {}
        self.resets = 0

    def observe(self, order_id: str, order: Mapping[str, Any], rows: Mapping[str, Any]) -> bool:
        """Note an order's identity before its legs are updated (`rows`: leg key -> row);
        forget its fills if the id was reused. Returns whether it was."""
        created, status = order.get("create_date"), order.get("status")
        known = self.orders.get(order_id)
        self.orders[order_id] = (created, status)
        if known is None:
            return False
        went_back = any(
            float(num(row.get("exec_quantity")) or 0) < self.seen.get(key, 0.0)
            for key, row in rows.items()
        )
        if created and known[0] and created != known[0]:
            went_back = True
        if known[1] in FINAL_STATUSES and status not in FINAL_STATUSES:
            went_back = True
        if went_back:
            self.resets += 1
            for key in rows:
                self.seen.pop(key, None)
                self.fills.pop(key, None)
        return went_back

    def update(self, key: str, row: Mapping[str, object], at: int | None) -> list[Fill]:
        executed = float(num(row.get("exec_quantity")) or 0)
        previous = self.seen.get(key)
        fills = self.fills.setdefault(key, [])
        if executed > (previous or 0):
            last_price = num(row.get("last_fill_price"))
            if previous is None:
                last_qty = float(num(row.get("last_fill_quantity")) or executed)
                last_qty = min(last_qty, executed) or executed
                earlier = executed - last_qty
                if earlier > 0:
                    average = float(num(row.get("avg_fill_price")) or 0)
                    price = (average * executed - (last_price or 0) * last_qty) / earlier
                    fills.append(
                        {
                            "id": f"{key}:{quantity_text(earlier)}",
                            "quantity": num(quantity_text(earlier)),
                            "price": round(price, 6),
                            "at": at,
                        }
                    )
                delta = last_qty
            else:
                delta = executed - previous
            fills.append(
                {
                    "id": f"{key}:{quantity_text(executed)}",
                    "quantity": num(quantity_text(delta)),
                    "price": last_price,
                    "at": at,
                }
            )
        self.seen[key] = max(executed, previous or 0)
        return list(fills)
