"""One previous close for every façade: a position's close price at tastytrade, Tradier
and Alpaca is the market's previous close, the same number every quote reports, so a
Day P&L computed from positions agrees with one computed from quotes."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    # no ticks: prices and marks stay put between the requests a test compares
    return SandboxConfig(tick_rate=0.0, order_step_interval=0, balance_push_interval=0)


def unpadded(symbol: str) -> str:
    """tastytrade's padded OCC (`SPY   250221C00590000`) as Tradier and Alpaca spell it."""
    return symbol.replace(" ", "")


def padded(symbol: str) -> str:
    """An unpadded OCC symbol back to tastytrade's padded spelling; tickers as they are."""
    if len(symbol) <= 15:
        return symbol
    root = symbol[:-15]
    return f"{root:<6}{symbol[-15:]}"


def tasty_positions(base: str) -> dict[str, Decimal]:
    """symbol (unpadded) -> close-price over every account of a fresh tastytrade customer."""
    with httpx.Client(base_url=base, timeout=10) as client:
        grant = {
            "grant_type": "refresh_token",
            "client_secret": "secret",
            "refresh_token": f"close-{uuid.uuid4().hex[:8]}",
        }
        token = client.post("/oauth/token", json=grant).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        closes: dict[str, Decimal] = {}
        for item in client.get("/customers/me/accounts").json()["data"]["items"]:
            number = item["account"]["account-number"]
            for p in client.get(f"/accounts/{number}/positions").json()["data"]["items"]:
                closes[unpadded(p["symbol"])] = Decimal(p["close-price"])
                assert p["average-daily-market-close-price"] == p["close-price"]
        return closes


def tasty_prev_closes(base: str, symbols: list[str]) -> dict[str, Decimal]:
    """symbol (unpadded) -> prev-close from tastytrade's market-data endpoint."""
    with httpx.Client(base_url=base, timeout=10) as client:
        grant = {"grant_type": "refresh_token", "client_secret": "s", "refresh_token": "md"}
        token = client.post("/oauth/token", json=grant).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        params = [("equity-option" if len(s) > 15 else "equity", padded(s)) for s in symbols]
        items = client.get("/market-data/by-type", params=params).json()["data"]["items"]
    return {unpadded(i["symbol"]): Decimal(str(i["prev-close"])) for i in items}


def tradier_positions_and_quotes(base: str) -> tuple[list[str], dict[str, Decimal]]:
    headers = {"Authorization": f"Bearer t-{uuid.uuid4().hex[:8]}", "Accept": "application/json"}
    with httpx.Client(base_url=f"{base}/tradier", headers=headers, timeout=10) as client:
        symbols: list[str] = []
        for account in client.get("/v1/user/profile").json()["profile"]["account"]:
            body = client.get(f"/v1/accounts/{account['account_number']}/positions").json()
            rows = body["positions"]["position"]
            symbols += [p["symbol"] for p in (rows if isinstance(rows, list) else [rows])]
        quotes = client.post("/v1/markets/quotes", data={"symbols": ",".join(symbols)}).json()
    return symbols, {q["symbol"]: Decimal(str(q["prevclose"])) for q in quotes["quotes"]["quote"]}


def alpaca_positions(base: str) -> tuple[dict[str, Decimal], list[dict], list[dict]]:
    auth = (f"AK{uuid.uuid4().hex[:12].upper()}", "secret")
    with httpx.Client(base_url=f"{base}/alpaca", auth=auth, timeout=10) as client:
        closes: dict[str, Decimal] = {}
        accounts, positions = [], []
        for summary in client.get("/v1/accounts").json():
            account_id = summary["id"]
            accounts.append(client.get(f"/v1/trading/accounts/{account_id}/account").json())
            rows = client.get(f"/v1/trading/accounts/{account_id}/positions").json()
            positions.append(rows)
            closes.update({p["symbol"]: Decimal(p["lastday_price"]) for p in rows})
    return closes, accounts, positions


def test_position_close_is_the_quotes_prev_close_at_every_broker(sandbox):
    """tastytrade close-price, Alpaca lastday_price and the Tradier quote's prevclose (what
    a Tradier position's close is taken from) all equal the market's previous close, which
    tastytrade's market data, Tradier's quotes and DXLink's Summary report."""
    tasty = tasty_positions(sandbox.url)
    tradier_symbols, tradier_prev = tradier_positions_and_quotes(sandbox.url)
    alpaca, _, _ = alpaca_positions(sandbox.url)
    assert {"AAPL", "SPY"} <= tasty.keys() & set(tradier_symbols) & alpaca.keys()
    symbols = sorted(tasty.keys() | set(tradier_symbols) | alpaca.keys())
    quoted = tasty_prev_closes(sandbox.url, symbols)
    assert set(quoted) == set(symbols)
    market = sandbox.sandbox.market
    for symbol in symbols:
        name = market_name(symbol)
        assert Decimal(str(market.summary(name)["prevDayClosePrice"])) == quoted[symbol], symbol
    for symbol, close in tasty.items():
        assert close == quoted[symbol], f"tastytrade {symbol}"
    for symbol in tradier_symbols:
        assert tradier_prev[symbol] == quoted[symbol], f"tradier {symbol}"
    for symbol, close in alpaca.items():
        assert close == quoted[symbol], f"alpaca {symbol}"


def market_name(symbol: str) -> str:
    """The market's (streamer) symbol of a ticker or unpadded OCC symbol."""
    from sandbox.core.symbols import parse_occ_symbol

    option = parse_occ_symbol(symbol)
    return option.streamer_symbol if option else symbol


def test_alpaca_day_change_adds_up(sandbox):
    """Alpaca's equity minus last_equity is the sum of the positions' intraday P&L: both
    are measured from the same previous closes."""
    _, accounts, positions = alpaca_positions(sandbox.url)
    for account, rows in zip(accounts, positions, strict=True):
        intraday = sum(Decimal(p["unrealized_intraday_pl"]) for p in rows)
        change = Decimal(account["equity"]) - Decimal(account["last_equity"])
        assert abs(change - intraday) <= Decimal("0.01") * max(1, len(rows)), account["id"]
        for p in rows:
            current, lastday = Decimal(p["current_price"]), Decimal(p["lastday_price"])
            assert Decimal(p["change_today"]) == ((current - lastday) / lastday).quantize(
                Decimal("0.0001")
            )
