"""The task image: built by docker_build_and_tag.sh from a wheelhouse, then every task run inside it as a pod.

Needs a Docker engine; skipped, saying why, where none answers, unless REQUIRE_DOCKER_TESTS=1 (`.ci/run` sets it
after bringing an engine up), where no engine is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess

import pytest
from packaging.utils import canonicalize_name

from flyte.core.evaluation.score import Metrics
from tests.deploy.lockfile import expected_set, read_lock
from tests.flyte_package import REPO, WORKFLOW, metrics_from, package, run_as_pods, string_literal

pytestmark = pytest.mark.docker

# A tag of this run's own: two checkouts testing at once on one engine never run (or delete) each other's image.
# The image is removed when the module is done, so runs do not pile up tags.
VERSION = f"pytest-{os.getpid()}-{secrets.token_hex(4)}"
# The Dockerfile pins its base by digest, which needs a registry; here the build runs FROM a local stand-in by tag
# (../shared/tools/docker-up builds one). IMAGE_TEST_BASE_IMAGE= (empty) builds from the Dockerfile's pinned digest.
BASE_IMAGE = os.environ.get("IMAGE_TEST_BASE_IMAGE", "python:3.11-slim-bookworm")


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def image():
    if not docker_engine_answers():
        reason = "no Docker engine answers (`docker info` failed); run ../shared/tools/docker-up or start Docker"
        if os.environ.get("REQUIRE_DOCKER_TESTS") == "1":
            pytest.fail(f"REQUIRE_DOCKER_TESTS=1 but {reason}")
        pytest.skip(reason)
    # --fetch-wheels: fill the wheelhouse from requirements.txt (hash-checked), then build with no index;
    # `--network none` proves the build itself needs no network, as on an air-gapped cluster.
    base = ["--base-image", BASE_IMAGE] if BASE_IMAGE else []
    ref = f"localhost:30000/flyte-xgboost:{VERSION}"
    try:
        proc = subprocess.run(
            ["./docker_build_and_tag.sh", "--fetch-wheels", "--version", VERSION, *base, "--", "--network", "none"],
            cwd=REPO, capture_output=True, text=True, timeout=1800,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        yield proc.stdout.strip().splitlines()[-1]
    finally:
        # Only this run's tag. The build cache (the dependency stage) stays, so the next run reuses it.
        subprocess.run(["docker", "image", "rm", "--force", ref], capture_output=True, timeout=300)


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


def test_venv_holds_exactly_the_lock(image):
    """Every package of /opt/venv is pinned in requirements.txt at the installed version, and every pin for the image's
    platform is installed: nothing the lock does not name got in (no setuptools, no seeded pip)."""
    probe = (
        "import importlib.metadata as m, json, sys; from packaging.markers import default_environment; "
        "print(json.dumps({'env': default_environment(), 'prefix': sys.prefix, "
        "'installed': {d.metadata['Name']: d.version for d in m.distributions()}}))"
    )
    found = json.loads(in_image(image, "python", "-c", probe))
    assert found["prefix"] == "/opt/venv"
    installed = {canonicalize_name(name): version for name, version in found["installed"].items()}
    assert installed == expected_set(read_lock(REPO / "requirements.txt"), found["env"])


def test_venv_pip_is_the_locked_one_and_setuptools_is_absent(image):
    """Not the pip 23.0.1 / setuptools 66.1.1 (known CVEs) that the base's venv module seeds."""
    locked_pip = next(p.version for p in read_lock(REPO / "requirements.txt") if p.name == "pip")
    assert in_image(image, "pip", "--version").startswith(f"pip {locked_pip} from /opt/venv/")
    assert locked_pip != "23.0.1"
    found = in_image(image, "python", "-c", "import importlib.util as u; print(u.find_spec('setuptools'), u.find_spec('pkg_resources'))")
    assert found == "None None"


def test_openmp_threads_do_not_spin(image):
    """XGBoost's threads sleep between parallel regions: a pod shares its node's cores."""
    assert in_image(image, "sh", "-c", "echo $OMP_WAIT_POLICY") == "PASSIVE"


