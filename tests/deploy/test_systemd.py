"""The systemd units in deploy/systemd/ as systemd reads them (`systemd-analyze verify`),
pointed at this checkout: no unknown key, no bad value, every command executable."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.live import ROOT

UNITS = ROOT / "deploy" / "systemd"


def test_units_verify(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (scripts/test.sh installs systemd)"
    for unit in [*UNITS.glob("*.service"), *UNITS.glob("*.target")]:
        text = unit.read_text()
        assert "/opt/streamdesk" in text or unit.suffix == ".target", unit.name
        text = text.replace("/opt/streamdesk", str(ROOT))
        text = text.replace("/etc/streamdesk/env", str(UNITS / "env.example"))
        text = text.replace("User=streamdesk", "User=root").replace(
            "Group=streamdesk", "Group=root"
        )
        name = unit.name.replace("daphne@.service", "daphne@8001.service")
        name = name.replace("workers@.service", "workers@1.service")
        (tmp_path / name).write_text(text)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "streamdesk-daphne@8001.service",
        "streamdesk-prepare.service",
        "streamdesk-workers@1.service",
        "streamdesk.target",
    ]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
