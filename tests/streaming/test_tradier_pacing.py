"""Pacing one Tradier token's calls: room kept in the window for the calls that matter most.

Tradier has no order push: the order poll is how a fill or a triggered stop reaches the
page, within its interval. Balances and positions share the standard window with it, so
a balances read may only take room the order polls will not need before the window ends.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from streaming.brokers.tradier.pacing import RateState, RateWindow, Reserve

#: How long a test lets an awaited reservation take on a loaded box.
MARGIN = 2.0


def window_with(available: int, *, allowed: int = 10, seconds_left: float = 30.0) -> RateWindow:
    window = RateWindow("standard")
    expiry_ms = int((time.time() + seconds_left) * 1000)
    window.state = RateState(
        allowed=allowed, used=allowed - available, available=available, expiry_ms=expiry_ms
    )
    return window


def test_a_reserve_counts_the_calls_left_in_the_window():
    reserve = Reserve(per_second=0.5, base=2)
    assert reserve.calls(10.0, allowed=100) == 2 + 5
    assert reserve.calls(0.0, allowed=100) == 2
    assert reserve.calls(10.1, allowed=100) == 2 + 6  # a call partly due is kept
    assert reserve.calls(-3.0, allowed=100) == 2


def test_a_reserve_never_takes_more_than_its_share_of_the_window():
    """Tradier's paper window (60) can be smaller than the order schedule's need: the
    balances still get their share, not nothing."""
    assert Reserve(per_second=1.0, base=2).calls(60.0, allowed=60) == 30


async def test_a_call_that_keeps_room_waits_while_an_urgent_one_goes():
    window = window_with(available=3)
    keep = Reserve(base=3)
    waiting = asyncio.create_task(window.reserve(keep))
    await asyncio.sleep(0)  # it has looked at the window, and waits
    assert not waiting.done()
    await asyncio.wait_for(window.reserve(), MARGIN)  # no reserve: it goes at once
    assert window.in_flight == 1
    waiting.cancel()


async def test_a_call_that_keeps_room_goes_while_the_window_has_more():
    window = window_with(available=5)
    await asyncio.wait_for(window.reserve(Reserve(base=3)), MARGIN)
    await asyncio.wait_for(window.reserve(Reserve(base=3)), MARGIN)
    assert window.in_flight == 2
    third = asyncio.create_task(window.reserve(Reserve(base=3)))
    await asyncio.sleep(0)
    assert not third.done()  # 5 - 2 in flight leaves the 3 kept
    third.cancel()


async def test_a_waiting_call_goes_in_the_next_window():
    window = window_with(available=1, seconds_left=0.2)
    started = time.monotonic()
    await asyncio.wait_for(window.reserve(Reserve(base=3)), 0.2 + MARGIN)
    assert time.monotonic() - started >= 0.2  # not before the window's end
    assert window.waits == 1


@pytest.mark.parametrize("urgent_first", [True, False])
async def test_an_urgent_call_is_never_held_behind_one_that_waits(urgent_first):
    """The window's reservations are not a queue: a balances read waiting for the next
    window does not hold an order read that the window has room for."""
    window = window_with(available=2)
    if urgent_first:
        await window.reserve()
    waiting = asyncio.create_task(window.reserve(Reserve(base=5)))
    await asyncio.sleep(0)
    await asyncio.wait_for(window.reserve(), MARGIN)
    assert not waiting.done()
    waiting.cancel()
