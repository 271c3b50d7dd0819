"""Which of the contract's refusal codes a broker's order refusal is, from its HTTP status
and its words: Tradier and Alpaca answer every bad order alike (400/422), so only the
sentence tells an unknown symbol from the rest. Pure functions, no I/O."""

from __future__ import annotations

import re

#: Words of a refusal that name a symbol the broker does not know.
UNKNOWN_SYMBOL = re.compile(
    r"unknown symbol|invalid symbol|not a valid \w+ symbol|not an OCC symbol|asset .* not found",
    re.IGNORECASE,
)


def refusal_code(status: int, sentence: str) -> str:
    """`not_found`, `unknown_symbol`, `unsupported` or `rejected` (orders.OrderRefused)."""
    if status == 404:
        return "not_found"
    if UNKNOWN_SYMBOL.search(sentence):
        return "unknown_symbol"
    if "not supported" in sentence:
        return "unsupported"
    return "rejected"
