"""What a trader should do about a broker link in `error`, in one sentence, for the
server-rendered dashboard (the page's script says the same: static/js/stream/link-advice.js;
both are held to tests/fixtures/link-advice.json).

`error` needs an operator (docs/streaming-contract.md, "link status"): a rejected
credential is linked again in the admin, and meanwhile streamdesk tries it again by itself
(`retry_in`, seconds from the error kind's `since`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

#: How each broker is named in a sentence.
BROKER_NAMES = {"tastytrade": "tastytrade", "tradier": "Tradier", "alpaca": "Alpaca"}
#: The kinds in the order their error is looked at (the account kind holds the login).
KINDS = ("account", "quotes")
#: A retry due within this long (or overdue) is "any moment now" (ms).
IMMINENT_MS = 1000
_REJECTED = re.compile(r"\brejected\b", re.IGNORECASE)


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _wait(link: Mapping[str, Any]) -> float | None:
    wait = link.get("retry_in")
    return float(wait) if _finite(wait) and wait >= 0 else None


def wait_text(ms: float) -> str:
    """ "40 s", "4 min", "2 h" (rounded up: never promises a retry sooner than it is)."""
    seconds = math.ceil(ms / 1000)
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{math.ceil(minutes / 60)} h"


def _error_kind(link: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kinds = link.get("kinds")
    if not isinstance(kinds, Mapping):
        return None
    for name in KINDS:
        kind = kinds.get(name)
        if isinstance(kind, Mapping) and kind.get("state") == "error":
            return kind
    return None


def _retry_sentence(link: Mapping[str, Any], now_ms: float | None) -> str:
    wait = _wait(link)
    if not _finite(now_ms) or wait is None:
        return ""
    kind = _error_kind(link)
    since = kind.get("since") if kind is not None and _finite(kind.get("since")) else None
    since = since if since is not None else link.get("since")
    if not _finite(since):
        return ""
    left = since + wait * 1000 - now_ms
    if left <= IMMINENT_MS:
        return "streamdesk tries it again any moment now."
    return f"streamdesk tries it again by itself in about {wait_text(left)}."


def link_advice(link: Mapping[str, Any] | None, now_ms: float | None = None) -> str:
    """One sentence for a link status object in `error`; "" for any other state. With
    `now_ms` (epoch ms) it says when the next automatic try is."""
    if not isinstance(link, Mapping) or link.get("state") != "error":
        return ""
    broker = BROKER_NAMES.get(str(link.get("broker")), "The broker")
    label = link.get("label")
    label = f" for “{label.strip()}”" if isinstance(label, str) and label.strip() else ""
    kind = _error_kind(link)
    reason = str((kind.get("reason") if kind is not None else "") or link.get("reason") or "")
    if _REJECTED.search(reason):
        what = (
            f"{broker} rejected the saved credential{label}: ask your operator to link the"
            " account again in the admin (Broker links)."
        )
    else:
        what = (
            f"{broker} cannot be used{label} until your operator checks the link in the"
            " admin (Broker links)."
        )
    retry = _retry_sentence(link, now_ms) or (
        "streamdesk keeps trying it by itself." if _wait(link) is not None else ""
    )
    return f"{what} {retry}" if retry else what
