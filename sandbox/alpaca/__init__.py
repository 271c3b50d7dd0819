"""Alpaca under `/alpaca`: the Broker API, the Trading API and their event streams, over
one Alpaca order model (layers: wire → render → customers → trade_events → facade → semantics →
endpoints → broker_api (+ trade_sse) / trading_api / trade_stream)."""
