"""A directory written all or nothing: renamed into place when complete, gone when the writing fails."""

from __future__ import annotations

import pytest

from flyte.core.common.files import staged_directory
from flyte.core.common.uris import is_plain_name


def test_a_complete_directory_appears_under_its_name_only_at_the_end(tmp_path):
    destination = tmp_path / "deep" / "model"
    with staged_directory(destination) as staging:
        (staging / "a.txt").write_text("a")
        assert not destination.exists() and not is_plain_name(staging.name) and staging.parent == destination.parent
    assert (destination / "a.txt").read_text() == "a"
    assert [p.name for p in destination.parent.iterdir()] == ["model"]


def test_a_failed_write_leaves_nothing(tmp_path):
    destination = tmp_path / "model"
    with pytest.raises(RuntimeError, match="half way"):
        with staged_directory(destination) as staging:
            (staging / "a.txt").write_text("a")
            raise RuntimeError("half way")
    assert list(tmp_path.iterdir()) == []
