"""Shared fixtures: an isolated flytekit cache per session and per test, and the synthetic datasets."""

from __future__ import annotations

import pytest
from diskcache import Cache

from tests.data_factory import write_mixed_csv
from tests.flyte_package import CliRun, pyflyte_run


def pytest_collection_modifyitems(config, items):
    """Live-sandbox tests are opt-in: without FLYTE_SANDBOX_ENDPOINT they are skipped, saying why."""
    import os

    if os.environ.get("FLYTE_SANDBOX_ENDPOINT"):
        return
    skip = pytest.mark.skip(reason="needs a live Flyte sandbox: set FLYTE_SANDBOX_ENDPOINT=localhost:30080")
    for item in items:
        if "sandbox" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def nothing_promoted_into_the_repo():
    """No test may write into the repo's own model registry (where `make run` promotes): every run that gates gets a
    registry of its own. Checked once, after the whole session, against what was there before it."""
    from tests.flyte_package import REPO

    registry = REPO / ".flyte-local" / "registry"
    before = sorted(str(p) for p in registry.rglob("*")) if registry.exists() else []
    yield
    after = sorted(str(p) for p in registry.rglob("*")) if registry.exists() else []
    assert after == before, f"a test wrote into the repo's model registry {registry}: {sorted(set(after) - set(before))[:3]}"


@pytest.fixture(scope="session", autouse=True)
def session_local_cache(tmp_path_factory):
    """The local task cache of module- and session-scoped fixtures, which run before any test's own cache is set up.

    Without it they would read and fill the user's ``~/.flyte/local-cache``, whose entries name files under another
    process's temporary directory, long deleted: a later session's run would be served those missing paths.
    """
    from flyte.workflows.shared.flytekit_compat import use_local_cache_store

    with use_local_cache_store(Cache(str(tmp_path_factory.mktemp("flyte-session-cache")))):
        yield


@pytest.fixture(autouse=True)
def isolated_local_cache(tmp_path_factory, monkeypatch):
    """A fresh, empty local task cache for every test.

    Without it, results cached by an earlier run (or by the user's own `pyflyte run`) would be
    served instead of running the code under test. Subprocesses get their own HOME for the same reason.
    """
    from flyte.workflows.shared.flytekit_compat import use_local_cache_store

    directory = tmp_path_factory.mktemp("flyte-local-cache")
    with use_local_cache_store(Cache(str(directory))):
        yield directory


@pytest.fixture(scope="module")
def dask_client():
    """A local Dask cluster of two worker processes (1 GiB each, one thread) for a module's tests that fit or predict
    on Dask. Per module, not per session: a scheduler holds its HTTP port (8787) for as long as it lives."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit="1GiB") as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture
def mixed_csv(tmp_path):
    """Path and spec of the second dataset shape: string labels, categories, missing values, three classes."""
    path = tmp_path / "mixed.csv"
    return path, write_mixed_csv(path)


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="session")
def cli_default_run(cli_home) -> CliRun:
    """The README's run: `pyflyte run flyte/workflows/training/pipeline.py training_pipeline`, all defaults."""
    return pyflyte_run(cli_home)
