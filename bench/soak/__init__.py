"""An accelerated trading day with faults, `python -m bench.soak` (its commands: `__main__.py`)."""
