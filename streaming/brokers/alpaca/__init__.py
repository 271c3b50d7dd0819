"""Alpaca: the adapters (Broker API: REST + SSE trade events; Trading API), their order
entry and portfolio history, and their wire mapping."""
