"""One adapter per broker, each emitting the same normalized events (streaming/events.py)."""
