"""Alpaca under `/alpaca`: the Broker API, the Trading API and their event streams, over
one Alpaca order model (layers: wire → render → customers → trade_events.feed → facade →
semantics (orders/, positions, accounts, …) → endpoints → broker_api (+ trade_events.sse) /
trading_api / trade_events.trade_updates)."""
