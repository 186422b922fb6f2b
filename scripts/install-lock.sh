#!/usr/bin/env bash
# Install exactly a lock file into a fresh virtualenv, resolving nothing.
#
#   scripts/install-lock.sh VENV LOCK
#
# The lock already names every package and version with its sha256, so nothing here asks the index which version
# to take: `uv pip sync` installs precisely the lock's set (and removes anything else), hash-checked. A resolver
# would read the dependency metadata of what it installs and could reach for a newer release the lock never saw
# (a `dask[distributed]>=...` extra once did, and a lock that installed one week failed the next).
#
# uv itself comes from requirements-lock-tool.txt, pinned and hash-checked, installed with --no-deps into a tool
# venv beside VENV ($VENV-tool), so it is never part of the project's environment. Set UV=/path/to/uv to use an
# existing uv instead (the tests do, to install from a local wheelhouse with no index).
# Extra options for uv (e.g. --no-index --find-links DIR) can be passed in UV_SYNC_ARGS.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 VENV LOCK" >&2
  exit 2
fi
venv=$1
lock=$2
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
[ -f "$lock" ] || { echo "error: lock file '$lock' not found" >&2; exit 2; }

if [ -z "${UV:-}" ]; then
  tool="$venv-tool"
  if [ ! -x "$tool/bin/uv" ]; then
    rm -rf "$tool"
    "$python" -m venv "$tool"
    # --no-deps: the tool lock is complete, and pip must not resolve (see above).
    "$tool/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
      -r "$here/requirements-lock-tool.txt"
  fi
  UV=$tool/bin/uv
fi

rm -rf "$venv"
# --compile-bytecode: every module is compiled once here, as pip does in the image. Without it each process compiles
# what it imports from source wherever .pyc files cannot be written or PYTHONDONTWRITEBYTECODE is set (as in many
# containers and CI machines): `import flytekit` then took 2.5 s instead of 0.9 s, and a cached rerun 4.6 s instead of 2.
# --without-pip: the lock pins its own pip (flytekit runs `python -m pip` inside tasks); the one Python's venv
# module would seed is older and in no lock, and so is the setuptools it brings.
"$python" -m venv --without-pip "$venv"
# shellcheck disable=SC2086
"$UV" pip sync --quiet --require-hashes --compile-bytecode --python "$venv/bin/python" ${UV_SYNC_ARGS:-} "$lock"
"$UV" pip check --quiet --python "$venv/bin/python"
