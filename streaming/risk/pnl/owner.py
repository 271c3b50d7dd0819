"""How the P&L page reaches the user's stream owner: an earlier day's balance history,
and holding the stream while the page polls.

The owner holds the broker sessions (tastytrade's OAuth session, the Alpaca keys'
accounts), so a day's history is asked there (`pnl.history`, through the cluster's one way
to ask an owner: agents.ask_owner) and answered by the account's adapter when it
`SupportsBalanceHistory` (streaming/brokers/base.py; Tradier keeps none).
`answer_balance_history` is registered for it at the composition root (streaming/apps.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING

from streaming.brokers.base import SupportsBalanceHistory
from streaming.contract.layer import ToOwner, ToTab
from streaming.contract.risk import PnlHistoryReply, PnlHistoryRequest

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents
    from streaming.cluster.layer import Message
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: How long an answer is awaited before the question is sent again (the owner may move).
OWNER_PATIENCE = 4.0
#: How long the owner waits for the stream's accounts before answering (a cold start).
READY_WAIT = 10.0
UNSUPPORTED = "unsupported"


class HistoryUnavailable(Exception):
    """The account's broker keeps no balance history, or it did not answer."""


async def ask_balance_history(
    agents: Agents, user_id: int, account: str, day: dt.date, *, within: float
) -> list[tuple[int, float]]:
    """(ms, net liq) of `account` during `day` from its broker, via the stream's owner."""
    request: PnlHistoryRequest = {
        "type": ToOwner.PNL_HISTORY_REQUEST,
        "account": account,
        "day": day.isoformat(),
    }
    reply = await agents.ask_owner(user_id, request, within=within, reask=OWNER_PATIENCE)
    if reply is None:
        raise HistoryUnavailable(f"the broker did not answer within {within:.0f} s")
    if reply.get("error"):
        raise HistoryUnavailable(str(reply["error"]))
    return [(int(t), float(v)) for t, v in reply.get("points") or []]


async def answer_balance_history(
    manager: UserStreamManager, request: Message, left: float
) -> PnlHistoryReply:
    """The owner's side of `pnl.history`: the account's adapter's history, or why not."""
    await manager.wait_ready(within=min(left, READY_WAIT))
    account = str(request["account"])
    held = manager.state.accounts.get(account)
    adapter = manager.adapters.get(held.link.id) if held is not None else None
    if adapter is None:
        return {"type": ToTab.PNL_HISTORY_REPLY, "error": f"no account {account} is linked"}
    if not isinstance(adapter, SupportsBalanceHistory):
        return {"type": ToTab.PNL_HISTORY_REPLY, "error": UNSUPPORTED}
    try:
        points = await adapter.balance_history(account, dt.date.fromisoformat(str(request["day"])))
    except Exception as exc:  # never leave the asker waiting for nothing
        log.warning("user %s: balance history of %s failed (%s)", manager.user_id, account, exc)
        return {"type": ToTab.PNL_HISTORY_REPLY, "error": str(exc)[:200] or type(exc).__name__}
    return {"type": ToTab.PNL_HISTORY_REPLY, "points": [[t, v] for t, v in points]}


#: How long a showing waits for the owner (its answer is not used: the poll goes on).
SHOW_WAIT = 10.0


async def hold_stream(agents: Agents, user_id: int, *, grace: float) -> None:
    """Start the user's stream (if it is not running) and keep it `grace` s, shown to a page
    (its positions stream, so it samples: docs/streaming-contract.md "P&L over the day"):
    the P&L page polls. The owner is told in the background; the poll does not wait."""
    holder = f"pnl-{uuid.uuid4().hex}"
    await agents.attach(user_id, holder)
    agents.detach(user_id, holder, grace=grace)
    showing = agents.snapshot(user_id, [], within=SHOW_WAIT, shown=grace)
    agents.in_background(showing, f"pnl-show-{user_id}")
