"""Benchmark-only settings: `config.settings` plus the channel layer named by
`CHANNEL_LAYER_BACKEND` (when `REDIS_URL` is set).

bench/cluster.py uses this module only when `config.settings` does not read
`CHANNEL_LAYER_BACKEND` itself (it probes first and says so in its header), so that
`--layer pubsub` measures the pubsub layer rather than silently the core one.
Nothing else changes.
"""

import os

from config.settings import *  # noqa: F403
from config.settings import CHANNEL_LAYERS, REDIS_URL

_backend = os.environ.get("CHANNEL_LAYER_BACKEND", "")
if REDIS_URL and _backend:
    CHANNEL_LAYERS = {"default": {**CHANNEL_LAYERS["default"], "BACKEND": _backend}}
