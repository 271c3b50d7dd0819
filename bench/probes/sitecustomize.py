"""Probes of the processes a benchmark starts (bench only, never in the app).

Put this directory first on PYTHONPATH; every Python process started with that
environment (daphne, the sandbox, load generators) then writes, per process:
- with GC_PROBE_DIR set: one line per garbage collection that took 5 ms or more, and
  per full collection, to `$GC_PROBE_DIR/gc-<pid>.log` (`python -m bench.gc_pauses`);
- with SLOW_CALLBACK_DIR set: one line per event-loop callback that ran 20 ms or more
  (its task or callback), to `$SLOW_CALLBACK_DIR/slow-<pid>.log`;
- with STALL_PROBE_DIR set: one line per stretch of 40 ms or more in which the main
  thread's event loop did not get back to waiting for I/O, to `$STALL_PROBE_DIR/stall-<pid>.log`:
  when it ended, how long it was, and the main thread's stacks sampled in it (a thread
  samples every 5 ms; under uvloop too, where SLOW_CALLBACK_DIR sees nothing). A
  stretch is one turn of the loop that ran long, or several with no wait between them;
  a garbage collection in it shows as one long gap between samples;
- with TURN_PROBE_DIR set: per window of `TURN_PROBE_WINDOW` s (10), how long a task that
  wakes at a random moment (a timer 5-10 ms out) then waits for one turn of its event loop
  (`sleep(0)`), to `$TURN_PROBE_DIR/turns-<pid>.log`: what each hop of a frame (a task woken
  by a socket, a queue or a future) waits for whatever else that turn runs, and how late
  the timer fired; measured in the loop, unbiased by the GIL;
- with HEAP_TYPES_DIR set: on SIGUSR2, the collector's tracked objects counted by type and
  the coroutines by their function (the frozen ones too: the process is thawed first, so
  send it once, at the end of a run), to `$HEAP_TYPES_DIR/types-<pid>.log`: what a full
  collection has to look at.
"""

import gc
import os
import sys
import time
import types
from typing import Any

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

_stall_dir = os.environ.get("STALL_PROBE_DIR")
if _stall_dir:
    import threading
    import traceback

    _main_id = threading.main_thread().ident
    _stalls = open(os.path.join(_stall_dir, f"stall-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _stalls.write(f"# {' '.join(sys.argv)[:200]}\n")
    #: The frames that run an event loop: Twisted's reactor over asyncio (uvloop's
    #: run_forever is C), asyncio's own.
    _LOOP = {("asyncioreactor.py", "run"), ("base_events.py", "run_forever")}
    #: The innermost Python frame of a loop that waits for I/O: a loop frame itself
    #: (uvloop, in C below it), or asyncio's selector call.
    _WAITING = _LOOP | {("selectors.py", "select")}

    def _name(frame: types.FrameType) -> tuple[str, str]:
        return os.path.basename(frame.f_code.co_filename), frame.f_code.co_name

    def _in_loop(frame: types.FrameType | None) -> bool:
        while frame is not None:
            if _name(frame) in _LOOP:
                return True
            frame = frame.f_back
        return False

    def _where(frame: types.FrameType) -> str:
        stack = traceback.extract_stack(frame)[-8:]
        return " < ".join(
            f"{os.path.basename(s.filename)}:{s.lineno}:{s.name}" for s in reversed(stack)
        )

    def _watch() -> None:
        busy_since = None
        samples: list[str] = []
        while True:
            time.sleep(0.005)
            frame = sys._current_frames().get(_main_id)
            if frame is None:
                return
            now = time.perf_counter()
            if _name(frame) in _WAITING:
                took = now - busy_since if busy_since is not None else 0.0
                if took >= 0.04:
                    where = " || ".join(samples[:20])
                    _stalls.write(f"{time.time():.3f} {took * 1000:.0f} {len(samples)} | {where}\n")
                busy_since = None
            elif not _in_loop(frame):  # starting up or shutting down: not the loop's time
                busy_since = None
            else:
                if busy_since is None:
                    busy_since, samples = now, []
                samples.append(_where(frame))

    threading.Thread(target=_watch, name="stall-probe", daemon=True).start()

_turn_dir = os.environ.get("TURN_PROBE_DIR")
if _turn_dir:
    import asyncio
    import random

    _window = float(os.environ.get("TURN_PROBE_WINDOW", "10"))
    _turns_out = open(os.path.join(_turn_dir, f"turns-{os.getpid()}.log"), "a", buffering=1)  # noqa: SIM115
    _turns_out.write(f"# {' '.join(sys.argv)[:200]}\n")

    def _ms(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    async def _turn_probe() -> None:
        while True:
            turns: list[float] = []
            late: list[float] = []
            end = time.perf_counter() + _window
            while time.perf_counter() < end:
                wanted = 0.005 + random.random() * 0.005
                asked = time.perf_counter()
                await asyncio.sleep(wanted)
                woke = time.perf_counter()
                late.append(woke - asked - wanted)
                await asyncio.sleep(0)
                turns.append(time.perf_counter() - woke)
            _turns_out.write(
                f"{time.time():.3f} n={len(turns)} turn ms p50 {_ms(turns, 0.5):.2f} "
                f"p90 {_ms(turns, 0.9):.2f} p99 {_ms(turns, 0.99):.2f} max {max(turns) * 1000:.2f}"
                f" | timer late ms p50 {_ms(late, 0.5):.2f} p99 {_ms(late, 0.99):.2f} "
                f"max {max(late) * 1000:.2f}\n"
            )

    def _probed(make: Any) -> Any:
        """A loop factory whose loops start the probe once they run."""

        def make_probed(*args: Any) -> asyncio.AbstractEventLoop:
            loop = make(*args)
            loop.call_soon(lambda: loop.create_task(_turn_probe()))
            return loop

        return make_probed

    # asyncio's policy, and uvloop's (its policy calls the module's `new_event_loop`)
    asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop = _probed(  # type: ignore[method-assign]
        asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop
    )
    try:
        import uvloop
    except ImportError:
        pass
    else:
        uvloop.new_event_loop = _probed(uvloop.new_event_loop)
