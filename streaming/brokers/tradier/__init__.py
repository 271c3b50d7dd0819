"""Tradier: the adapter (REST polling, the HTTP market stream), its order entry, its
history and its wire mapping."""
