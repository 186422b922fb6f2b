"""The lock installs the same set on any day: scripts/install-lock.sh against an index holding newer releases.

A local wheelhouse stands in for the package index. It holds an app whose dependency asks for an extra with a
lower bound (`lib[fast]>=1.0`, the shape of flytekitplugins-dask's `dask[distributed]>=...`), the locked
releases, and newer releases published "after the lock". The install must take exactly the locked versions.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.flyte_package import REPO

SCRIPT = REPO / "scripts" / "install-lock.sh"


def uv_binary() -> Path:
    """The hash-checked uv that `make` installs beside the venv (tool venv of scripts/install-lock.sh)."""
    uv = Path(sys.prefix + "-tool") / "bin" / "uv"
    if not uv.exists():
        pytest.fail(f"{uv} is missing: run the tests through `make test`, which installs the lock tool")
    return uv


def make_wheel(directory: Path, name: str, version: str, requires: list[str] = (), extras: list[str] = ()) -> Path:
    """A minimal pure-Python wheel: one module, METADATA, WHEEL and a RECORD with each file's hash."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{name.replace('-', '_')}.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": "\n".join(
            ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
            + [f"Provides-Extra: {e}" for e in extras] + [f"Requires-Dist: {r}" for r in requires]) + "\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def index_with_newer_releases(tmp_path):
    """A wheelhouse holding the locked releases and newer ones, and a hash lock of the locked ones."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    locked = [
        make_wheel(house, "lockdemo-app", "1.0", requires=["lockdemo-lib[fast]>=1.0"]),
        make_wheel(house, "lockdemo-lib", "1.0", requires=['lockdemo-extra>=1.0; extra == "fast"'], extras=["fast"]),
        make_wheel(house, "lockdemo-extra", "1.0"),
    ]
    # Published after the lock was written.
    make_wheel(house, "lockdemo-lib", "2.0", requires=['lockdemo-extra>=2.0; extra == "fast"'], extras=["fast"])
    make_wheel(house, "lockdemo-extra", "2.0")
    lock = tmp_path / "requirements.txt"
    lock.write_text("".join(
        f"{w.name.split('-')[0].replace('_', '-')}=={w.name.split('-')[1]} --hash=sha256:{sha256(w)}\n" for w in locked))
    return house, lock


def installed_versions(venv: Path) -> dict[str, str]:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print('\\n'.join(f'{d.metadata[\"Name\"]}=={d.version}' "
                          "for d in m.distributions()))"], capture_output=True, text=True, check=True).stdout
    return dict(line.split("==") for line in out.split())


def install(lock: Path, house: Path, venv: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """scripts/install-lock.sh of ``lock`` into ``venv``, from the wheelhouse ``house`` only, with the tool's uv."""
    env = dict(os.environ, UV=str(uv_binary()), UV_SYNC_ARGS=f"--no-index --find-links {house}",
               UV_CACHE_DIR=str(tmp_path / "uv-cache"), PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), str(venv), str(lock)], env=env, capture_output=True, text=True)


def test_the_lock_installs_exactly_while_the_index_offers_newer_releases(index_with_newer_releases, tmp_path):
    house, lock = index_with_newer_releases
    venv = tmp_path / "venv"
    done = install(lock, house, venv, tmp_path)
    assert done.returncode == 0, done.stderr
    assert installed_versions(venv) == {"lockdemo-app": "1.0", "lockdemo-lib": "1.0", "lockdemo-extra": "1.0"}


def test_the_installed_packages_are_byte_compiled(index_with_newer_releases, tmp_path):
    """Every process imports from .pyc files written at install time, even where PYTHONDONTWRITEBYTECODE is set
    (then nothing would ever write them, and each run would compile flytekit, pandas and xgboost from source)."""
    house, lock = index_with_newer_releases
    venv = tmp_path / "venv"
    done = install(lock, house, venv, tmp_path)
    assert done.returncode == 0, done.stderr
    modules = sorted(venv.glob("lib/python*/site-packages/lockdemo_*.py"))
    assert [m.name for m in modules] == ["lockdemo_app.py", "lockdemo_extra.py", "lockdemo_lib.py"]
    for module in modules:
        assert list((module.parent / "__pycache__").glob(f"{module.stem}.*.pyc")), f"{module.name} is not byte-compiled"


def test_the_project_venv_is_byte_compiled():
    """The venv this suite runs in, installed by `make`: flytekit's modules come with their bytecode."""
    import flytekit

    package = Path(flytekit.__file__).parent
    assert list((package / "__pycache__").glob("__init__.*.pyc")), f"{package} has no bytecode: re-run `make`"


def test_local_runs_use_the_runtime_lock_as_pods_do():
    """`make run` imports what the image holds: no test tools, and no scikit-learn for xgboost to import."""
    makefile = (REPO / "Makefile").read_text()
    for target in ("run", "run-regression"):
        recipe = makefile.split(f"\n{target}: ", 1)[1].split("\n\n", 1)[0]
        assert recipe.startswith("$(RUN_VENV)/.installed"), recipe
        assert "$(RUN_VENV)/bin/python -m flyte.cli run" in recipe
    runtime = (REPO / "requirements.txt").read_text()
    assert "\nscikit-learn==" not in runtime and "\npytest==" not in runtime


def test_a_tampered_wheel_is_refused(index_with_newer_releases, tmp_path):
    house, lock = index_with_newer_releases
    lines = lock.read_text().splitlines()
    lines[-1] = lines[-1].split("--hash=sha256:")[0] + "--hash=sha256:" + "0" * 64
    lock.write_text("\n".join(lines) + "\n")
    done = install(lock, house, tmp_path / "venv", tmp_path)
    assert done.returncode != 0
    assert "hash" in done.stderr.lower()


def test_a_resolving_install_would_have_failed(index_with_newer_releases, tmp_path):
    """The failure this guards against: pip in hash mode, resolving, meets the unpinned extra and refuses."""
    house, lock = index_with_newer_releases
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--isolated", "--no-index",
                           "--find-links", str(house), "--require-hashes", "-r", str(lock)],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "lockdemo-lib" in done.stderr or "lockdemo-extra" in done.stderr


def test_every_install_path_installs_without_resolving():
    makefile = (REPO / "Makefile").read_text()
    assert "scripts/install-lock.sh $(VENV) requirements-dev.txt" in makefile
    assert "scripts/install-lock.sh $(RUN_VENV) requirements.txt" in makefile
    assert "pip install" not in makefile.replace("pip install --quiet --disable-pip-version-check --no-deps", "")
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "install --no-deps --require-hashes" in dockerfile
    assert "download --quiet --disable-pip-version-check --no-deps --require-hashes" in (
        REPO / "docker_build_and_tag.sh").read_text()
