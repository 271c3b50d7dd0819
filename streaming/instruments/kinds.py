"""The five kinds of instrument a trader's accounts hold here, in the contract's words.

The values are tastytrade's `instrument-type` names, which the contract uses for every
broker (Alpaca's `us_equity`, `us_option` and `crypto` are `Equity`, `Equity Option` and
`Cryptocurrency`; Tradier holds equities and equity options only).
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    EQUITY = "Equity"
    EQUITY_OPTION = "Equity Option"
    FUTURE = "Future"
    FUTURE_OPTION = "Future Option"
    CRYPTO = "Cryptocurrency"

    @property
    def is_option(self) -> bool:
        return self in (Kind.EQUITY_OPTION, Kind.FUTURE_OPTION)

    @property
    def words(self) -> str:
        """The kind as a sentence names it ("futures", "crypto")."""
        return WORDS[self]


WORDS = {
    Kind.EQUITY: "stock",
    Kind.EQUITY_OPTION: "options",
    Kind.FUTURE: "futures",
    Kind.FUTURE_OPTION: "future options",
    Kind.CRYPTO: "crypto",
}


def kind_of(instrument_type: object) -> Kind | None:
    """A position's or leg's `instrument_type` as a Kind (Alpaca's own names too); None
    for any other kind (a bond, a warrant): the app shows those, it does not act on them."""
    text = str(instrument_type or "")
    try:
        return Kind(text)
    except ValueError:
        return ALPACA_CLASSES.get(text.lower())


ALPACA_CLASSES = {
    "us_equity": Kind.EQUITY,
    "us_option": Kind.EQUITY_OPTION,
    "crypto": Kind.CRYPTO,
}
