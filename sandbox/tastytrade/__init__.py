"""tastytrade as its SDK sees it: REST, DXLink, the account streamer, its wire format."""
