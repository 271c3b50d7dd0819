"""`/api/snapshot`: the `snapshot` frame as JSON, every live page's polling fallback when a
socket cannot stay open, with each position's β-weighted delta (the risk feature's)."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from streaming import validation
from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.portfolio.owner import poll_symbols_announce
from streaming.portfolio.page import snapshot_for
from streaming.risk.labels import with_beta_delta
from streaming.stream.subscriptions import POLL_TAB_PREFIX, POLL_TAB_TTL

#: A polling page's own id (`/api/snapshot?tab=`): random per page, never a channel name.
POLL_TAB_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
POLL_TAB_ERROR = "tab must be 8 to 64 letters, digits, '-' or '_' (one id per page)"


async def api_snapshot(request: HttpRequest) -> JsonResponse:
    """The `snapshot` frame as JSON: the polling fallback when a socket cannot stay open.
    `?tab=<id>&symbols=…` also holds the page's extra symbols subscribed while it polls."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    tab = request.GET.get("tab")
    if tab is not None and not POLL_TAB_ID.fullmatch(tab):
        return errors.sentence_error(400, POLL_TAB_ERROR)
    extra = sorted(validation.symbols_param(request.GET.get("symbols")) or ())
    # a polling page holds the stream between its polls, as a socket would
    hold = max(settings.STREAM_IDLE_GRACE, POLL_TAB_TTL) if tab is not None else None
    snapshot, _ = await snapshot_for(agents_of(request), user.id, extra=extra, hold=hold)
    if tab is not None:  # a polling tab's subscription, renewed by every poll
        tab_name = f"{POLL_TAB_PREFIX}{tab}"
        await poll_symbols_announce(user.id, tab_name, extra, ttl=POLL_TAB_TTL)
    return JsonResponse(with_beta_delta(dict(snapshot)))
