"""scripts/register.sh, run with --dry-run: the commands it would run, and its warnings. No Docker, cluster or flytectl.

--dry-run prints the docker and flytectl commands without running them, and still runs pyflyte, which serializes
every entity locally (`pyflyte register --dry-run`, or `pyflyte package` on the flytectl route).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.flyte_package import BIN, REPO, clean_env

SCRIPT = "scripts/register.sh"
DIRTY_WARNING = "is built from uncommitted changes"


def register(home: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(home)
    env["PYTHONPATH"] = str(cwd)
    env["PYFLYTE"] = str(BIN / "pyflyte")  # the test's own environment: a copied tree has no .venv
    env.pop("IMAGE_VERSION", None)  # docker_build_and_tag.sh reads it; the tests choose the version
    proc = subprocess.run(
        ["bash", str(cwd / SCRIPT), "--dry-run", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def commands(stderr: str, program: str) -> list[str]:
    """The command lines the script echoed (`+ ...`) whose program is `program`."""
    return [line for line in stderr.splitlines() if re.match(rf"\+ \S*{re.escape(program)} ", line)]


@pytest.mark.parametrize("version", ["3f2c1ab-dirty-0123abcd", "3f2c1ab-dirty"])
def test_a_dirty_version_is_warned_about(tmp_path, version):
    proc = register(tmp_path, "--version", version)
    assert DIRTY_WARNING in proc.stderr
    assert proc.stdout.splitlines()[-1] == f"localhost:30000/flyte-xgboost:{version}"


def test_a_commit_version_is_not_warned_about(tmp_path):
    proc = register(tmp_path, "--version", "3f2c1ab")
    assert DIRTY_WARNING not in proc.stderr


def test_a_tree_with_uncommitted_changes_gets_a_digest_version_and_the_warning(tmp_path):
    """End to end with docker_build_and_tag.sh's own version: a copy of the project in a fresh git repository,
    committed, then changed."""
    tree = tmp_path / "tree"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("scripts", "flyte"):
        shutil.copytree(REPO / name, tree / name, ignore=ignore)
    for name in ("docker_build_and_tag.sh", "Dockerfile", "flyte.config", "flytectl.yaml", ".gitignore"):
        shutil.copy2(REPO / name, tree / name)
    git = ["git", "-C", str(tree), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "snapshot"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True)

    clean = register(tmp_path / "home", cwd=tree)
    assert clean.stdout.splitlines()[-1].endswith(f":{commit.stdout.strip()}")
    assert DIRTY_WARNING not in clean.stderr

    (tree / "notes.txt").write_text("an uncommitted change\n")
    dirty = register(tmp_path / "home", cwd=tree)
    version = dirty.stdout.splitlines()[-1].rsplit(":", 1)[-1]
    assert re.fullmatch(rf"{commit.stdout.strip()}-dirty-[0-9a-f]{{8}}", version), version
    assert DIRTY_WARNING in dirty.stderr
    assert f"--version {version}" in commands(dirty.stderr, "pyflyte")[0]


def test_pyflyte_route_registers_at_the_image_version_and_activates_the_launch_plans(tmp_path):
    proc = register(tmp_path, "--version", "3f2c1ab")
    [line] = [c for c in commands(proc.stderr, "pyflyte") if " register " in c]
    assert " register " in line and line.split("--config ")[1].split()[0] == str(REPO / "flyte.config")
    for part in (
        "--image localhost:30000/flyte-xgboost:3f2c1ab",
        "--version 3f2c1ab",
        "--copy none",
        "--activate-launchplans",
        "--dry-run",
    ):
        assert part in line
    # 23 tasks (7 training, 5 batch, 3 search + its map task, 5 gate with the outcome line, the Dask fit and predict), 6 workflows (training,
    # batch, tuning, distributed training and batch, the gate sub-workflow), 10 launch plans (the sub-workflow's
    # default too); serialized by pyflyte, nothing sent
    assert "Successfully registered 39 entities" in proc.stderr
    assert not commands(proc.stderr, "flytectl")


def test_flytectl_route_packages_then_registers_with_the_schedule_enabled(tmp_path):
    proc = register(tmp_path, "--flytectl", "--version", "3f2c1ab")
    [package] = [c for c in commands(proc.stderr, "pyflyte") if " package " in c]
    assert " package " in package and "--image localhost:30000/flyte-xgboost:3f2c1ab" in package
    assert "Successfully packaged 39 flyte objects" in proc.stderr
    [line] = commands(proc.stderr, "flytectl")
    assert line.split("--config ")[1].split()[0] == str(REPO / "flytectl.yaml")
    assert " register files " in line and "--version 3f2c1ab" in line
    # Without --enableSchedule FlyteAdmin leaves training_pipeline_nightly inactive: it would never run.
    assert "--enableSchedule" in line.split()
    archive = line.split("--archive ")[1].split()[0]
    assert archive.endswith(".tgz") and archive == package.split("--output ")[1].split()[0]
    assert not Path(archive).exists()  # the package lives in a temporary directory, removed on exit


def test_help_documents_the_flytectl_route_with_enable_schedule(tmp_path):
    proc = subprocess.run(["bash", str(REPO / SCRIPT), "-h"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    # the documented command, continued over two lines with a backslash
    assert re.search(r"flytectl --config \S+ register files [^\n]*\\\n[^\n]*--enableSchedule", proc.stdout)


@pytest.mark.parametrize("route", [(), ("--flytectl",)])
def test_the_alternative_nightly_plans_are_deactivated_after_registering(tmp_path, route):
    """Both routes activate every schedule; the nightly training's alternatives are switched off again, by name."""
    from flyte.workflows.config import PAUSED_SCHEDULES

    proc = register(tmp_path, *route, "--version", "3f2c1ab")
    lines = [c for c in commands(proc.stderr, "pyflyte") if " launchplan " in c]
    assert sorted(line.split(" --deactivate ")[1].split()[0] for line in lines) == sorted(PAUSED_SCHEDULES)
    assert all(line.split()[-1] == "3f2c1ab" and "--project flytesnacks --domain development" in line for line in lines)
    assert "training_pipeline_nightly" not in PAUSED_SCHEDULES and "batch_predict_nightly" not in PAUSED_SCHEDULES
