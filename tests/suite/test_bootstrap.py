"""scripts/bootstrap.sh as a user who is not root (issue 60: the suite runs, or says in one
sentence what it needs). A Debian package it needs but cannot install stops it at once,
with one sentence saying what to run; it used to go on (building the virtualenv) while
`sudo apt-get` failed in the background: "sudo: command not found" here, a password
prompt with no one to answer it elsewhere.

The script runs as `nobody` when the suite runs as root, as the suite's user otherwise,
from a copy in a folder of its own (what it would make lands there, not in the repo).
`sudo` is faked, as sudo answers when it needs a password: the one outside edge."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import scratch_dir

ROOT = Path(__file__).resolve().parents[2]
#: A Debian package no machine has.
MISSING = "streamdesk-no-such-package"


def not_root() -> dict[str, Any]:
    """`subprocess.run`'s arguments that run a command as a user who is not root."""
    if os.geteuid() == 0:
        return {"user": "nobody", "group": "nogroup", "extra_groups": []}
    return {}


@pytest.fixture
def checkout() -> Iterator[Path]:
    """scripts/bootstrap.sh alone in a folder anyone can read, and a `sudo` that asks for
    a password no one can type (`sudo -n` fails so) in its bin/."""
    folder = scratch_dir("streamdesk-bootstrap-")
    folder.chmod(0o755)
    (folder / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", folder / "scripts")
    (folder / "bin").mkdir()
    sudo = folder / "bin" / "sudo"
    sudo.write_text('#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n')
    sudo.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_missing_package_without_root_stops_with_one_sentence(checkout: Path):
    env = {
        "PATH": f"{checkout / 'bin'}:{os.environ['PATH']}",
        # a script that went on past the packages stops at once here, building nothing
        "PYTHON": "false",
    }
    done = subprocess.run(
        ["bash", str(checkout / "scripts" / "bootstrap.sh"), "bash", MISSING],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        **not_root(),
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        f"bootstrap: installing {MISSING} needs root: run `sudo apt-get install {MISSING}`"
        " (or this script as root), then run this again.\n",
    )
    assert sorted(path.name for path in checkout.iterdir()) == ["bin", "scripts"]
