"""`make clean` removes what runs and tests leave but keeps promoted models; `make clean-registry` removes those."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.flyte_package import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

#: A stand-in `docker` that answers `info`, lists two images (one a test tag) and logs every call.
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$DOCKER_LOG"
case "$1" in
  info) exit 0 ;;
  image) [ "$2" = ls ] && printf 'localhost:30000/flyte-xgboost:pytest-123-abcd\\nlocalhost:30000/flyte-xgboost:1.2.0\\n' ;;
esac
exit 0
"""


@pytest.fixture
def tree(tmp_path) -> Path:
    """A checkout's leftovers: a venv, test caches, a wheelhouse, local outputs, cache and a registry."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for d in (".venv/bin", ".venv-tool/bin", ".venv-run/bin", ".venv-run-tool/bin", ".pytest_cache", "wheels", ".flyte-local/outputs", ".flyte-local/cache", ".flyte-local/flytekit",
              ".flyte-local/registry/pima-indians-diabetes/versions/v1"):  # fmt: skip
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "wheels" / "x.whl").write_bytes(b"wheel")
    (tmp_path / "flyte/core/__pycache__").mkdir(parents=True)
    (tmp_path / "flyte/core/__pycache__/fit.cpython-311.pyc").write_bytes(b"bytecode")
    (tmp_path / ".flyte-local/registry/pima-indians-diabetes/champion.json").write_text("{}")
    return tmp_path


def make(tree: Path, target: str, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, "DOCKER_LOG": str(tree / "docker.log")}
    return subprocess.run(["make", target], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_clean_keeps_the_registry_and_removes_the_rest_and_the_projects_images(tree):
    bin_dir = tree / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    done = make(tree, "clean", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tree / ".flyte-local").iterdir()) == ["registry"]
    assert (tree / ".flyte-local/registry/pima-indians-diabetes/champion.json").is_file()
    assert not any((tree / d).exists() for d in (".venv", ".venv-tool", ".venv-run", ".venv-run-tool", ".pytest_cache", "wheels"))
    assert not (tree / "flyte/core/__pycache__").exists() and (tree / "flyte/core").is_dir()  # `make bytecode`'s output
    calls = (tree / "docker.log").read_text().splitlines()
    assert "image rm --force localhost:30000/flyte-xgboost:pytest-123-abcd" in calls  # the test tag, not the release
    assert not any("flyte-xgboost:1.2.0" in c for c in calls)
    assert "image prune --force --filter label=io.flyte-xgboost.project=flyte-xgboost" in calls


@pytest.mark.parametrize("docker", ["absent", "not answering"])
def test_clean_works_without_docker(tree, docker):
    bin_dir = tree / "fake-bin"
    bin_dir.mkdir()
    path = os.environ["PATH"]
    if docker == "absent":
        # A folder that holds docker (often /usr/bin, beside make and rm) is replaced by links to all of it but docker.
        shadow, kept = tree / "no-docker-bin", []
        shadow.mkdir()
        for d in path.split(os.pathsep):
            if not (Path(d) / "docker").exists():
                kept.append(d)
                continue
            if str(shadow) not in kept:
                kept.append(str(shadow))
            for entry in Path(d).iterdir():
                if entry.name != "docker" and not (shadow / entry.name).exists():
                    (shadow / entry.name).symlink_to(entry)
        path = os.pathsep.join(kept)
    else:
        (bin_dir / "docker").write_text('#!/bin/sh\necho "$*" >> "$DOCKER_LOG"\nexit 1\n')
        (bin_dir / "docker").chmod(0o755)
    done = make(tree, "clean", f"{bin_dir}{os.pathsep}{path}")
    assert done.returncode == 0, done.stderr
    assert "no Docker engine answers" in done.stdout
    assert sorted(p.name for p in (tree / ".flyte-local").iterdir()) == ["registry"] and not (tree / "wheels").exists()
    if docker == "not answering":
        assert (tree / "docker.log").read_text().splitlines() == ["info"]  # asked, and nothing removed


def test_clean_registry_removes_the_promoted_models(tree):
    done = make(tree, "clean-registry", os.environ["PATH"])
    assert done.returncode == 0, done.stderr
    assert not (tree / ".flyte-local/registry").exists() and (tree / ".flyte-local/outputs").is_dir()


def test_both_stages_of_the_image_carry_the_label_clean_prunes_by():
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    stages = [i for i, line in enumerate(dockerfile) if line.startswith("FROM ")]
    assert len(stages) == 2
    for start in stages:
        assert dockerfile[start + 1] == 'LABEL io.flyte-xgboost.project="flyte-xgboost"' or (
            dockerfile[start + 2] == 'LABEL io.flyte-xgboost.project="flyte-xgboost"'
        )
