"""A server process of a naive baseline (bench/baselines.py; `BENCH_NAIVE`: group-send,
the default, or per-tick).

    python -m config.serve ... bench.naive:application   # daphne, as config.asgi
    python -m bench.naive stream_workers                  # manage.py, as is

Only the benchmark runs this; production code holds production behaviour.
"""

from __future__ import annotations

import os
import sys

from bench.baselines import use_naive

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
KIND = os.environ.get("BENCH_NAIVE", "group-send")

if __name__ == "__main__":
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    use_naive(KIND)
    execute_from_command_line(["manage.py", *sys.argv[1:]])
else:
    from config.asgi import application

    use_naive(KIND)
    __all__ = ["application"]