def test_runs_as_non_root_with_its_own_python(image):
    assert in_image(image, "id", "-u") != "0"
    assert in_image(image, "which", "pyflyte-execute") == "/opt/venv/bin/pyflyte-execute"


def test_the_code_and_its_dependencies_come_byte_compiled(image):
    """Pods start from bytecode: PYTHONDONTWRITEBYTECODE is set, so nothing compiled at run time would be kept."""
    probe = (
        "import importlib.util as u, pathlib, flytekit, flyte.workflows.training.pipeline as p; "
        "print(*(pathlib.Path(u.cache_from_source(f)).is_file() for f in (flytekit.__file__, p.__file__)))"
    )
    assert in_image(image, "python", "-c", probe) == "True True"


def test_every_tasks_interface_types_come_prebuilt(image):
    """A pod loading any task module finds each dataclass's literal type in the image's cache: it builds none and
    so writes no new entry."""
    probe = (
        "import os, importlib; d = os.environ['PIPELINE_TYPE_CACHE']; before = sorted(os.listdir(d)); "
        "[importlib.import_module(f'flyte.workflows.{m}.tasks') for m in ('training', 'gate', 'batch', 'tuning', 'distributed')]; "
        "print(len(before), sorted(os.listdir(d)) == before)"
    )
    entries, unchanged = in_image(image, "python", "-c", probe).split()
    assert int(entries) > 0 and unchanged == "True"


def test_cpu_image_carries_no_gpu_libraries(image):
    packages = json.loads(in_image(image, "pip", "list", "--format", "json"))
    names = {p["name"].lower() for p in packages}
    assert "xgboost-cpu" in names
    assert not [n for n in names if n.startswith("nvidia") or "nccl" in n or "cuda" in n]


def writable_registry(tmp_path) -> str:
    """A model registry directory the image's non-root user can write, and never the repo's."""
    registry = tmp_path / "registry"
    registry.mkdir()
    registry.chmod(0o777)
    return str(registry)


def test_every_task_runs_in_the_image_as_a_pod(image, tmp_path, cli_default_run):
    """The pod contract again, inside the container: the final metrics equal the laptop's `pyflyte run`."""
    tmp_path.chmod(0o777)
    pkg = package(image, tmp_path)
    inputs = {"registry": string_literal(writable_registry(tmp_path))}
    outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, docker_executor(image, tmp_path), inputs=inputs)
    metrics: Metrics = metrics_from(outputs)
    for name, value in cli_default_run.metrics.items():
        assert getattr(metrics, name) == value, name


def test_dask_commands_the_plugin_starts_exist(image):
    """flytepropeller's Dask plugin runs `dask-scheduler` and `dask-worker --name N --nthreads T --memory-limit M`
    in this image (flyteplugins go/tasks/plugins/k8s/dask/dask.go); both must accept those options."""
    assert "--memory-limit" in in_image(image, "dask-worker", "--help")
    assert "--nthreads" in in_image(image, "dask-worker", "--help")
    assert "Usage: dask scheduler" in in_image(image, "dask-scheduler", "--help")


def test_dask_fit_runs_in_the_image_on_a_local_cluster(image, tmp_path):
    """The distributed workflow's pods inside the container: the Dask driver finds no scheduler address, starts a
    LocalCluster of worker processes inside the container and trains; the metrics match the laptop's pyflyte run."""
    from tests.flyte_package import pyflyte_run
    from tests.workflows.test_package import DASK_WORKFLOW
    from tests.workflows.distributed.test_training_distributed import RUN, TOLERANCE

    tmp_path.chmod(0o777)
    pkg = package(image, tmp_path)
    inputs = {"registry": string_literal(writable_registry(tmp_path))}
    outputs = run_as_pods(pkg, DASK_WORKFLOW, DASK_WORKFLOW, tmp_path, docker_executor(image, tmp_path), inputs=inputs)
    (tmp_path / "cli-home").mkdir()
    laptop = pyflyte_run(tmp_path / "cli-home", run=RUN)
    metrics: Metrics = metrics_from(outputs)
    for name, value in laptop.metrics.items():
        assert getattr(metrics, name) == pytest.approx(value, abs=TOLERANCE), name
