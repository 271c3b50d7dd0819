"""A feature's question to the stream's owner (cluster/agents.py `ask_owner`, the owner's
handlers registered through cluster/owner_rpc.py), and the chains' and candles' own
modules that use it (chains/owner.py, candles/owner.py): here when this process owns
the stream, else over the layer with a reply channel and a deadline."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from channels.layers import get_channel_layer

from streaming.brokers.bars import HistoryError
from streaming.brokers.orders.entry import OrderLeg, OrderRequest
from streaming.candles.owner import answer_history, ask_history
from streaming.chains.owner import answer_chain
from streaming.cluster import owner_rpc
from streaming.contract.layer import ToOwner, ToTab
from streaming.trading import owner
from streaming.trading.input import TicketOrder
from streaming.trading.price_guard import Verdict


class FakeManager:
    user_id = 7

    def __init__(self, candles: Any = None) -> None:
        self._candles = candles

    async def wait_ready(self, within: float) -> bool:
        return True

    async def candles(self, symbol: str, tf: str, from_ms: int, within: float) -> Any:
        if isinstance(self._candles, BaseException):
            raise self._candles
        return self._candles


@pytest.fixture
def no_hold(agents, monkeypatch):
    """Asking holds the stream; here nothing runs it (the owner is faked)."""

    async def attach(user_id: int, holder: str, tab: Any = None) -> None:
        return None

    monkeypatch.setattr(agents, "attach", attach)
    monkeypatch.setattr(agents, "detach", lambda user_id, holder, grace=None: None)


def test_the_features_register_their_handlers_at_the_root(agents) -> None:
    handlers = agents.owner_handlers
    assert handlers.handler_for(ToOwner.CHAIN_REQUEST) is answer_chain
    assert handlers.handler_for(ToOwner.CANDLES_REQUEST) is answer_history
    handlers.register(ToOwner.CHAIN_REQUEST, answer_chain)  # the same again: fine
    with pytest.raises(ValueError):
        handlers.register(ToOwner.CHAIN_REQUEST, answer_history)
    with pytest.raises(LookupError):
        handlers.handler_for("nobody.answers")


async def test_the_owner_here_answers_with_the_same_handler(agents, monkeypatch, no_hold) -> None:
    manager = FakeManager({"candles": [{"t": 1}]})
    monkeypatch.setattr(agents, "get", lambda user_id: manager)
    answer = await ask_history(agents, 7, "SPY", "5m", 0, within=2)
    assert answer == {"candles": [{"t": 1}]}


async def test_a_refusal_reaches_the_asker_as_the_brokers_error(
    agents, monkeypatch, no_hold
) -> None:
    manager = FakeManager(HistoryError("rate_limited", "slow down", 3.0))
    monkeypatch.setattr(agents, "get", lambda user_id: manager)
    with pytest.raises(HistoryError) as caught:
        await ask_history(agents, 7, "SPY", "5m", 0, within=2)
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 3.0)


async def test_the_owner_elsewhere_is_asked_over_the_layer(agents, monkeypatch, no_hold) -> None:
    monkeypatch.setattr(agents, "get", lambda user_id: None)
    asked: list[dict[str, Any]] = []

    async def to_owner(user_id: int, message: dict[str, Any]) -> None:
        asked.append(dict(message))
        reply = await answer_history(FakeManager({"candles": []}), dict(message), 1.0)
        await get_channel_layer().send(message["reply"], reply)

    monkeypatch.setattr(owner_rpc, "to_owner", to_owner)
    assert await ask_history(agents, 7, "QQQ", "1h", 5, within=2) == {"candles": []}
    [request] = asked
    assert request["type"] == ToOwner.CANDLES_REQUEST
    assert (request["symbol"], request["tf"], request["from_ms"]) == ("QQQ", "1h", 5)
    assert 0 < request["deadline"] - time.time() <= 2


async def test_nobody_answering_is_said_in_time(agents, monkeypatch, no_hold) -> None:
    monkeypatch.setattr(agents, "get", lambda user_id: None)

    async def to_owner(user_id: int, message: dict[str, Any]) -> None:
        return None

    monkeypatch.setattr(owner_rpc, "to_owner", to_owner)
    with pytest.raises(HistoryError) as caught:
        await ask_history(agents, 7, "SPY", "5m", 0, within=0.3)
    assert caught.value.code == "broker_error"


async def test_the_owner_here_is_given_up_on_in_time_and_its_work_goes_on(
    agents, monkeypatch, no_hold
) -> None:
    """Found by the API fuzz (tests/e2e/test_api_fuzz.py): the kill switch hung ~37 s (a
    Tradier rate window) when this process owned the stream, where an owner elsewhere is
    given up on after `within` (15 s: a 504 `timeout`). Here now answers None in time too,
    and its work goes on, as an owner elsewhere's does (its late answer unread)."""
    finished = asyncio.Event()

    async def slow(manager: Any, request: dict[str, Any], left: float) -> dict[str, Any]:
        await asyncio.sleep(1.0)
        finished.set()
        return {"type": "test.reply"}

    agents.owner_handlers.register("test.slow", slow)
    monkeypatch.setattr(agents, "get", lambda user_id: FakeManager())
    began = time.monotonic()
    assert await agents.ask_owner(7, {"type": "test.slow"}, within=0.2, reask=0.2) is None
    assert time.monotonic() - began < 0.2 + 0.5  # `within`, and a margin for a loaded box
    await asyncio.wait_for(finished.wait(), timeout=5)  # the second's sleep, with a margin


