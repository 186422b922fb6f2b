"""`python -m flyte.workflows`: the image's build step that stores every task interface's literal types."""

from __future__ import annotations

import subprocess
import sys

from tests.flyte_package import REPO, clean_env


def warm(tmp_path, cache: str) -> subprocess.CompletedProcess:
    env = clean_env(tmp_path, PIPELINE_TYPE_CACHE=cache)
    return subprocess.run([sys.executable, "-m", "flyte.workflows"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_it_fills_the_cache_and_a_second_import_builds_nothing(tmp_path):
    cache = tmp_path / "types"
    done = warm(tmp_path, str(cache))
    assert done.returncode == 0, done.stderr
    entries = sorted(p.name for p in cache.glob("*.pb"))
    assert entries and done.stdout.startswith(f"{len(entries)} literal types in ")
    again = warm(tmp_path, str(cache))
    assert again.returncode == 0 and sorted(p.name for p in cache.glob("*.pb")) == entries


def test_a_cache_turned_off_fails_the_step_rather_than_passing_empty(tmp_path):
    done = warm(tmp_path, "off")
    assert done.returncode == 1
    assert "holds no entry" in done.stderr
