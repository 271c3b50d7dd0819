"""The dashboard links an option chain for what has one (streaming/chains/service.py
`chain_links`): a stock's, an option's root; a coin, a future and an option on a future have
no equity option chain, and their contract symbols (`BTC/USD:CXTALP`) cannot even be a
chain page's path: the dashboard must never try to link them."""

from __future__ import annotations

from streaming.chains.service import chain_links


def test_only_what_has_an_option_chain_is_linked():
    positions = [
        {"symbol": "SPY", "streamer_symbol": "SPY", "underlying": "SPY"},
        {"symbol": "SPY270115C00590000", "streamer_symbol": ".SPY270115C590", "underlying": "SPY"},
        {"symbol": "BTCUSD", "streamer_symbol": "BTC/USD:CXTALP", "underlying": "BTC/USD:CXTALP"},
        {"symbol": "/ESZ6", "streamer_symbol": "/ESZ26:XCME", "underlying": "/ESZ26:XCME"},
        {
            "symbol": "./ESZ6 ESZ6 261218C6000",
            "streamer_symbol": "./ESZ26C6000:XCME",
            "underlying": "/ESZ26:XCME",
        },
        {"symbol": "GOOGL 261224C00190000", "streamer_symbol": ".GOOGL261224C190"},
    ]
    snapshot = {"accounts": [{"positions": positions}]}
    watchlist = ["AAPL", "ETH/USD:CXTALP", "/CLF27:XNYM", ".SPY270115C590", "BRK/B"]
    # BRK/B has options, but a slash cannot be in the chain page's path (`chain/<symbol>`)
    assert chain_links(snapshot, watchlist) == ["SPY", "GOOGL", "AAPL"]
