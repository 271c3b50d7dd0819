"""docs/streaming-contract.md in code: a module per part of the contract, each holding
its shapes.

`close_codes` (how the server ends a socket), `frames` (what a client receives, and the
types of message it sends), `layer` (the group names and what crosses the channel layer
between processes), `news` (the news hint, articles, the news SSE stream's events), `risk`
(market metrics, portfolio limits, P&L over the day) and `trading` (order entry at the
owner). An importer imports a name from the module that holds it: this package re-exports
nothing. Contract time (epoch milliseconds) is `streaming.brokers.values.now_ms`.
"""
