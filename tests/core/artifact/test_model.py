"""Tests for flyte.core.artifact.model: saving in XGBoost's own format, all or nothing, and loading back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flyte.core.data import tables
from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.data.leakage import LEAKAGE_FILE
from flyte.core.artifact.model import MODEL_FILE, SCHEMA_FILE, load_model, save_model
from flyte.core.artifact.schema import read_schema
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, split_frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    parts, profile = split_frame(tmp_path_factory.mktemp("model"), mixed_frame(), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=30))
    return model, tables.read_columns(parts["test"], ["x1", "x2", "colour", "size", "label"])


def test_round_trip_gives_identical_predictions(trained, tmp_path):
    model, test = trained
    directory = save_model(model, tmp_path / "model")
    loaded = load_model(directory)
    assert loaded.schema == model.schema
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))


def test_files_are_ubjson_and_json_not_pickles(trained, tmp_path):
    model, _ = trained
    directory = save_model(model, tmp_path / "model")
    assert sorted(p.name for p in directory.iterdir()) == sorted([MANIFEST_FILE, MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE])
    raw = (directory / MODEL_FILE).read_bytes()
    assert raw[:1] == b"{" and b"learner" in raw[:200]  # UBJSON object, XGBoost's learner at the top
    assert not raw.startswith(b"\x80")  # a pickle stream starts with the PROTO opcode
    schema = json.loads((directory / SCHEMA_FILE).read_text())
    assert schema["labels"] == ["alpha", "beta", "gamma"] and schema["target"] == "label"
    assert set(schema["feature_importance"]) == {"x1", "x2", "colour", "size"}


def test_the_schema_reads_back_without_xgboost(trained, tmp_path):
    model, _ = trained
    directory = save_model(model, tmp_path / "model")
    assert read_schema(directory) == model.schema


def test_integer_labels_survive_json(tmp_path):
    parts, profile = split_frame(tmp_path, binary_frame(200), "y")
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=10))
    assert load_model(save_model(model, tmp_path / "m")).schema.labels == [0, 1]


def test_refuses_to_overwrite(trained, tmp_path):
    model, _ = trained
    (tmp_path / "model").mkdir()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        save_model(model, tmp_path / "model")


def test_failed_save_leaves_no_partial_output(trained, tmp_path, monkeypatch):
    model, _ = trained

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(model.booster), "save_model", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_loading_a_directory_without_a_model(trained, tmp_path):
    with pytest.raises(DataValidationError, match=f"not a saved model, {MANIFEST_FILE} is missing"):
        load_model(tmp_path)
    for name in (SCHEMA_FILE, MODEL_FILE):
        directory = save_model(trained[0], tmp_path / name.replace(".", "-"))
        (directory / name).unlink()
        with pytest.raises(DataValidationError, match=f"not a saved model, {name} is missing"):
            load_model(directory)
        with pytest.raises(DataValidationError, match=f"not a saved model, {name} is missing"):
            read_schema(directory)


def test_table_missing_a_feature_is_refused(trained):
    model, test = trained
    with pytest.raises(DataValidationError, match=r"lacks feature column\(s\) \['x1'\]"):
        model.predict_proba(test.drop_columns(["x1"]))


def test_fit_writes_the_drift_reference_and_loading_does_not_need_it(trained, tmp_path):
    model, test = trained
    directory = save_model(model, tmp_path / "model")
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    assert REFERENCE_FILE in manifest["files"]
    reference = json.loads((directory / REFERENCE_FILE).read_text())
    assert list(reference["features"]) == model.schema.features
    assert reference["features"]["colour"]["categories"] == model.schema.categories["colour"]
    model.reference = None  # a model saved without a drift reference still loads
    bare = save_model(model, tmp_path / "bare")
    assert not (bare / REFERENCE_FILE).exists()
    np.testing.assert_array_equal(load_model(bare).predict_proba(test), load_model(directory).predict_proba(test))
