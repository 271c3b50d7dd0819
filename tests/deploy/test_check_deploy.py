"""`manage.py check --deploy` with the shipped production environment
(deploy/systemd/env.example): with its secrets made as its comments say, Django's deploy
checks find nothing but what the shipped nginx site does instead (the http → https
redirect); with a placeholder secret key left in, the check (and every start) refuses."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_ENCRYPTION_KEY
from tests.support.live import ROOT

ENV_FILE = ROOT / "deploy" / "systemd" / "env.example"
#: A check's id as `check` prints it: `(security.W004)`.
CHECK_ID = re.compile(r"\((\w+\.[A-Z]\d+)\)")


def shipped_env() -> dict[str, str]:
    """The variables env.example sets, as systemd's EnvironmentFile= reads them."""
    found = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def check_deploy(
    env: dict[str, str],
    static_root: Path,
    argv: tuple[str, ...] = ("manage.py", "check", "--deploy"),
) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` (or `argv`) in a clean process with exactly `env` (and
    PATH/HOME)."""
    clean = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **env,
            "STATIC_ROOT": str(static_root),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def with_secrets(env: dict[str, str]) -> dict[str, str]:
    """The shipped environment with its secrets made as an operator makes them."""
    return {
        **env,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "STREAMDESK_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
    }


def test_check_deploy_with_the_shipped_env_sends_hsts(tmp_path: Path):
    """No security.W004 (HSTS), and no other warning but W008: the shipped nginx site
    redirects http to https itself (its port-80 server), so Django need not."""
    result = check_deploy(with_secrets(shipped_env()), tmp_path)
    assert result.returncode == 0, result.stderr
    assert CHECK_ID.findall(result.stdout + result.stderr) == ["security.W008"], result.stderr


def test_check_deploy_refuses_the_shipped_placeholder_secret_key(tmp_path: Path):
    """The env file's `DJANGO_SECRET_KEY` left as shipped: an error that says how to make
    one, not a warning among others."""
    env = with_secrets(shipped_env())
    env["DJANGO_SECRET_KEY"] = shipped_env()["DJANGO_SECRET_KEY"]
    result = check_deploy(env, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is a placeholder or too weak" in result.stderr, result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr
    assert "Traceback" not in result.stderr
    # and the daphne unit's start (deploy/systemd/streamdesk-daphne@.service) stops alike
    serve = ("-m", "config.serve", "-b", "127.0.0.1", "-p", "0", "config.asgi:application")
    started = check_deploy(env, tmp_path, serve)
    assert started.returncode == 1
    assert started.stderr.startswith("streamdesk: DJANGO_SECRET_KEY is a placeholder"), started


def test_check_deploy_warns_when_behind_a_proxy_every_client_shares_its_address(tmp_path: Path):
    """The shipped env names nginx's X-Real-IP as the client's address; without it, behind
    the proxy every client has the proxy's address and one guesser locks everyone out of
    logging in: a deploy warning says so."""
    env = with_secrets(shipped_env())
    assert env["DJANGO_CLIENT_ADDRESS_HEADER"] == "HTTP_X_REAL_IP"
    del env["DJANGO_CLIENT_ADDRESS_HEADER"]
    result = check_deploy(env, tmp_path)
    assert result.returncode == 0, result.stderr
    found = CHECK_ID.findall(result.stdout + result.stderr)
    assert sorted(found) == ["security.W008", "streaming.W101"], result.stderr
    assert "one guesser locks everyone out" in result.stderr
    assert "DJANGO_CLIENT_ADDRESS_HEADER=HTTP_X_REAL_IP" in result.stderr
