"""Log every garbage-collector pause of this process (bench only, never in the app).

Put this directory first on PYTHONPATH and set GC_PROBE_DIR: every Python process
started with that environment (daphne, the sandbox, load generators) appends one line
per collection that took 5 ms or more, and per full collection, to
`$GC_PROBE_DIR/gc-<pid>.log`. `python -m bench.gc_pauses $GC_PROBE_DIR` sums them up.
"""

import gc
import os
import sys
import time

_dir = os.environ.get("GC_PROBE_DIR")
if _dir:
    _started = [0.0]
    _out = open(os.path.join(_dir, f"gc-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _out.write(f"# {' '.join(sys.argv)[:200]}\n")

    def _probe(phase: str, info: dict) -> None:
        if phase == "start":
            _started[0] = time.perf_counter()
            return
        took = time.perf_counter() - _started[0]
        if took >= 0.005 or info["generation"] == 2:
            _out.write(
                f"{time.time():.3f} {info['generation']} {took * 1000:.1f} "
                f"{gc.get_freeze_count()}\n"
            )

    gc.callbacks.append(_probe)
