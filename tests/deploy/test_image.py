"""The task image: built by docker_build_and_tag.sh from a wheelhouse, then every task run inside it as a pod.

Needs a Docker engine; skipped, saying why, where none answers. `.ci/run` brings one up first.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from flyte.core.score import Metrics
from tests.flyte_package import REPO, WORKFLOW, metrics_from, package, run_as_pods

pytestmark = pytest.mark.docker

VERSION = "pytest"  # a fixed tag, so repeated test runs replace one image instead of piling up tags


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def image() -> str:
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers (`docker info` failed); run ../shared/tools/docker-up or start Docker")
    # --fetch-wheels: fill the wheelhouse from requirements.txt, then build with no index; `--network none`
    # proves the build itself needs no network, as on an air-gapped cluster.
    proc = subprocess.run(
        ["./docker_build_and_tag.sh", "--fetch-wheels", "--version", VERSION, "--", "--network", "none"],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout.strip().splitlines()[-1]


def in_image(image: str, *command: str) -> str:
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", image, *command], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def docker_executor(image: str, workdir):
    """Each 'pod' is a fresh container of the image: its own Python and packages, its non-root user, no network.

    The work directory is mounted at the same path, so the literals' local URIs mean the same inside and out.
    """

    def run(argv, env):
        cmd = ["docker", "run", "--rm", "--network", "none", "-v", f"{workdir}:{workdir}"]
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        return subprocess.run([*cmd, image, *argv], capture_output=True, text=True, timeout=600)

    return run


def test_reference_names_registry_name_and_version(image):
    assert image == f"localhost:30000/flyte-xgboost:{VERSION}"
    assert in_image(image, "sh", "-c", "echo $FLYTE_INTERNAL_IMAGE") == image


def test_openmp_threads_do_not_spin(image):
    """XGBoost's threads sleep between parallel regions: a pod shares its node's cores."""
    assert in_image(image, "sh", "-c", "echo $OMP_WAIT_POLICY") == "PASSIVE"


def test_runs_as_non_root_with_its_own_python(image):
    assert in_image(image, "id", "-u") != "0"
    assert in_image(image, "which", "pyflyte-execute") == "/opt/venv/bin/pyflyte-execute"


def test_cpu_image_carries_no_gpu_libraries(image):
    packages = json.loads(in_image(image, "pip", "list", "--format", "json"))
    names = {p["name"].lower() for p in packages}
    assert "xgboost-cpu" in names
    assert not [n for n in names if n.startswith("nvidia") or "nccl" in n or "cuda" in n]


def test_every_task_runs_in_the_image_as_a_pod(image, tmp_path, cli_default_run):
    """The pod contract again, inside the container: the final metrics equal the laptop's `pyflyte run`."""
    tmp_path.chmod(0o777)
    pkg = package(image, tmp_path)
    outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, docker_executor(image, tmp_path))
    metrics: Metrics = metrics_from(outputs)
    for name, value in cli_default_run.metrics.items():
        assert getattr(metrics, name) == value, name
