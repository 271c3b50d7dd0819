"""A socket may subscribe up to the per-user cap (docs/streaming-contract.md, "Validation"):
one shared socket carries every tab of a browser ("One connection per browser"), so a
per-socket cap below the user's refused symbols four sockets would have carried."""

from __future__ import annotations

import uuid

import pytest

from streaming import validation
from streaming.tabs.session import TabSession

# the tab-session tests' transport and fixtures (fast lease and grace; a fresh user)
from tests.streaming.test_tab_session import (  # noqa: F401
    FakeTransport,
    _fast,
    process_node,
    user,
)
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_socket_takes_the_per_user_cap_of_symbols_and_no_more():
    assert validation.MAX_SYMBOLS_PER_SOCKET == validation.MAX_SYMBOLS_PER_USER


async def test_a_shared_socket_subscribes_past_200_symbols(agents, user):  # noqa: F811 (the fixture)
    transport = FakeTransport()
    session = TabSession(
        transport, f"tab!{uuid.uuid4().hex}", session_key=None, parts=process_node()
    )
    await session.begin(user, None, set())
    await wait_until(lambda: transport.of("snapshot"))
    hello = transport.of("hello")[0]
    assert hello["limits"]["max_symbols"] == 400
    wanted = [f"S{i:03d}" for i in range(410)]
    for start in range(0, len(wanted), validation.MAX_SYMBOLS_PER_MESSAGE):
        await session.change_symbols(
            True, wanted[start : start + validation.MAX_SYMBOLS_PER_MESSAGE]
        )

    def rejected(reason: str) -> list[str]:
        found = [r for f in transport.of("subscribed") for r in f["rejected"]]
        return [r["symbol"] for r in found if r["reason"] == reason]

    # the socket's own cap: none of the first 400 was refused for it (before: from 201 on)
    over_cap = rejected("limit_reached")
    assert over_cap and set(over_cap) <= set(wanted[400:])
    # the per-user cap still bounds the total: the watchlist counts too, so the owner
    # refuses a few of the socket's symbols (`user_limit_reached`)
    manager = agents.get(user.id)
    await wait_until(lambda: rejected("user_limit_reached"))
    assert len(manager.wanted_symbols()) == validation.MAX_SYMBOLS_PER_USER
    assert len(session.symbols) > 300


def test_sse_symbols_are_read_up_to_the_socket_cap_and_no_further():
    raw = ",".join(f"S{i:03d}" for i in range(500)) + ",BAD!" * 10_000
    symbols = validation.symbols_param(raw)
    assert symbols == {f"S{i:03d}" for i in range(400)}
