"""Alpaca: its two adapters (Broker API, Trading API), of the one shape, and the parts
they hold (connection, coin quotes, account streams, balances, order book, reads, order
entry); its order history and its wire mapping."""
