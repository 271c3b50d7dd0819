"""The scale-out benchmark, `python -m bench.cluster` (its command lines and options:
`__main__.py`). A run starts its servers (`servers.py`: redis-server, the sandbox, the users,
each phase's daphne and stream workers; `processes.py`: all stopped by pid), then runs each
phase (`phase.py`): the tabs connect from load-generator processes (`tabs.py`, `loadgen.py`;
the users: `users.py`), every user's manager goes live at the broker and the tick rate is set
(`broker.py`), and the measured window (`window.py`) reads /proc, each daphne's /metrics
(`metrics.py`) and, with `--profile`, py-spy (`profilers.py`). The tabs' results are merged
(`results.py`), printed (`header.py`, `report.py`) and judged against the targets
(`judge.py`); `--sweep` runs the phases at several sizes (`sweep.py`); `--burst` runs one
phase in three windows, quiet, 10x the quote rate and recovery (`burst.py`,
`burst_report.py`)."""