async def test_a_timed_out_fetch_sends_no_reply() -> None:
    assert (
        await answer_history(
            FakeManager(TimeoutError()), {"symbol": "SPY", "tf": "5m", "from_ms": 0}, 1
        )
        is None
    )


async def test_a_chain_that_cannot_be_built_answers_500(monkeypatch) -> None:
    async def broken(manager: Any, request: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("streaming.chains.owner.answer", broken)
    reply = await answer_chain(FakeManager(), {"symbol": "SPY", "kind": "chain"}, 1.0)
    assert reply["type"] == ToTab.CHAIN_REPLY and reply["status"] == 500
    assert orjson.loads(reply["text"])["code"] == "server_error"


class _FailingPreview:
    """An adapter whose preview raises `exc` (the broker answered badly, or not at all)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def preview_order(self, order: OrderRequest) -> None:
        raise self.exc


async def test_a_failed_preview_says_why_unless_the_broker_did_not_answer() -> None:
    """A preview places nothing, so its failure is said as it is (502 with the reason); only
    a call the broker never answered (a timeout, a connection that broke) is "did not
    answer; try again" (504 `timeout`, which the ticket offers to send again). A loaded CI
    run once showed "did not answer" for a failure whose cause it then hid."""
    manager = SimpleNamespace(user_id=7, state=SimpleNamespace(quotes={}))
    order = OrderRequest(
        account="5WT1",
        order_type="Limit",
        time_in_force="Day",
        price=1.5,
        legs=(OrderLeg.of("SPY", "Buy to Open", 1),),
    )
    ticket = TicketOrder(link=1, order=order)
    for unanswered in (TimeoutError(), httpx.ReadTimeout("slow"), httpx.ConnectError("refused")):
        failing = _FailingPreview(unanswered)
        answer = await owner._preview(manager, failing, ticket, None, Verdict())
        status, body = answer.status, answer.body
        assert (status, body["code"]) == (504, "timeout"), unanswered
        assert body["error"] == "The broker did not answer the preview; try again."
    failed = ValueError("1 validation error for PlacedOrder: status")
    answer = await owner._preview(manager, _FailingPreview(failed), ticket, None, Verdict())
    status, body = answer.status, answer.body
    assert (status, body["code"]) == (502, "broker_error")
    assert body["error"].startswith("The preview failed: ")
    assert "validation error" in body["error"]
