"""Shared fixtures: an isolated flytekit cache per test, and the synthetic datasets."""

from __future__ import annotations

import pytest
from diskcache import Cache
from flytekit.core.local_cache import LocalTaskCache

from tests.data_factory import write_mixed_csv


@pytest.fixture(autouse=True)
def isolated_local_cache(tmp_path_factory, monkeypatch):
    """A fresh, empty local task cache for every test.

    Without it, results cached by an earlier run (or by the user's own `pyflyte run`) would be
    served instead of running the code under test. Subprocesses get their own HOME for the same reason.
    """
    directory = tmp_path_factory.mktemp("flyte-local-cache")
    monkeypatch.setattr(LocalTaskCache, "_cache", Cache(str(directory)), raising=False)
    monkeypatch.setattr(LocalTaskCache, "_initialized", True)
    yield directory
    LocalTaskCache._cache.close()


@pytest.fixture
def mixed_csv(tmp_path):
    """Path and spec of the second dataset shape: string labels, categories, missing values, three classes."""
    path = tmp_path / "mixed.csv"
    return path, write_mixed_csv(path)
