"""tastytrade: the adapter (OAuth session, the account streamer, DXLink), its order
entry, its reads (candles, net liq, metrics) and its wire mapping."""
