"""Every instrument kind a broker documents, carried from the broker's own position words
through its adapter's wire function onto the dashboard, in a real Chromium.

The stream is faked (tests/browser/fake_stream.py): the page is the real one, logged in
against the live app, and the snapshot it gets holds the contract positions each adapter
made of the brokers' documented examples, with a live quote for each streamer symbol. Each
row must name the instrument as the broker did, stream under the right symbol, and value
its open P&L with the right multiplier: (mark - average open) * quantity * multiplier.

Sources:
- tastytrade: the `CurrentPosition` fields (developer.tastytrade.com api-guides/positions;
  the SDK's tastytrade/account.py), symbology for futures, future options and coins
  (developer.tastytrade.com api-overview, as copied in tastytrade/tastytrade-mcp), and a
  future option's dollars per point, which are the future's `notional-multiplier` (the
  instruments endpoints: tastytrade/instruments.py, `Looked`).
- Alpaca: the Position entity with `asset_class` us_equity, us_option, crypto (alpaca-py
  alpaca/trading/models.py `Position`; the crypto one is alpacahq/alpaca-docs
  data/webapi/entities/position-crypto.yaml's example, `BTCUSD`).
- Tradier: get-account-positions (documentation.tradier.com/brokerage-api/accounts/
  get-account-positions): `cost_basis`, `date_acquired`, `id`, `quantity`, `symbol`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from tastytrade.account import CurrentPosition

from streaming.brokers.alpaca import wire as alpaca_wire
from streaming.brokers.tastytrade import wire as tastytrade_wire
from streaming.brokers.tastytrade.instruments import Looked
from streaming.brokers.tradier import wire as tradier_wire
from tests.browser.fake_stream import FakeStream, link, log_in, quote, snapshot
from tests.streaming.test_orders_real_alpaca import CRYPTO_POSITION

TT, ALPACA, TRADIER = "5WT00001", "PA1ALPACA01", "VA000001"


def tastytrade_position(
    symbol: str, kind: str, underlying: str, quantity: str, avg: str, close: str, multiplier: str
) -> CurrentPosition:
    """A tastytrade position as its positions endpoint words it."""
    return CurrentPosition.model_validate(
        {
            "account-number": TT,
            "symbol": symbol,
            "instrument-type": kind,
            "underlying-symbol": underlying,
            "quantity": quantity,
            "quantity-direction": "Long",
            "close-price": close,
            "average-open-price": avg,
            "average-yearly-market-close-price": avg,
            "average-daily-market-close-price": close,
            "multiplier": multiplier,
            "cost-effect": "Debit",
            "is-suppressed": False,
            "is-frozen": False,
            "restricted-quantity": "0",
            "realized-day-gain": "0",
            "realized-day-gain-effect": "None",
            "realized-day-gain-date": "2026-11-27",
            "realized-today": "0",
            "realized-today-effect": "None",
            "realized-today-date": "2026-11-27",
            "created-at": "2026-11-20T15:30:00.000+00:00",
            "updated-at": "2026-11-27T14:00:00.000+00:00",
        }
    )


#: (account, symbol, what the row says under its name (the kind),
#: its streamer symbol, quantity text, average open, multiplier, the contract position the
#: adapter made)
Row = tuple[str, str, str, str, str, float, int, dict[str, Any]]


def row(number: str, payload: Any, kind: str, quantity: str, avg: float, multiplier: int) -> Row:
    """One expected row of the adapter's contract position `payload`."""
    position = dict(payload)
    symbol, streamer = str(position["symbol"]), str(position["streamer_symbol"])
    return (number, symbol, kind, streamer, quantity, avg, multiplier, position)


def rows() -> list[Row]:
    # symbol, kind, underlying, quantity, average open, close, the position's own
    # multiplier; what the instruments endpoints say; the row's words; the multiplier
    # its P&L must use (a future option's instrument says 1; its point is the future's $50)
    es = Looked("/ESZ26:XCME", Decimal(50))
    es_put = Looked("./EW3U26P9100:XCME", Decimal(50))
    btc = Looked("BTC/USD:CXTALP")
    tt = [
        (("/ESZ6", "Future", "/ES", "2", "5990", "6000", "1"), es, "Future", 50),
        (("./ESZ6 EW3U6 260918P9100", "Future Option", "/ESZ6", "1", "12.5", "13", "1"), es_put,
         "Future Option", 50),
        (("BTC/USD", "Cryptocurrency", "BTC/USD", "0.25", "60000", "61000", "1"), btc,
         "Cryptocurrency", 1),
        (("SPY   261218C00600000", "Equity Option", "SPY", "3", "20", "21", "100"), None,
         "Equity Option", 100),
    ]  # fmt: skip
    out = [
        row(TT, tastytrade_wire.position_payload(tastytrade_position(*words), looked), kind,
            words[3], float(words[4]), multiplier)
        for words, looked, kind, multiplier in tt
    ]  # fmt: skip
    alpaca = [
        (
            CRYPTO_POSITION,
            "Cryptocurrency",
            "2.61937",  # as Alpaca sent it: the screen does not round what is held
            1,
        ),
        (
            {
                "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
                "symbol": "AAPL261218C00250000",
                "exchange": "",
                "asset_class": "us_option",
                "avg_entry_price": "4.1",
                "qty": "2",
                "qty_available": "2",
                "side": "long",
                "market_value": "900",
                "cost_basis": "820",
                "current_price": "4.5",
                "lastday_price": "4.3",
                "change_today": "0.0465",
            },
            "Equity Option",
            "2",
            100,
        ),
    ]
    out += [
        row(ALPACA, alpaca_wire.position_payload(raw), kind, quantity,
            float(raw["avg_entry_price"]), multiplier)
        for raw, kind, quantity, multiplier in alpaca
    ]  # fmt: skip
    tradier = [
        (
            {
                "cost_basis": 207.01,
                "date_acquired": "2018-08-08T14:41:11.405Z",
                "id": 130089,
                "quantity": 1.00000000,
                "symbol": "AAPL",
            },
            "Equity",
            "1",
            207.01,
            1,
        ),
        (
            {
                "cost_basis": 1552.00,
                "date_acquired": "2018-08-10T15:36:55.000Z",
                "id": 130090,
                "quantity": 2.00000000,
                "symbol": "SPY180824C00285000",
            },
            "Equity Option",
            "2",
            7.76,
            100,
        ),
    ]
    out += [
        row(TRADIER, tradier_wire.position_payload(raw, None), kind, quantity, avg, multiplier)
        for raw, kind, quantity, avg, multiplier in tradier
    ]
    return out


