"""A server process of the naive baseline (bench/baselines.py: one frame per tick).

    python -m config.serve ... bench.naive:application   # daphne, as config.asgi
    python -m bench.naive stream_workers                  # manage.py, as is

Only the benchmark runs this; production code holds production behaviour.
"""

from __future__ import annotations

import os
import sys

from bench.baselines import use_per_tick_quotes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

if __name__ == "__main__":
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    use_per_tick_quotes()
    execute_from_command_line(["manage.py", *sys.argv[1:]])
else:
    from config.asgi import application

    use_per_tick_quotes()
    __all__ = ["application"]
