"""The databases live processes start from: migrated and seeded with the demo data once per
test run, then copied for each use.

Migrating an empty database and running `demo_setup --verify` is a Django start-up plus
every migration and three broker logins: ~3 s of CPU, which every daphne of the suite
paid before it served. The result is the same each time (the sandbox derives the demo
accounts from its seed), so it is made once per test run, shared by every pytest process
of the run through a folder of the run (tests/support/processes.py `run_cache`), and
copied: a SQLite file for a LiveApp, a stopped PostgreSQL data directory holding a template
database for a cluster.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.postgres_server import PostgresServer, owned_dir
from tests.support.processes import made_once, run_cache

ROOT = Path(__file__).resolve().parents[2]
#: The template database in a seeded PostgreSQL data directory.
SEEDED_TEMPLATE = "streamdesk_seeded"

#: `migrate`, then `demo_setup --verify`, in one process (one Django start-up).
SEED = (
    "import django\n"
    "django.setup()\n"
    "from django.core.management import call_command\n"
    "call_command('migrate', interactive=False, verbosity=0)\n"
    "call_command('demo_setup', verify=True)\n"
)


def seed(env: dict[str, str]) -> None:
    """Migrate and seed the database `env` names (DATABASE_URL or SQLITE_PATH) against the
    sandbox it names, in a Python process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", SEED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate; demo_setup --verify failed:\n{result.stderr}")


def seeded_sqlite(env: dict[str, str]) -> Path:
    """A SQLite file, migrated and seeded under `env`'s settings module, made once per run
    (against a sandbox of the default configuration: the one the tests' sandboxes share)."""
    target = run_cache() / f"seeded-{env['DJANGO_SETTINGS_MODULE']}.sqlite3"
    with made_once(target) as missing:
        if missing:
            made = target.with_name(target.name + ".new")
            made.unlink(missing_ok=True)
            with SandboxServer(SandboxConfig(tick_rate=0)) as sandbox:
                seed(_pointed_at(env, sandbox.url) | {"SQLITE_PATH": str(made)})
            with contextlib.closing(sqlite3.connect(made)) as db:
                db.execute("PRAGMA journal_mode=DELETE")  # one file holds it all
            os.replace(made, target)
    return target


def copy_seeded_sqlite(env: dict[str, str]) -> None:
    """The seeded SQLite file copied to where `env` points (SQLITE_PATH)."""
    path = Path(env["SQLITE_PATH"])
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(seeded_sqlite(env), path)


def seeded_postgres_data(env: dict[str, str]) -> Path:
    """A stopped PostgreSQL data directory holding `SEEDED_TEMPLATE`: every migration
    applied and the demo data, made once per run. A cluster starts a copy of it and clones
    the template (CREATE DATABASE ... TEMPLATE, ~0.1 s)."""
    target = run_cache() / f"pg-seeded-{env['DJANGO_SETTINGS_MODULE']}"
    with made_once(target) as missing:
        if missing:
            server = PostgresServer()
            try:
                with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{SEEDED_TEMPLATE}"')
                with SandboxServer(SandboxConfig(tick_rate=0)) as sandbox:
                    seed(
                        _pointed_at(env, sandbox.url)
                        | {"DATABASE_URL": server.url(SEEDED_TEMPLATE)}
                    )
                made = owned_dir(target.with_name(target.name + ".new"))
                server.copy_data_to(made / "data")
            finally:
                server.stop()
            os.replace(made, target)
    return target / "data"


#: What says how the app's processes run, not what its database holds: the seed is made
#: once per settings module whatever layout asks first (a `workers` layout's settings
#: refuse to load without the Redis the seeding process has no use for).
LAYOUT_VARS = ("STREAM_MANAGERS",)


def _pointed_at(env: dict[str, str], sandbox_url: str) -> dict[str, str]:
    """`env` without its process layout, its broker URLs at `sandbox_url`."""
    kept = {k: v for k, v in env.items() if k not in LAYOUT_VARS}
    return kept | {"SANDBOX_URL": sandbox_url, "TASTYTRADE_BASE_URL": sandbox_url}
