"""The Tradier multileg form built from the contract's order: its fields for a vertical
and an iron condor, the debit/credit decision, the refusals; then the form POSTed with
httpx to the sandbox, accepted, and read back as the Tradier adapter reads orders."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from streaming.brokers.orders.entry import OrderLeg, OrderRefused, OrderRequest
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.multileg import multileg_form, net_effect
from streaming.brokers.tradier.wire import order_payloads
from streaming.instruments.symbols import occ_to_streamer_symbol
from tests.support.tradier import tradier_client


def order(*legs: tuple[str, str, int], **terms) -> OrderRequest:
    values = {"account": "VA1", "order_type": "Limit", "time_in_force": "Day"}
    values.update(terms)
    return OrderRequest(legs=tuple(OrderLeg.of(s, a, q) for s, a, q in legs), **values)


BULL_CALL = (
    (".SPY270115C590", "Buy to Open", 2),
    (".SPY270115C595", "Sell to Open", 2),
)
IRON_CONDOR = (
    (".SPY270115P570", "Buy to Open", 1),
    (".SPY270115P575", "Sell to Open", 1),
    (".SPY270115C605", "Sell to Open", 1),
    (".SPY270115C610", "Buy to Open", 1),
)


def indexed(*legs: tuple[str, str, str]) -> dict[str, str]:
    """Tradier's indexed leg fields for (OCC symbol, side, quantity) legs."""
    fields: dict[str, str] = {}
    for index, (symbol, side, quantity) in enumerate(legs):
        fields.update(
            {
                f"option_symbol[{index}]": symbol,
                f"side[{index}]": side,
                f"quantity[{index}]": quantity,
            }
        )
    return fields


def test_the_form_of_a_vertical_and_an_iron_condor():
    vertical = order(*BULL_CALL, price=Decimal("2.35"), client_order_id="sd-41")
    assert multileg_form(vertical, preview=True) == {
        "class": "multileg", "symbol": "SPY", "type": "debit", "price": "2.35", "duration": "day",
        **indexed(
            ("SPY270115C00590000", "buy_to_open", "2"), ("SPY270115C00595000", "sell_to_open", "2")
        ),
        "tag": "sd-41", "preview": "true",
    }  # fmt: skip
    condor = order(*IRON_CONDOR, price=Decimal("1.10"), time_in_force="GTC")
    assert multileg_form(condor, preview=False) == {
        "class": "multileg", "symbol": "SPY", "type": "credit", "price": "1.10", "duration": "gtc",
        **indexed(
            ("SPY270115P00570000", "buy_to_open", "1"),
            ("SPY270115P00575000", "sell_to_open", "1"),
            ("SPY270115C00605000", "sell_to_open", "1"),
            ("SPY270115C00610000", "buy_to_open", "1"),
        ),
    }  # fmt: skip
    market = multileg_form(order(*IRON_CONDOR, order_type="Market"), preview=False)
    assert market["type"] == "market" and "price" not in market and "tag" not in market
    even = multileg_form(order(*BULL_CALL, price=Decimal(0)), preview=False)
    assert even["type"] == "even" and "price" not in even


