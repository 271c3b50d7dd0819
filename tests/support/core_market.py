"""A market and a clock the test sets by hand, for the core brokerage without a façade
(no sockets): every fill price, high-water mark and trigger is exact."""

from __future__ import annotations

T0 = 1_735_830_245.0  # 2025-01-02 15:04:05 UTC


class Market:
    """Mids the test sets; a one-cent spread around them."""

    def __init__(self) -> None:
        self.prices = {"AAPL": 200.0, "SPY": 590.0, "QQQ": 510.0, "MSFT": 420.0}
        self.prices["BTC/USD:CXTALP"] = 95_000.0
        for name in ("TSLA", "NVDA", "AMD", "META", "VTI", "VOO", "SCHD", "VXUS", "BND"):
            self.prices[name] = 100.0

    def ensure(self, symbol: str) -> bool:
        if symbol.startswith("."):
            self.prices.setdefault(symbol, 5.0)
        return symbol in self.prices

    def mid(self, symbol: str) -> float:
        return self.prices[symbol]

    last = mid

    def quote(self, symbol: str) -> dict:
        mid = self.prices[symbol]
        return {"bidPrice": round(mid - 0.01, 2), "askPrice": round(mid + 0.01, 2)}

    def prev_close(self, symbol: str) -> float:
        return self.prices[symbol]


class Clock:
    """A second later at every read: each event of a test has a time of its own."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 1
        return self.now
