"""Alpaca under `/alpaca`: the Broker API and its trade-event SSE stream."""

# broker_api first: the endpoint modules (accounts, orders, ...) import its helpers and it
# imports them back for its route list, which works only in this order.
from . import broker_api  # noqa: F401