def test_debit_or_credit_from_the_legs():
    closing = ((".SPY270115C590", "Sell to Close", 2), (".SPY270115C595", "Buy to Close", 2))
    straddle = ((".SPY270115C590", "Buy to Open", 1), (".SPY270115P590", "Buy to Open", 1))
    butterfly = (
        (".SPY270115C585", "Buy to Open", 1),
        (".SPY270115C590", "Sell to Open", 2),
        (".SPY270115C595", "Buy to Open", 1),
    )
    calendar = ((".SPY270115C590", "Sell to Open", 1), (".SPY270319C590", "Buy to Open", 1))
    risk_reversal = ((".SPY270115C600", "Buy to Open", 1), (".SPY270115P580", "Sell to Open", 1))
    ratio = ((".SPY270115C590", "Buy to Open", 1), (".SPY270115C600", "Sell to Open", 2))
    assert net_effect(order(*BULL_CALL)) == "Debit"
    assert net_effect(order(*closing)) == "Credit"  # selling the spread back
    assert net_effect(order(*IRON_CONDOR)) == "Credit"
    assert net_effect(order(*straddle)) == "Debit"
    assert net_effect(order(*butterfly)) == "Debit"
    assert net_effect(order(*calendar)) == "Debit"
    assert net_effect(order(*risk_reversal)) is None  # the prices decide
    assert net_effect(order(*ratio)) is None
    told = multileg_form(
        order(*risk_reversal, price=Decimal("0.40")), preview=False, price_effect="Credit"
    )
    assert (told["type"], told["price"]) == ("credit", "0.40")
    with pytest.raises(OrderRefused) as untold:
        multileg_form(order(*risk_reversal, price=Decimal("0.40")), preview=False)
    assert untold.value.code == "unsupported"
    assert "debit or a credit" in str(untold.value)


def test_what_a_tradier_multileg_order_does_not_take():
    for legs, words in (
        (BULL_CALL[:1], "2 to 4 legs, not 1"),
        ((*IRON_CONDOR, (".SPY270115C615", "Buy to Open", 1)), "2 to 4 legs, not 5"),
        ((BULL_CALL[0], (".QQQ270115C500", "Sell to Open", 2)), "one underlying, not QQQ, SPY"),
        ((BULL_CALL[0], ("SPY", "Sell to Open", 100)), "option legs only, not SPY"),
    ):
        with pytest.raises(OrderRefused) as refused:
            multileg_form(order(*legs, price=Decimal("1.00")), preview=False)
        assert refused.value.code == "unsupported" and words in str(refused.value), words


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as c:
        yield c


def contract_calls(api: httpx.Client) -> list[str]:
    """The sandbox's SPY calls of its last expiration, as the contract names them."""
    expiration = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"}).json()[
        "expirations"
    ]["date"][-1]
    chain = api.get(
        "/v1/markets/options/chains", params={"symbol": "SPY", "expiration": expiration}
    ).json()["options"]["option"]
    symbols = sorted((o for o in chain if o["option_type"] == "call"), key=lambda o: o["strike"])
    return [occ_to_streamer_symbol(o["symbol"]) or "" for o in symbols]


def test_the_sandbox_takes_the_form_and_the_adapter_reads_the_order_back(api, control):
    calls = contract_calls(api)
    middle = len(calls) // 2
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    account = next(a for a in accounts if a["type"] == "margin")["account_number"]
    url = f"/v1/accounts/{account}/orders"
    spread = order(
        (calls[middle], "Buy to Open", 3),
        (calls[middle + 1], "Sell to Open", 3),
        account=account,
        price=Decimal("0.01"),  # far below what the spread is worth: it rests
        client_order_id="sd-77",
    )
    previewed = api.post(url, data=multileg_form(spread, preview=True))
    assert previewed.status_code == 200, previewed.text
    assert previewed.json()["order"]["type"] == "debit"
    assert previewed.json()["order"]["order_cost"] == 3.0  # 0.01 x 3 spreads x 100
    placed = api.post(url, data=multileg_form(spread, preview=False))
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    control.step()  # Received -> Live

    listed = api.get(url, params={"includeTags": "true"}).json()["orders"]["order"]
    assert (listed["id"], listed["tag"], listed["status"]) == (order_id, "sd-77", "open")
    [seen] = order_payloads(listed, FillBook())
    assert (seen["order_type"], seen["broker_type"]) == ("Limit", "debit")
    assert (seen["price"], seen["price_effect"]) == (0.01, "Debit")
    assert (seen["order_class"], seen["status"], seen["underlying"]) == ("multileg", "Live", "SPY")
    assert [(leg["action"], leg["quantity"]) for leg in seen["legs"]] == [
        ("buy_to_open", 3.0),
        ("sell_to_open", 3.0),
    ]
    assert api.delete(f"{url}/{order_id}").status_code == 200
