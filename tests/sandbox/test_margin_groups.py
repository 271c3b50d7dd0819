"""The margin rule's rounding: each underlying's requirement is figured to the cent once
(`sandbox/core/margin.py`), the balance's requirement is the sum of those, and the margin
report lists the same figures, so no cent of one group's rounding is moved into another.

The brokerage core against the controllable market of `test_brokerage.py` (seed 7: SPY 10
and 3 calls, AAPL 50, META short 15, a QQQ put short 1), with prices whose half-cents make
the per-underlying roundings and one rounding of the account's total differ by a cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from tests.sandbox.test_brokerage import make

CENT = Decimal("0.01")
#: the equity rates (long, short); an option's value is required in full
RATES = {("Equity", "Long"): Decimal("0.25"), ("Equity", "Short"): Decimal("0.30")}


def maintenance_by_underlying(positions: list[dict]) -> dict[str, Decimal]:
    """The rule for equities and options, per underlying: 25 % of long and 30 % of short
    equity value plus the options' value, rounded to the cent half up (`cents`)."""
    exact: dict[str, Decimal] = {}
    for p in positions:
        assert p["instrument-type"] in ("Equity", "Equity Option"), p
        rate = RATES.get((p["instrument-type"], p["quantity-direction"]), Decimal(1))
        underlying = p["underlying-symbol"]
        exact[underlying] = exact.get(underlying, Decimal(0)) + rate * Decimal(p["mark"])
    return {u: value.quantize(CENT, rounding=ROUND_HALF_UP) for u, value in exact.items()}


def test_each_underlying_keeps_its_own_cent_and_the_balance_is_their_sum():
    broker, market, _, margin, _ = make()
    market.prices.update(SPY=590.005, META=400.005)  # values 5,900.05 and 6,000.08
    positions = broker.positions(margin)
    assert {(p["symbol"], p["quantity-direction"]) for p in positions} >= {
        ("SPY", "Long"),
        ("META", "Short"),
    }
    expected = maintenance_by_underlying(positions)
    total = sum(expected.values(), Decimal(0))
    # one rounding of the account's exact total would be a cent more: 0.0125 + 0.024
    assert expected["SPY"] == Decimal("2975.01") and expected["META"] == Decimal("1800.02")
    assert total + CENT == sum(
        (
            RATES.get((p["instrument-type"], p["quantity-direction"]), Decimal(1))
            * Decimal(p["mark"])
            for p in positions
        ),
        Decimal(0),
    ).quantize(CENT, rounding=ROUND_HALF_UP)

    report = broker.core.margin_requirements(margin)
    assert {e.underlying_symbol: e.maintenance_requirement for e in report.entries} == expected
    assert broker.core.balance(margin).maintenance_requirement == total
    assert report.maintenance_requirement == total
