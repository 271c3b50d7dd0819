"""Account frames made as the owner of a user's stream makes them, for tests that need
to drop, repeat or reorder what the fan-out would deliver."""

from __future__ import annotations

import itertools

import orjson

from streaming.cluster.agents import Agents
from streaming.cluster.fanout import frame_message

_cash = itertools.count(1)


async def owner_frame(agents: Agents, user) -> dict:
    """The next account frame of the user's stream, numbered and logged as the manager
    does it; returned as the fan-out's layer message (not yet delivered)."""
    manager = agents.get(user.id)
    assert manager is not None
    state = manager.state
    state.seq += 1
    frame = {
        "type": "balance",
        "epoch": state.epoch,
        "seq": state.seq,
        "account": "5WT0001",
        "link": 1,
        "balance": {"cash": next(_cash)},
        "t": 1,
        "simulated": True,
    }
    text = orjson.dumps(frame).decode()
    await agents.event_log.append(user.id, manager._owner, state.position, text)
    return frame_message(frame, text)
