"""Probes of the processes a benchmark starts (bench only, never in the app).

Put this directory first on PYTHONPATH; every Python process started with that
environment (daphne, the sandbox, load generators) then writes, per process:
- with GC_PROBE_DIR set: one line per garbage collection that took 5 ms or more, and
  per full collection, to `$GC_PROBE_DIR/gc-<pid>.log` (`python -m bench.gc_pauses`);
- with SLOW_CALLBACK_DIR set: one line per event-loop callback that ran 20 ms or more
  (its task or callback), to `$SLOW_CALLBACK_DIR/slow-<pid>.log`;
- with HEAP_TYPES_DIR set: on SIGUSR2, the collector's tracked objects counted by type and
  the coroutines by their function (the frozen ones too: the process is thawed first, so
  send it once, at the end of a run), to `$HEAP_TYPES_DIR/types-<pid>.log`: what a full
  collection has to look at.
"""

import gc
import os
import sys
import time

_gc_dir = os.environ.get("GC_PROBE_DIR")
if _gc_dir:
    _started = [0.0]
    _out = open(os.path.join(_gc_dir, f"gc-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
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

_slow_dir = os.environ.get("SLOW_CALLBACK_DIR")
if _slow_dir:
    import asyncio.events

    _run = asyncio.events.Handle._run
    _slow = open(os.path.join(_slow_dir, f"slow-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _slow.write(f"# {' '.join(sys.argv)[:200]}\n")

    def _timed_run(self: asyncio.events.Handle) -> None:
        started = time.perf_counter()
        try:
            _run(self)
        finally:
            took = time.perf_counter() - started
            if took >= 0.02:
                callback = self._callback
                what = repr(getattr(callback, "__self__", callback))[:200]
                _slow.write(f"{time.time():.3f} {took * 1000:.1f} {what}\n")

    asyncio.events.Handle._run = _timed_run

_types_dir = os.environ.get("HEAP_TYPES_DIR")
if _types_dir:
    import signal
    import types
    from collections import Counter

    def _count_types(signum: int, frame: object) -> None:
        gc.unfreeze()
        objects = gc.get_objects()
        counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
        # and what the coroutines are (a task's or an await's): where the tasks come from
        coroutines = Counter(
            f"coroutine {o.cr_code.co_filename.rsplit('/', 2)[-1]}:{o.__qualname__}"
            for o in objects
            if isinstance(o, types.CoroutineType)
        )
        path = os.path.join(_types_dir, f"types-{os.getpid()}.log")
        with open(path, "w") as out:
            out.write(f"# {' '.join(sys.argv)[:200]}\n# tracked {sum(counts.values())}\n")
            for name, n in counts.most_common(60) + coroutines.most_common(40):
                out.write(f"{n} {name}\n")

    signal.signal(signal.SIGUSR2, _count_types)
