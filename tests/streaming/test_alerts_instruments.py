"""Price alerts on every kind that streams, end to end on a real daphne and the sandbox with
the demo's holdings: an alert on a coin (through tastytrade's DXLink, and for a user with
Alpaca only through the Alpaca link's coin feed, `BTCUSD` resolved through their
holdings), a future and a future option (the mid of its quote: it has no trades at
tastytrade), each made in one of the instrument's spellings, stored as its contract
symbol, fires once on a crossing the control API drives, and says the display name
(docs/streaming-contract.md, "Price alerts"). The market stands still between jumps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.streaming.test_candles_instruments import (  # noqa: F401 (fixtures)
    COIN,
    FUTURE,
    OPTION,
    kinds,
    kinds_app,
    kinds_sandbox,
    market,
    mid,
    priced_after_jump,
    stream_quote,
)
from tests.support.live import LiveApp
from tests.support.wait import poll_until

#: How long a crossing may take to show as a trigger: a flush, the owner's write, a poll.
FIRED_WITHIN = 20


def create(app: LiveApp, client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-CSRFToken": client.cookies.get("csrftoken") or "", "Origin": app.url}
    r = client.post("/api/alerts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def fired(client: httpx.Client, alert_id: int, nudge: Callable[[], object] | None = None) -> dict:
    """The alert's trigger, once the stream's owner fired it."""

    def trigger() -> dict | None:
        if nudge is not None:
            nudge()
        listing = client.get("/api/alerts").json()
        return next((t for t in listing["triggers"] if t["alert_id"] == alert_id), None)

    return poll_until(trigger, within=FIRED_WITHIN, what=f"alert {alert_id} fired")


def triggers_of(client: httpx.Client, alert_id: int) -> list[dict]:
    return [t for t in client.get("/api/alerts").json()["triggers"] if t["alert_id"] == alert_id]


@pytest.mark.parametrize(
    ("user", "spelled", "below", "above"),
    [("kt", "BTC/USD", 90_000.0, 91_000.5), ("ka", "BTCUSD", 88_000.0, 91_250.75)],
)
def test_an_alert_on_a_coin_fires_on_the_coins_own_quote(
    kinds_app,  # noqa: F811
    kinds,  # noqa: F811
    market,  # noqa: F811
    user,
    spelled,
    below,
    above,
):
    """At tastytrade by DXLink; for a user with Alpaca only by its coin feed, `BTCUSD` (the
    Alpaca position's own spelling) being the coin they hold, not a look-alike ticker."""
    client = kinds[user]
    stream_quote(
        client, COIN, lambda q: q.get("last") == below, nudge=lambda: market.set_price(COIN, below)
    )
    alert = create(kinds_app, client, {"symbol": spelled, "condition": "above", "level": 90_500})
    assert (alert["symbol"], alert["display"], alert["armed"]) == (COIN, "BTC/USD", True)
    assert triggers_of(client, alert["id"]) == []  # 90,000 is not above 90,500
    trigger = fired(client, alert["id"], nudge=lambda: market.set_price(COIN, above))
    assert (trigger["symbol"], trigger["display"], trigger["price"]) == (COIN, "BTC/USD", above)
    assert trigger["message"] == f"BTC/USD rose to {above:,.2f}, above 90,500.00"
    listing = client.get("/api/alerts").json()
    (stored,) = [a for a in listing["alerts"] if a["id"] == alert["id"]]
    assert (stored["active"], stored["crossings"]) == (False, 1)


def test_an_alert_on_a_future_fires_on_its_quote(kinds_app, kinds, market):  # noqa: F811
    client = kinds["kt"]
    market.set_price(FUTURE, 6_000.0)
    stream_quote(client, FUTURE, lambda q: q.get("last") == 6_000.0)
    alert = create(kinds_app, client, {"symbol": "/ESZ6", "condition": "below", "level": 5_900})
    assert (alert["symbol"], alert["display"]) == (FUTURE, "/ES Dec 26")
    assert triggers_of(client, alert["id"]) == []
    market.set_price(FUTURE, 5_875.25)
    trigger = fired(client, alert["id"])
    assert (trigger["display"], trigger["price"]) == ("/ES Dec 26", 5_875.25)
    assert trigger["message"] == "/ES Dec 26 fell to 5,875.25, below 5,900.00"


def test_an_alert_on_a_future_option_fires_on_its_quotes_mid(
    kinds_app,  # noqa: F811
    kinds,  # noqa: F811
    market,  # noqa: F811
):
    """The option's quote at tastytrade is its bid and ask: the alert compares their mid."""
    client = kinds["kt"]
    before = mid(priced_after_jump(client, market, 6_050.0))
    assert before is not None
    level = round(before + 100, 2)
    body = {"symbol": "./ESZ6 ESZ6 261218C6000", "condition": "above", "level": level}
    alert = create(kinds_app, client, body)
    assert (alert["symbol"], alert["display"]) == (OPTION, "/ES Dec 26 6000 C")
    assert triggers_of(client, alert["id"]) == []
    now = mid(priced_after_jump(client, market, 6_400.0))  # it gains its delta x 350 points
    assert now is not None and now > level
    trigger = fired(client, alert["id"])
    assert trigger["display"] == "/ES Dec 26 6000 C"
    assert trigger["price"] == pytest.approx(now)
    assert trigger["message"].startswith("/ES Dec 26 6000 C rose to ")
