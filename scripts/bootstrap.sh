#!/usr/bin/env bash
# Install what streamdesk needs on a fresh Debian machine: Debian packages given as
# arguments (only when missing), a Python 3.11 virtualenv in .venv, the pinned
# requirements (re-installed only when the requirements files change), and the browser
# libraries pinned in package-lock.json (`npm ci` into node_modules/, served as static
# files; re-installed only when the lock file changes).
# Debian packages install as root, or through sudo where it asks no password; for anyone
# else a missing package stops the script at once, with the command to run first.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in "$@"; do
  # "install ok installed" only: a removed package can leave config files behind
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# the Debian packages install in the background while the virtualenv is made and filled
# (neither needs the other; on a fresh machine each takes most of a minute)
apt_job=""
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    # not root: sudo when it needs no password (no one may be there to type it), or one
    # sentence saying what to do, before anything else is made
    if ! sudo -n true 2>/dev/null; then
      echo "bootstrap: installing ${missing[*]} needs root: run \`sudo apt-get install ${missing[*]}\` (or this script as root), then run this again." >&2
      exit 1
    fi
    sudo="sudo"
  fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  (
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) &
  apt_job=$!
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi

req=${REQUIREMENTS:-requirements.txt}
stamp=.venv/.installed-$(basename "$req")
digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "bootstrap: installing $req"
  # uv (pinned) resolves, downloads and installs the pinned requirements in parallel: ~9 s
  # where pip took ~23 s on a fresh machine (and ~16 s less CPU). Like pip with
  # --no-compile it leaves compiling to Python, which caches what is imported on first use.
  .venv/bin/pip install -q --disable-pip-version-check uv==0.13.9
  .venv/bin/uv pip install -q --python .venv/bin/python -r "$req"
  echo "$digest" >"$stamp"
fi

if [ -n "$apt_job" ] && ! wait "$apt_job"; then
  echo "bootstrap: installing the Debian packages failed: ${missing[*]}" >&2
  exit 1
fi

# browser libraries (package.json / package-lock.json): npm from Debian if missing
command -v npm >/dev/null || bash "$0" npm
lock_digest=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.installed-lock ] || [ "$(cat node_modules/.installed-lock)" != "$lock_digest" ]; then
  echo "bootstrap: installing browser libraries (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_digest" >node_modules/.installed-lock
fi
