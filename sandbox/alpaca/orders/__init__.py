"""Alpaca's order semantics, one implementation for the Broker API
(`/v1/trading/accounts/{id}/orders…`) and the Trading API (`/v2/orders…`): submit (qty or
notional: `submit`, with `rules`), read one or query them (`query`), replace (PATCH: a NEW
order, the old one `replaced`: `replace`), cancel one or all (207: `cancel`), and the linked
order classes (bracket, oco, oto: `brackets`). `outcomes` maps the core's refusals to
Alpaca's codes and publishes what changed, so the trade events follow.

Orders live in the core brokerage, which keeps each order's client order id and replacement
links; only an order's notional amount and extended-hours flag are façade notes. Stops,
stop-limits and trailing stops are the core's: their `stop_price` and trail go in on the
`OrderRequest`, and come back (a trailing stop's with its high-water mark and current stop)
on its record.
"""