def accounts_of(table: list[Row]) -> list[dict[str, Any]]:
    by_number: dict[str, dict[str, Any]] = {}
    for number, link_id, broker in (
        (TT, 1, "tastytrade"),
        (ALPACA, 2, "alpaca"),
        (TRADIER, 3, "tradier"),
    ):
        by_number[number] = {
            "number": number,
            "link": link_id,
            "broker": broker,
            "label": f"{broker} documented",
            "simulated": True,
            "balance": {"net_liquidating_value": 100_000.0, "buying_power": 50_000.0},
            "positions": [],
        }
    for number, *_, payload in table:
        by_number[number]["positions"].append(payload)
    return list(by_number.values())


#: Each streamer symbol's live price: far enough from every average open that a wrong
#: multiplier shows in the P&L's dollars.
#: Each streamer symbol's display name (docs/streaming-contract.md "Instruments").
DISPLAY = {
    "/ESZ26:XCME": "/ES Dec 26",
    "./EW3U26P9100:XCME": "/ES Dec 26 9100 P 18 Sep",  # on the Dec future, its own date
    "BTC/USD:CXTALP": "BTC/USD",
    ".SPY261218C600": "SPY 18 Dec 26 600 C",
    ".AAPL261218C250": "AAPL 18 Dec 26 250 C",
    "AAPL": "AAPL",
    ".SPY180824C285": "SPY 24 Aug 18 285 C",
}
MARK = {
    "/ESZ26:XCME": 6010.0,
    "./EW3U26P9100:XCME": 14.0,
    "BTC/USD:CXTALP": 62000.0,
    ".SPY261218C600": 22.0,
    ".AAPL261218C250": 4.6,
    "AAPL": 210.0,
    ".SPY180824C285": 8.0,
}


@pytest.mark.parametrize("number, symbol", [(r[0], r[1]) for r in rows()])
def test_a_documented_position_of_every_kind_is_named_streamed_and_valued(
    page: Page, browser_app, number: str, symbol: str
):
    table = rows()
    (row,) = [r for r in table if (r[0], r[1]) == (number, symbol)]
    _, _, kind, streamer, quantity, avg, multiplier, payload = row
    fake = FakeStream(page)
    log_in(page, browser_app.url)
    now = fake.now_ms()
    quotes = {s: quote(now, price - 0.01, price + 0.01, last=price) for s, price in MARK.items()}
    links = [
        link(1, now, broker="tastytrade", quote_source=True),
        link(2, now, broker="alpaca", quotes="idle"),
        link(3, now, broker="tradier", quotes="idle"),
    ]
    snap = snapshot(now, accounts=accounts_of(table), quotes=quotes, links=links, watchlist=[])
    fake.go_live(snap, n=1)

    tr = page.locator(f"tr[data-position='{number}|{symbol}']")
    expect(tr).to_have_count(1)
    expect(tr).to_have_attribute("data-streamer", streamer)
    assert streamer in MARK, f"{symbol} streams as {streamer}, which has no quote here"
    expect(tr.locator(".sub")).to_have_text(kind)
    # named as a trader reads it, the broker's own symbol in the cell's title
    expect(tr.locator(".sym")).to_have_text(DISPLAY[streamer])
    expect(tr.locator("[data-field=symbol]")).to_have_attribute("title", symbol)
    expect(tr.locator("[data-field=quantity]")).to_have_text(quantity)
    assert float(tr.locator("[data-field=quantity]").get_attribute("data-value") or "nan") == (
        float(payload["quantity"])
    )
    mark = tr.locator("[data-field=mark]")
    expect(mark).not_to_have_class("broker-mark")
    expect(mark).not_to_have_attribute("data-value", "")
    assert float(mark.get_attribute("data-value") or "nan") == MARK[streamer]
    assert payload["multiplier"] == multiplier
    expected = (MARK[streamer] - avg) * float(payload["quantity"]) * multiplier
    open_pnl = tr.locator("[data-field=open_pnl]")
    expect(open_pnl).not_to_have_attribute("data-value", "")
    shown = float(open_pnl.get_attribute("data-value") or "nan")
    assert abs(shown - expected) < 0.01, (shown, expected)
    assert page.errors == []  # type: ignore[attr-defined]
