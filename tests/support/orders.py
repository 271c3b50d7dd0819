"""Orders as the sandbox's control API takes them (tastytrade's order JSON, for an
account at any broker): one place, so every test places the same shape."""

from __future__ import annotations

from typing import Any


def market_buy(symbol: str = "DIA", quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """A day market order buying `quantity` shares of `symbol` (`extra`: other order
    fields, e.g. `{"order-type": "Limit", "price": 1.0, "price-effect": "Debit"}`)."""
    return {
        "time-in-force": "Day",
        "order-type": "Market",
        "legs": [
            {
                "instrument-type": "Equity",
                "symbol": symbol,
                "action": "Buy to Open",
                "quantity": quantity,
            }
        ],
        **extra,
    }
