"""What the simulated market lists: the named tickers (start price, volatility,
description), which are indices, ETFs, stocks or futures, and option roots' underlyings."""

from __future__ import annotations

from sandbox.core.symbols import classify, crypto_pair

# symbol -> (start price, annualized vol, description)
KNOWN: dict[str, tuple[float, float, str]] = {
    "SPY": (590.0, 0.15, "SPDR S&P 500 ETF Trust"),
    "QQQ": (510.0, 0.20, "Invesco QQQ Trust, Series 1"),
    "IWM": (225.0, 0.22, "iShares Russell 2000 ETF"),
    "DIA": (430.0, 0.14, "SPDR Dow Jones Industrial Average ETF Trust"),
    "VOO": (542.0, 0.15, "Vanguard S&P 500 ETF"),
    "VTI": (290.0, 0.16, "Vanguard Total Stock Market ETF"),
    "SCHD": (28.0, 0.13, "Schwab U.S. Dividend Equity ETF"),
    "VXUS": (61.0, 0.15, "Vanguard Total International Stock ETF"),
    "BND": (72.0, 0.06, "Vanguard Total Bond Market ETF"),
    "AAPL": (243.0, 0.25, "Apple Inc. - Common Stock"),
    "MSFT": (420.0, 0.24, "Microsoft Corporation - Common Stock"),
    "NVDA": (135.0, 0.50, "NVIDIA Corporation - Common Stock"),
    "TSLA": (400.0, 0.60, "Tesla, Inc. - Common Stock"),
    "AMZN": (220.0, 0.30, "Amazon.com, Inc. - Common Stock"),
    "META": (600.0, 0.35, "Meta Platforms, Inc. - Class A Common Stock"),
    "GOOGL": (190.0, 0.30, "Alphabet Inc. - Class A Common Stock"),
    "GOOG": (191.0, 0.30, "Alphabet Inc. - Class C Capital Stock"),
    "AMD": (125.0, 0.50, "Advanced Micro Devices, Inc. - Common Stock"),
    "SPX": (5900.0, 0.15, "S&P 500 Index"),
    "XSP": (590.0, 0.15, "Mini-SPX Index"),
    "NDX": (21000.0, 0.20, "Nasdaq-100 Index"),
    "RUT": (2250.0, 0.22, "Russell 2000 Index"),
    "VIX": (16.0, 0.90, "CBOE Volatility Index"),
    "/ES": (5900.0, 0.15, "E-mini S&P 500 Futures"),
    "/MES": (5900.0, 0.15, "Micro E-mini S&P 500 Futures"),
    "/NQ": (21000.0, 0.20, "E-mini Nasdaq-100 Futures"),
    "/MNQ": (21000.0, 0.20, "Micro E-mini Nasdaq-100 Futures"),
    "/RTY": (2250.0, 0.22, "E-mini Russell 2000 Futures"),
    "/YM": (43000.0, 0.14, "E-mini Dow Futures"),
    "/CL": (70.0, 0.35, "Crude Oil Futures"),
    "/GC": (2650.0, 0.15, "Gold Futures"),
    "/SI": (30.0, 0.28, "Silver Futures"),
    "/NG": (3.2, 0.60, "Natural Gas Futures"),
    "/ZB": (118.0, 0.10, "30-Year U.S. Treasury Bond Futures"),
    "/ZN": (109.0, 0.06, "10-Year U.S. Treasury Note Futures"),
    "/6E": (1.04, 0.08, "Euro FX Futures"),
}
#: The coins the market quotes against the dollar (24/7), by pair, as KNOWN lists tickers.
CRYPTO: dict[str, tuple[float, float, str]] = {
    "BTC/USD": (95000.0, 0.55, "Bitcoin"),
    "ETH/USD": (3400.0, 0.70, "Ethereum"),
    "SOL/USD": (180.0, 0.90, "Solana"),
}
CRYPTO_PAIRS = tuple(CRYPTO)
INDICES = frozenset({"SPX", "XSP", "NDX", "RUT", "VIX", "DJX"})
ETFS = frozenset({"SPY", "QQQ", "IWM", "DIA", "VOO", "VTI", "SCHD", "VXUS", "BND"})
UNIT_BETA = frozenset({"SPY", "SPX", "XSP", "/ES", "/MES"})
# Option roots whose underlying has another symbol.
ROOT_ALIASES = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX", "XSPW": "XSP"}


def instrument_kind(symbol: str) -> str | None:
    """What a ticker is in the simulated market: "index", "etf", "stock", "future" or "crypto";
    None if the market would not quote it. A coin's name in any spelling is the coin
    (`coin_named`): the market makes up no equity under it."""
    kind = classify(symbol)
    if kind in ("future", "crypto"):
        return kind
    if coin_named(symbol) is not None:
        return "crypto"
    if kind != "equity":
        return None
    if symbol in INDICES:
        return "index"
    return "etf" if symbol in ETFS else "stock"


def named_symbols() -> dict[str, str]:
    """The tickers the market knows by name, with their descriptions (any other valid
    ticker is quoted too, at a made-up price: these are the ones it lists and searches)."""
    return {symbol: known[2] for symbol, known in KNOWN.items()}


def crypto_feed_symbol(pair: str) -> str | None:
    """The feed symbol of a listed pair ("BTC/USD" -> "BTC/USD:CXTALP"), else None."""
    return f"{pair}:CXTALP" if pair in CRYPTO_PAIRS else None


def coin_named(symbol: str) -> str | None:
    """The listed coin a symbol names in any of its spellings, else None: the pair
    (`BTC/USD`), its feed symbol (`BTC/USD:CXTALP`) or the pair without its slash
    (`BTCUSD`, Alpaca's legacy spelling, which its API still takes for the coin:
    docs.alpaca.markets, "Crypto Trading"). A made-up market could otherwise quote a
    look-alike equity under a coin's name at a second, unrelated price."""
    if not isinstance(symbol, str):
        return None
    text = symbol.strip().upper().removesuffix(":CXTALP")
    if text in CRYPTO:
        return text
    return next((pair for pair in CRYPTO_PAIRS if pair.replace("/", "") == text), None)


def is_crypto(symbol: str) -> bool:
    return crypto_pair(symbol) is not None


def option_underlying(root: str) -> str:
    """The underlying an option root settles on ("SPXW" -> "SPX"; most roots are their own)."""
    return ROOT_ALIASES.get(root, root)


def listed_symbols() -> list[tuple[str, str, bool]]:
    """The symbols the market knows by name (equities, ETFs and indices; futures trade
    elsewhere) as (symbol, description, is an index): what a symbol look-up searches."""
    return [(s, d, s in INDICES) for s, (_, _, d) in KNOWN.items() if not s.startswith("/")]
