"""Price alerts set in a replay (docs/streaming-contract.md, "Replay page").

They are evaluated against the replayed day by the live stream's own `AlertRunner`,
attached to the replay's manager as a live one is, on a store of the replay's: in memory,
for as long as the page is open. Nothing here touches the database, so a trigger never
becomes a push or an e-mail; it reaches the replay page alone, as an `alert` frame that
says when it would have fired (the replayed quote's time).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from streaming.alerts.input import clean_condition, clean_level, clean_symbol
from streaming.alerts.rules import PERCENT_CONDITIONS, display_of, message, money
from streaming.alerts.runner import AlertRunner
from streaming.contract.frames import AlertPayload, AlertState
from streaming.stream.listener import StreamListener


class ReplayAlerts:
    """One replay page's alerts: what the page set and what fired, and a runner for each
    run of the day (`listeners`)."""

    def __init__(self) -> None:
        self._alerts: dict[int, AlertState] = {}
        self.triggers: list[AlertPayload] = []
        self._ids = itertools.count(1)
        self._runner: AlertRunner | None = None

    # -- the replay's side (streaming/replay/session.py) ----------------------------------
    def listeners(self) -> Sequence[StreamListener]:
        """The listeners of a new run of the replayed stream."""
        self._runner = AlertRunner(_ReplayAlertStore(self))
        return [self._runner]

    def restart(self) -> None:
        """The day plays again from its start (a jump back): every alert armed again,
        nothing fired yet."""
        for alert in self._alerts.values():
            alert["active"], alert["armed"], alert["crossings"] = True, True, 0
        self.triggers = []

    def add(self, asked: Mapping[str, Any]) -> str:
        """An alert the page set (`symbol`, `condition`, `level`); its sentence, or a
        ValueError saying what is wrong."""
        symbol = clean_symbol(asked.get("symbol"))
        condition = clean_condition(asked.get("condition"))
        level = clean_level(asked.get("level"), condition)
        alert_id = next(self._ids)
        self._alerts[alert_id] = {
            "id": alert_id,
            "symbol": symbol,
            "display": display_of(symbol),
            "condition": condition,
            "level": float(level),
            "rearm": False,
            "expires_at": None,
            "active": True,
            "armed": True,
            "crossings": 0,
            "created_at": None,
            "updated_at": None,
        }
        if self._runner is not None:
            self._runner.reload()
        shown = f"{level:.2f}%" if condition in PERCENT_CONDITIONS else money(level)
        return (
            f"Alert set in this replay: {display_of(symbol)} {condition.replace('_', ' ')} "
            f"{shown}. It is evaluated against the replayed day and never reaches a device."
        )

    # -- the runner's store ---------------------------------------------------------------
    def active(self) -> list[AlertState]:
        return [a.copy() for a in self._alerts.values() if a["active"]]

    def fire(
        self, alert_id: int, price: float, at_ms: int, pct: float | None
    ) -> AlertPayload | None:
        """Compare-and-set, as the database's: the trigger if the alert was armed."""
        alert = self._alerts.get(alert_id)
        if alert is None or not alert["armed"] or not alert["active"]:
            return None
        alert["armed"] = False
        alert["crossings"] += 1
        if not alert["rearm"]:
            alert["active"] = False
        payload: AlertPayload = {
            "id": len(self.triggers) + 1,
            "alert_id": alert_id,
            "symbol": alert["symbol"],
            "display": alert["display"],
            "condition": alert["condition"],
            "level": alert["level"],
            "price": round(price, 6),
            "at": at_ms,
            "message": message(alert["display"], alert["condition"], alert["level"], price, pct)[
                :200
            ],
            "rearm": alert["rearm"],
        }
        self.triggers.append(payload)
        return payload

    def rearm(self, alert_id: int) -> bool:
        alert = self._alerts.get(alert_id)
        if alert is None or alert["armed"] or not alert["active"]:
            return False
        alert["armed"] = True
        return True


class _ReplayAlertStore:
    """The `AlertStore` a replay's runner writes to (alerts/store.py's interface)."""

    def __init__(self, alerts: ReplayAlerts) -> None:
        self._alerts = alerts

    async def load(self) -> list[AlertState]:
        return self._alerts.active()

    async def recent(self) -> list[AlertPayload]:
        return list(reversed(self._alerts.triggers))

    async def fire(
        self, alert_id: int, price: float, at_ms: int, pct: float | None
    ) -> AlertPayload | None:
        return self._alerts.fire(alert_id, price, at_ms, pct)

    async def rearm(self, alert_id: int) -> bool:
        return self._alerts.rearm(alert_id)

    async def expire(self, alert_id: int) -> None:
        """An alert set in a replay has no expiry."""

    async def undelivered(self) -> list[AlertPayload]:
        return []

    async def mark_delivered(self, trigger_ids: list[int]) -> None:
        """Nothing is delivered beyond the page."""
