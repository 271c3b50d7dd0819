"""How the chains feature reaches the user's stream owner: one question, `chain.request`.

The owner's quote-source link holds the broker session, so a chain is built there
(service.answer). `ask_chain` asks it through the cluster's one way to ask an owner
(agents.ask_owner: here when this process owns the stream, else over the layer);
`answer_chain` is the owner's side, registered for `ToOwner.CHAIN_REQUEST` at the
composition root (streaming/apps.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson

from streaming.chains.service import answer
from streaming.chains.shapes import ChainBody
from streaming.cluster.agents import PAGE_OWNER_WAIT
from streaming.contract.layer import ChainReply, ChainRequest, ToTab

if TYPE_CHECKING:
    from streaming.cluster.agents import Agents
    from streaming.cluster.layer import Message
    from streaming.stream.manager import UserStreamManager

log = logging.getLogger(__name__)

#: How long a request waits for the owner's answer (a cold fetch, paced, included).
CHAIN_WAIT = 8.0
#: A chain request is sent again after this long without an answer (the owner moved); a
#: fetch may wait for the broker: ask again only after a long silence.
CHAIN_REASK = 4.0


async def ask_chain(agents: Agents, user_id: int, request: ChainRequest) -> tuple[int, ChainBody]:
    """An option chain (or its expirations) built at the user's owner: (HTTP status,
    body); 504 when nobody answers in `CHAIN_WAIT`."""
    reply = await agents.ask_owner(user_id, request, within=CHAIN_WAIT, reask=CHAIN_REASK)
    if reply is None:
        return 504, {"error": "the stream did not answer in time; try again", "code": "timeout"}
    return int(reply["status"]), orjson.loads(reply["text"])


async def answer_chain(manager: UserStreamManager, request: Message, left: float) -> ChainReply:
    """The owner's side of `chain.request` (a just-started manager gets a moment to be
    ready first)."""
    await manager.wait_ready(within=min(left, PAGE_OWNER_WAIT))
    try:
        status, body = await answer(manager, request)
    except Exception:
        log.exception("user %s: chain request failed", manager.user_id)
        status, body = 500, {"error": "the chain could not be built", "code": "server_error"}
    return {"type": ToTab.CHAIN_REPLY, "status": status, "text": orjson.dumps(body).decode()}
