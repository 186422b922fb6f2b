"""Tests never touch the user's own flytekit cache, whose entries can name files another process has deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyte.workflows.shared.flytekit_compat import local_cache_location, local_cache_store


def _users_cache() -> Path:
    return Path(local_cache_location()).expanduser().resolve()


@pytest.fixture(scope="module")
def module_fixture_store():
    """The store a module-scoped fixture's workflow runs read and fill (such fixtures run before a test's own)."""
    return Path(local_cache_store().directory).resolve()


def test_a_module_fixtures_runs_use_the_sessions_cache_not_the_users(module_fixture_store):
    assert module_fixture_store != _users_cache()
    assert module_fixture_store.name.startswith("flyte-session-cache")


def test_a_tests_runs_use_a_cache_of_their_own(module_fixture_store, isolated_local_cache):
    mine = Path(local_cache_store().directory).resolve()
    assert mine == Path(isolated_local_cache).resolve()
    assert mine not in (module_fixture_store, _users_cache())
