"""Alpaca's trade events and the two streams that carry them: the brokerage's `Order` events
of Alpaca accounts become trade events kept per key (`feed`), sent on the Broker API's SSE
stream (`sse`) and the Trading API's `trade_updates` socket (`trade_updates`)."""
