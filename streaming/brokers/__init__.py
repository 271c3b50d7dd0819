"""One adapter per broker, each emitting the same normalized events (docs/streaming.md,
"Inside streaming/brokers/"; docs/streaming-contract.md)."""
