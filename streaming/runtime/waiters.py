"""Settling the futures of callers who wait for a batch they joined (a relay message, a
gathered database write): one outcome for all of them, each waiter once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


def settle(waiters: Iterable[asyncio.Future[None]], error: BaseException | None) -> None:
    """Done with `error` (cancelled for a cancellation), or with None without one; a waiter
    already done (it gave up) is left as it is."""
    for waiter in waiters:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(None)
        elif isinstance(error, asyncio.CancelledError):
            waiter.cancel()
        else:
            waiter.set_exception(error)
