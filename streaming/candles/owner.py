"""How the candles feature reaches the user's stream owner: one question, `candles.request`.

The owner holds the broker sessions (one DXLink session per tastytrade credential across
the cluster), so history is fetched there (UserStreamManager.candles). `ask_history`
asks it through the cluster's one way to ask an owner (agents.ask_owner: here when this
process owns the stream, else over the layer, with a deadline); `answer_history` is the
owner's side, registered for `ToOwner.CANDLES_REQUEST` at the composition root
(streaming/apps.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson

from streaming.brokers.bars import HistoryError
from streaming.contract.layer import CandleHistory, CandlesReply, CandlesRequest, ToOwner, ToTab

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents
    from streaming.cluster.layer import Message
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: How long an answer is awaited before the request is sent again (no owner had it yet).
OWNER_PATIENCE = 4.0


async def ask_history(
    agents: Agents, user_id: int, symbol: str, tf: str, from_ms: int, *, within: float
) -> CandleHistory:
    """History from the user's stream owner, within `within` seconds; HistoryError when
    the broker refused or nobody answered in time."""
    request: CandlesRequest = {
        "type": ToOwner.CANDLES_REQUEST,
        "symbol": symbol,
        "tf": tf,
        "from_ms": from_ms,
    }
    reply = await agents.ask_owner(user_id, request, within=within, reask=OWNER_PATIENCE)
    if reply is None:
        raise HistoryError(
            "broker_error",
            f"The broker did not send {symbol} history within {within:.0f} s.",
        )
    if reply.get("error"):
        raise HistoryError(str(reply["error"]), str(reply.get("message")), reply.get("retry_after"))
    answer: CandleHistory = orjson.loads(reply["text"])
    return answer


async def answer_history(
    manager: UserStreamManager, request: Message, left: float
) -> CandlesReply | None:
    """The owner's side of `candles.request`: the history, the broker's refusal, or no
    reply when the time ran out (the asker times out on its own and says so)."""
    try:
        result = await manager.candles(
            str(request["symbol"]), str(request["tf"]), int(request["from_ms"]), within=left
        )
    except HistoryError as exc:
        return {
            "type": ToTab.CANDLES,
            "error": exc.code,
            "message": exc.message,
            "retry_after": exc.retry_after,
        }
    except TimeoutError:
        return None
    except Exception as exc:  # never leave the asker waiting for nothing
        log.exception("user %s: candles.request failed", manager.user_id)
        return {"type": ToTab.CANDLES, "error": "broker_error", "message": str(exc)[:200]}
    return {"type": ToTab.CANDLES, "text": orjson.dumps(result).decode()}
