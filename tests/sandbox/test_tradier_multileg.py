"""Tradier multileg option orders over real sockets, with the indexed form Tradier's
documentation shows: previewed, placed, listed with their legs, filled by the simulation
or cancelled, and refused in Tradier's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from tests.sandbox.test_tradier_orders import account_of, order_events
from tests.support.tradier import tradier_client


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(): the events a test reads are the ones its own
    calls caused (a background step could add a `Live` event between two reads)."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0)


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as c:
        yield c


def calls(api: httpx.Client, underlying: str = "SPY") -> list[dict]:
    """The calls of the underlying's last listed expiration, by strike."""
    expiration = api.get("/v1/markets/options/expirations", params={"symbol": underlying}).json()[
        "expirations"
    ]["date"][-1]
    chain = api.get(
        "/v1/markets/options/chains", params={"symbol": underlying, "expiration": expiration}
    ).json()["options"]["option"]
    return sorted((o for o in chain if o["option_type"] == "call"), key=lambda o: o["strike"])


def vertical(api: httpx.Client, **terms: str) -> dict[str, str]:
    """A bull call spread, two contracts of each leg: buy the lower strike, sell the next."""
    chain = calls(api)
    low, high = chain[len(chain) // 2], chain[len(chain) // 2 + 1]
    form = {
        "class": "multileg", "symbol": "SPY", "duration": "day",
        "option_symbol[0]": low["symbol"], "side[0]": "buy_to_open", "quantity[0]": "2",
        "option_symbol[1]": high["symbol"], "side[1]": "sell_to_open", "quantity[1]": "2",
    }  # fmt: skip
    form.update(terms)
    return form


def test_a_vertical_previewed_placed_listed_and_cancelled(sandbox, api, control):
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    form = vertical(api, type="debit", price="0.01", tag="sd-vertical-1")  # far below the market
    preview = api.post(url, data={**form, "preview": "true"})
    assert preview.status_code == 200, preview.text
    said = preview.json()["order"]
    assert (said["status"], said["result"], said["class"], said["type"]) == (
        "ok", True, "multileg", "debit",
    )  # fmt: skip
    assert said["symbol"] == "SPY" and said["quantity"] == 4.0 and said["price"] == 0.01
    assert said["order_cost"] == 2.0  # 0.01 net x 2 spreads x 100
    assert said["commission"] == 4.0  # one dollar a contract, four contracts
    assert said["cost"] == 6.0 and "id" not in said
    assert api.get(url).json() == {"orders": "null"}  # the preview placed nothing

    events = order_events(sandbox)
    placed = api.post(url, data=form)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    assert placed.json() == {"order": {"id": order_id, "status": "ok"}}
    (event,) = [e for e in events if e.kind == "Order"]  # what the account streams push
    assert event.record.id == order_id and len(event.record.legs) == 2
    assert event.record.price == Decimal("-0.01")  # the core's signed net: a debit
    control.step()  # Received -> Live; not marketable at 0.01

    listed = api.get(url, params={"includeTags": "true"}).json()["orders"]["order"]
    assert listed["id"] == order_id and listed["tag"] == "sd-vertical-1"
    assert (listed["class"], listed["type"], listed["status"], listed["num_legs"]) == (
        "multileg", "debit", "open", 2,
    )  # fmt: skip
    assert (listed["symbol"], listed["price"], listed["duration"]) == ("SPY", 0.01, "day")
    assert [(leg["option_symbol"], leg["side"], leg["quantity"]) for leg in listed["leg"]] == [
        (form["option_symbol[0]"], "buy_to_open", 2.0),
        (form["option_symbol[1]"], "sell_to_open", 2.0),
    ]
    for leg in listed["leg"]:
        assert (leg["class"], leg["symbol"], leg["type"], leg["status"]) == (
            "option", "SPY", "debit", "open",
        )  # fmt: skip
        assert (leg["exec_quantity"], leg["remaining_quantity"], leg["price"]) == (0.0, 2.0, 0.01)
    one = api.get(f"{url}/{order_id}").json()["order"]
    assert one["leg"] == listed["leg"] and "tag" not in one

    cancelled = api.delete(f"{url}/{order_id}")
    assert cancelled.json() == {"order": {"id": order_id, "status": "ok"}}
    after = api.get(f"{url}/{order_id}").json()["order"]
    assert after["status"] == "canceled"
    assert [leg["status"] for leg in after["leg"]] == ["canceled", "canceled"]


def test_a_market_vertical_is_filled_by_the_simulation(api, control):
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    # Tradier's own example sends a price with a market order: it is not used
    form = vertical(api, type="market", price="1.0")
    control.configure(tick_rate=0.0)  # option quotes hold still between the calls
    symbols = f"{form['option_symbol[0]']},{form['option_symbol[1]']}"
    low, high = api.get("/v1/markets/quotes", params={"symbols": symbols}).json()["quotes"]["quote"]
    preview = api.post(url, data={**form, "preview": "true"}).json()["order"]
    # a market spread is costed at the far sides: the long leg's ask less the short's bid
    assert preview["order_cost"] == pytest.approx((low["ask"] - high["bid"]) * 2 * 100)
    assert preview["type"] == "market" and "price" not in preview
    order_id = api.post(url, data=form).json()["order"]["id"]
    control.step()
    control.step()
    filled = api.get(f"{url}/{order_id}").json()["order"]
    assert (filled["status"], filled["type"], filled["exec_quantity"]) == ("filled", "market", 4.0)
    assert "price" not in filled
    for leg in filled["leg"]:
        assert (leg["status"], leg["exec_quantity"], leg["remaining_quantity"]) == (
            "filled", 2.0, 0.0,
        )  # fmt: skip
        assert leg["avg_fill_price"] > 0 and leg["last_fill_quantity"] == 2.0
    held = api.get(f"/v1/accounts/{account}/positions").json()["positions"]["position"]
    by_symbol = {p["symbol"]: p["quantity"] for p in held}
    assert by_symbol[form["option_symbol[0]"]] == 2.0
    assert by_symbol[form["option_symbol[1]"]] == -2.0


def test_a_credit_spread_changed_in_place_keeps_its_credit(api, control):
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    form = vertical(api, type="credit", price="50.00")  # asks far more than it is worth
    form["side[0]"], form["side[1]"] = "sell_to_open", "buy_to_open"
    order_id = api.post(url, data=form).json()["order"]["id"]
    control.step()
    changed = api.put(f"{url}/{order_id}", data={"price": "40.00"})
    assert changed.status_code == 200, changed.text
    order = api.get(f"{url}/{order_id}").json()["order"]
    assert (order["type"], order["price"], order["status"]) == ("credit", 40.0, "open")
    refused = api.put(f"{url}/{order_id}", data={"type": "limit"})
    assert refused.json() == {
        "errors": {
            "error": [
                "Invalid order type limit: a multileg order is one of market, debit, credit, even"
            ]
        }
    }
    even = api.put(f"{url}/{order_id}", data={"type": "even"})
    assert even.status_code == 200, even.text
    assert api.get(f"{url}/{order_id}").json()["order"]["type"] == "even"


def test_multileg_refusals_in_tradier_shape(api):
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    chain = calls(api)
    base = vertical(api, type="debit", price="1.00")
    one_leg = {k: v for k, v in base.items() if not k.endswith("[1]")}
    five = dict(base)
    for index in range(2, 5):
        five[f"option_symbol[{index}]"] = chain[index]["symbol"]
        five[f"side[{index}]"] = "buy_to_open"
        five[f"quantity[{index}]"] = "1"
    qqq = calls(api, "QQQ")[0]["symbol"]
    for form, message in (
        (one_leg, "A multileg order needs 2 to 4 legs, not 1."),
        (five, "A multileg order needs 2 to 4 legs, not 5."),
        (
            {**base, "option_symbol[1]": qqq},
            f"option_symbol[1] {qqq} is not an option on SPY: all legs must share one underlying.",
        ),
        (
            {**base, "option_symbol[1]": "SPY"},
            "option_symbol[1] 'SPY' is not an OCC option symbol: "
            "a multileg order takes option legs only.",
        ),
        (
            {**base, "side[1]": "sell"},
            "Unsupported side[1] 'sell': one of buy_to_open, buy_to_close, sell_to_open, "
            "sell_to_close.",
        ),
        (
            {**base, "type": "limit"},
            "Unsupported order type 'limit': a multileg order is one of market, debit, "
            "credit, even.",
        ),
        ({**base, "price": ""}, "A debit order needs a net price above zero, not ''."),
        ({**base, "quantity[1]": "0"}, "Quantity must be greater than zero."),
        ({**base, "duration": "pre"}, "Duration pre is not supported"),
    ):
        for preview in ("true", "false"):
            refused = api.post(url, data={**form, "preview": preview})
            assert refused.status_code == 400, (form, refused.text)
            assert refused.json() == {"errors": {"error": [message]}}, form
    assert api.get(url).json() == {"orders": "null"}


def test_a_covered_call_combo_placed_listed_and_filled(sandbox, api, control):
    """documentation.tradier.com place-combo-order: `class=combo`, `symbol` the
    underlying, leg 0 the shares (`side[0]` buy, `quantity[0]` 100, no option_symbol), leg 1
    the option (`option_symbol[1]`, `side[1]` sell_to_open); GET answers it as the
    get-account-orders example's covered call: `class` combo and a `leg` array of one
    equity and one option order. A market combo fills both legs."""
    account = account_of(api)
    url = f"/v1/accounts/{account}/orders"
    call = calls(api)[-1]  # far out of the money: the premium is small
    positions = f"/v1/accounts/{account}/positions"
    before = {
        p["symbol"]: p["quantity"] for p in api.get(positions).json()["positions"]["position"]
    }
    form = {
        "class": "combo", "symbol": "SPY", "type": "market", "duration": "day",
        "side[0]": "buy", "quantity[0]": "100",
        "option_symbol[1]": call["symbol"], "side[1]": "sell_to_open", "quantity[1]": "1",
    }  # fmt: skip
    placed = api.post(url, data=form)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    control.step()  # Received -> Live
    control.step()  # filled at the quotes
    listed = api.get(f"{url}/{order_id}").json()["order"]
    assert (listed["class"], listed["type"], listed["status"], listed["num_legs"]) == (
        "combo", "market", "filled", 2,
    )  # fmt: skip
    shares, option = listed["leg"]
    assert (shares["class"], shares["symbol"], shares["side"], shares["quantity"]) == (
        "equity", "SPY", "buy", 100.0,
    )  # fmt: skip
    assert "option_symbol" not in shares
    assert (option["class"], option["option_symbol"], option["side"], option["quantity"]) == (
        "option", call["symbol"], "sell_to_open", 1.0,
    )  # fmt: skip
    assert {shares["status"], option["status"]} == {"filled"}
    held = {p["symbol"]: p["quantity"] for p in api.get(positions).json()["positions"]["position"]}
    assert (held["SPY"] - before.get("SPY", 0), held[call["symbol"]]) == (100.0, -1.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"option_symbol[0]": "SPY", "side[0]": "buy_to_open"}, "first leg is the shares"),
        ({"side[0]": "buy_to_open"}, "Unsupported side[0] 'buy_to_open'"),
        ({"quantity[0]": "10.5"}, "Bad quantity[0] '10.5'"),
    ],
)
def test_a_combo_is_refused_in_tradiers_error_shape(api, changes, message):
    account = account_of(api)
    form = {
        "class": "combo", "symbol": "SPY", "type": "market", "duration": "day",
        "side[0]": "buy", "quantity[0]": "100",
        "option_symbol[1]": calls(api)[-1]["symbol"], "side[1]": "sell_to_open",
        "quantity[1]": "1", **changes,
    }  # fmt: skip
    refused = api.post(f"/v1/accounts/{account}/orders", data=form)
    assert refused.status_code == 400, refused.text
    assert message in refused.text
