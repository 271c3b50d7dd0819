"""tastytrade: the adapter and the parts it holds (connection, DXLink quotes, the account
streamer, reads, chains, order entry); its order history and its wire mapping."""
