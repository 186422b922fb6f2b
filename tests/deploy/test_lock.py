"""The locks: every package pinned with hashes, dev tools included, per-platform markers kept, one base by digest.

Reads files only (no network, no install): the installs themselves (make, the image build) check the hashes.
"""

from __future__ import annotations

import re

import pytest
from packaging.markers import default_environment

from tests.deploy.lockfile import expected_set, read_in, read_lock
from tests.flyte_package import REPO

LOCKS = ["requirements.txt", "requirements-dev.txt", "requirements-lock-tool.txt"]


def environment(sys_platform: str, python: str = "3.11.9") -> dict[str, str]:
    env = dict(default_environment())
    platform_system = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[sys_platform]
    env.update(
        sys_platform=sys_platform, platform_system=platform_system, os_name="nt" if sys_platform == "win32" else "posix",
        python_version=python.rsplit(".", 1)[0], python_full_version=python,
        implementation_name="cpython", platform_python_implementation="CPython",
    )
    return env


@pytest.mark.parametrize("name", LOCKS)
def test_every_requirement_is_an_exact_pin_with_hashes(name):
    pins = read_lock(REPO / name)  # raises on any line without == or without a sha256
    assert pins
    for env in (environment("linux"), environment("darwin"), environment("win32"), environment("linux", "3.12.4")):
        names = [pin.name for pin in pins if pin.applies(env)]
        assert len(names) == len(set(names)), f"{name}: a package pinned twice for one environment"


def test_dev_lock_is_the_runtime_lock_plus_the_test_tools():
    runtime = {(p.name, p.version, p.marker) for p in read_lock(REPO / "requirements.txt")}
    dev = {(p.name, p.version, p.marker) for p in read_lock(REPO / "requirements-dev.txt")}
    assert runtime <= dev, f"runtime pins missing or different in requirements-dev.txt: {sorted(runtime - dev)[:5]}"
    extra = {name for name, _, _ in dev - runtime}
    # pytest and its own dependencies, pinned and hashed like the rest (pluggy and iniconfig were unpinned once).
    assert {"pytest", "pluggy", "iniconfig"} <= extra


@pytest.mark.parametrize("in_file, lock", [("requirements.in", "requirements.txt"),
                                           ("requirements-dev.in", "requirements-dev.txt"),
                                           ("requirements-lock-tool.in", "requirements-lock-tool.txt")])
def test_each_direct_requirement_is_locked_at_its_version(in_file, lock):
    locked = {(p.name, p.version) for p in read_lock(REPO / lock)}
    for pin in read_in(REPO / in_file):
        assert (pin.name, pin.version) in locked, f"{pin.name}=={pin.version} of {in_file} is not in {lock}"


def test_runtime_dependencies_include_requests_and_a_current_pip():
    direct = {p.name: p.version for p in read_in(REPO / "requirements.in")}
    assert "requests" in direct  # flyte/core/data/fetch.py imports it
    assert "pip" in direct and direct["pip"] != "23.0.1"  # the image venv's pip comes from the lock
    assert "setuptools" not in {p.name for p in read_lock(REPO / "requirements.txt")}


def test_xgboost_is_the_cpu_package_on_linux_and_the_plain_one_on_macos():
    pins = read_lock(REPO / "requirements.txt")
    linux, mac = expected_set(pins, environment("linux")), expected_set(pins, environment("darwin"))
    assert "xgboost-cpu" in linux and "xgboost" not in linux
    assert "xgboost" in mac and "xgboost-cpu" not in mac
    assert linux["xgboost-cpu"] == mac["xgboost"]
    assert not [n for n in linux if n.startswith("nvidia")]


def test_the_base_image_is_pinned_by_digest_in_one_place():
    dockerfile = (REPO / "Dockerfile").read_text()
    defaults = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M)
    assert len(defaults) == 1
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", defaults[0])
    # The build script takes its default from the Dockerfile rather than repeating (and drifting from) it.
    assert not re.search(r"[0-9a-f]{64}", (REPO / "docker_build_and_tag.sh").read_text())


def test_test_only_libraries_stay_out_of_the_runtime_lock():
    """scikit-learn is an oracle for the tests and benchmarks; the pipeline never imports it, so the image need not
    carry it (joblib stays in the runtime lock only as flytekit's own dependency)."""
    runtime = {p.name for p in read_lock(REPO / "requirements.txt")}
    dev = {p.name for p in read_lock(REPO / "requirements-dev.txt")}
    assert "scikit-learn" not in runtime and "scikit-learn" in dev
    assert "scikit-learn" not in (REPO / "requirements.in").read_text(encoding="utf-8")
    imports = [p for p in (REPO / "flyte").rglob("*.py") if "import sklearn" in p.read_text(encoding="utf-8")
               or "from sklearn" in p.read_text(encoding="utf-8")]  # fmt: skip
    assert not imports, imports
