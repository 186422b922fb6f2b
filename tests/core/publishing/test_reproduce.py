"""Training again from a manifest: the same data and versions give a byte-identical model.ubj; other data is refused."""

from __future__ import annotations

import shutil

import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.model import MODEL_FILE
from flyte.core.publishing.reproduce import recorded_inputs, retrain
from flyte.core.training.hyperparameters import resolved
from tests.core.publishing.test_publish import publish, train


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    work = tmp_path_factory.mktemp("reproduce")
    trained = train(work)
    return trained, publish(trained, work / "published", split=trained.summary).directory


def test_recorded_inputs_are_the_runs_inputs(published):
    trained, directory = published
    recorded = recorded_inputs(directory)
    # The manifest records what the fit trained with: settings left at the problem type's default, resolved.
    assert (recorded.dataset, recorded.split_params, recorded.hyperparameters) == (trained.spec, trained.split, resolved(trained.hyper, "classification"))


def test_retraining_gives_a_byte_identical_booster(published, tmp_path):
    trained, directory = published
    result = retrain(recorded_inputs(directory), trained.spec.source, tmp_path / "again", n_threads=2, memory_budget=1 << 30)
    assert result.identical
    assert (result.directory / MODEL_FILE).read_bytes() == (directory / MODEL_FILE).read_bytes()


def test_changed_data_is_refused_naming_the_hashes(published, tmp_path):
    trained, directory = published
    changed = tmp_path / "mixed.csv"
    shutil.copy(trained.spec.source, changed)
    with changed.open("a") as f:
        f.write(open(trained.spec.source).read().splitlines()[1] + "\n")
    with pytest.raises(DataValidationError, match="source file's sha256 .* the data changed"):
        retrain(recorded_inputs(directory), changed, tmp_path / "again", n_threads=1, memory_budget=None)


def test_a_fit_directory_has_nothing_to_reproduce_from(published):
    trained, _ = published
    with pytest.raises(DataValidationError, match="records no training inputs"):
        recorded_inputs(trained.fit_dir)


def test_a_model_split_by_an_earlier_rule_is_refused(published, tmp_path):
    """Without a recorded split rule, today's split would choose other training rows: no silent non-reproduction."""
    trained, _ = published
    directory = publish(trained, tmp_path / "unruled").directory  # no split summary: nothing recorded
    with pytest.raises(DataValidationError, match="records no split rule this code applies"):
        recorded_inputs(directory)
