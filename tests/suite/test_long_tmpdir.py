"""The suite runs under any TMPDIR up to 100 characters (issue 60, item 11): a unix
socket's path is at most 107 bytes (sun_path), and the run's folders sit under TMPDIR
(tests/support/processes.py), so no server may bind one there. With a 21-character TMPDIR
every PostgreSQL-backed test failed to start ("... is too long"), and the full Chromium
aborted ("Socket path too long").

tests/suite/long_tmpdir_run.py runs in a pytest of its own (a run of its own, as a clean
clone's) with TMPDIR set to an existing folder at least 100 characters long; each of its
tests is checked here by name."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import (
    CACHE_VAR,
    RUN_VAR,
    run_cache,
    scratch_dir,
    spawn,
    terminate,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).with_name("long_tmpdir_run.py")
#: The longest TMPDIR the README promises.
LONG = 100
#: pytest's start (~3 s), PostgreSQL from the run's initdb copy and Redis (~2 s), each
#: Chromium build (~2 s) on a quiet box: the rest is the margin of a loaded one.
WITHIN = 120.0


@dataclass
class LongRun:
    """What the sample's run left: each test's outcome ("passed", or its failure), the
    socket folder each browser test reported, that folder's mode and owner at the run's
    end, the leftover check's exit code and whether the folder outlived it."""

    outcomes: dict[str, str]
    socket_folders: list[str]
    mode_and_owner: tuple[int, int] | None
    leftover_check: int
    folder_after: bool
    output: str

    def passed(self, test: str) -> None:
        assert self.outcomes.get(test) == "passed", (
            f"{test}: {self.outcomes.get(test, 'did not run')}\n{self.output}"
        )


def _outcomes(junit: Path) -> dict[str, str]:
    if not junit.exists():
        return {}
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = [*case.iter("failure"), *case.iter("error"), *case.iter("skipped")]
        outcomes[case.get("name", "")] = (
            "\n".join(f"{f.get('message', '')}\n{f.text or ''}" for f in failed) or "passed"
        )
    return outcomes


def _mode_and_owner(folder: str) -> tuple[int, int] | None:
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode), info.st_uid


@pytest.fixture(scope="module")
def long_tmpdir() -> Iterator[Path]:
    """An existing folder whose path is `LONG` characters (or more, when this run's own
    TMPDIR is long already), that PostgreSQL's user can reach (it runs as `postgres`
    under root)."""
    base = scratch_dir("streamdesk-long-")
    base.chmod(0o755)
    pad = LONG - len(str(base)) - 1
    folder = base / ("x" * pad) if pad > 0 else base
    folder.mkdir(exist_ok=True)
    assert len(str(folder)) >= LONG
    yield folder
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def long_run(long_tmpdir: Path, tmp_path_factory: pytest.TempPathFactory) -> LongRun:
    """The sample in a run of its own under `long_tmpdir`, ended as scripts/test.sh ends
    one: `python -m tests.support.reaper --run` stops what is left (failing if anything
    is) and removes the run's folders."""
    out = tmp_path_factory.mktemp("long-tmpdir")
    report = out / "sockets"
    run = uuid.uuid4().hex
    env = {
        **os.environ,
        "TMPDIR": str(long_tmpdir),
        RUN_VAR: run,
        CACHE_VAR: str(run_cache()),  # PostgreSQL's initdb, made once
        "LONG_TMPDIR_REPORT": str(report),
    }
    with open(out / "pytest.out", "wb") as log:
        process = spawn(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={out / 'junit.xml'}",
                str(SAMPLE),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        process.wait(timeout=WITHIN)
    finally:
        terminate(process)
    folders = report.read_text().split() if report.exists() else []
    mode_and_owner = _mode_and_owner(folders[0]) if folders else None
    leftovers = subprocess.run(
        [sys.executable, "-m", "tests.support.reaper", "--run", run],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(long_tmpdir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return LongRun(
        _outcomes(out / "junit.xml"),
        folders,
        mode_and_owner,
        leftovers.returncode,
        bool(folders) and Path(folders[0]).exists(),
        (out / "pytest.out").read_text(errors="replace")[-6000:] + leftovers.stderr,
    )


def test_postgresql_and_redis_start_under_a_long_tmpdir(long_run: LongRun):
    long_run.passed("test_postgresql_and_redis_start")


def test_the_full_chromium_starts_under_a_long_tmpdir(long_run: LongRun):
    long_run.passed("test_chromium_starts[full-chromium]")


def test_the_headless_shell_starts_under_a_long_tmpdir(long_run: LongRun):
    long_run.passed("test_chromium_starts[headless-shell]")


def test_a_runs_socket_folder_is_short_private_and_goes_with_the_run(long_run: LongRun):
    """One socket folder for the whole run (`socket_dir()`), short enough for any socket
    name whatever TMPDIR is, its user's alone (0700); the run's end removes it, with
    nothing of the run left running."""
    assert len(long_run.socket_folders) == 2, long_run.output
    folder = long_run.socket_folders[0]
    assert long_run.socket_folders == [folder, folder]
    assert len(folder) <= 16, folder
    assert long_run.mode_and_owner == (0o700, os.geteuid())
    assert (long_run.leftover_check, long_run.folder_after) == (0, False), long_run.output
