"""The scale-out benchmark, `python -m bench.cluster` (its command lines: `__main__.py`)."""
