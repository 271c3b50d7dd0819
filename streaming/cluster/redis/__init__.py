"""Redis for the cluster: the channel layer on Redis, its health, and batched writes."""
