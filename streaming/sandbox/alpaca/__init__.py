"""Alpaca under `/alpaca`: the Broker API and its trade-event SSE stream."""
