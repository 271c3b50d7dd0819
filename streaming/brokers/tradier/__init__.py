"""Tradier: the adapter and the parts it holds (connection, the market stream, account
polls, reads, chains, order entry); its candle and order history and its wire mapping."""
