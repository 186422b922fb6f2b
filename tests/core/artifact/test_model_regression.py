"""A regression model directory: problem type and objective recorded, and a schema that contradicts them refused."""

from __future__ import annotations

import json

import pytest

from flyte.core.artifact.manifest import sha256
from flyte.core.artifact.model import load_model, save_model
from flyte.core.artifact.schema import SCHEMA_FILE, parse_schema
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from tests.data_factory import regression_frame, split_frame


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    work = tmp_path_factory.mktemp("reg-model")
    parts, profile = split_frame(work, regression_frame(), "y", ["colour"], problem_type="regression")
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=20, objective="poisson"))
    return save_model(model, work / "model")


def rewrite_schema(directory, **changes):
    """Edit schema.json and its digest in the manifest (a consistent forgery: only load_model's checks can catch it)."""
    schema = json.loads((directory / SCHEMA_FILE).read_text())
    schema.update(changes)
    data = json.dumps(schema).encode()
    (directory / SCHEMA_FILE).write_bytes(data)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"][SCHEMA_FILE] = sha256(data)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_regression_model_round_trips_with_problem_type_and_objective(saved):
    model = load_model(saved)
    assert (model.schema.problem_type, model.schema.objective, model.schema.labels) == ("regression", "count:poisson", [])


def test_a_classifier_schema_over_a_regression_booster_is_refused(saved, tmp_path):
    import shutil

    copy = shutil.copytree(saved, tmp_path / "model")
    rewrite_schema(copy, problem_type="classification", labels=[0, 1], label_kind="int")
    with pytest.raises(DataValidationError, match="objective 'count:poisson' does not give class probabilities"):
        load_model(copy)


def test_another_recorded_objective_is_refused(saved, tmp_path):
    import shutil

    copy = shutil.copytree(saved, tmp_path / "model")
    rewrite_schema(copy, objective="reg:squarederror")
    with pytest.raises(DataValidationError, match="objective 'reg:squarederror', but the booster has 'count:poisson'"):
        load_model(copy)


def test_a_regression_schema_with_labels_or_an_unknown_problem_type_is_refused(tmp_path):
    base = {"target": "y", "features": ["a"], "categories": {}, "labels": [], "label_kind": "float", "best_iteration": 0,
            "feature_importance": {}, "xgboost_version": "3.0.0", "problem_type": "regression", "objective": "reg:squarederror"}  # fmt: skip
    assert parse_schema(json.dumps(base).encode(), tmp_path / SCHEMA_FILE).regression
    with pytest.raises(DataValidationError, match="a regression model has no labels"):
        parse_schema(json.dumps({**base, "labels": [1.0, 2.0]}).encode(), tmp_path / SCHEMA_FILE)
    with pytest.raises(DataValidationError, match="'problem_type' must be one of"):
        parse_schema(json.dumps({**base, "problem_type": "ranking"}).encode(), tmp_path / SCHEMA_FILE)
    older = {k: v for k, v in base.items() if k not in ("problem_type", "objective")}
    assert not parse_schema(json.dumps({**older, "labels": [0, 1], "label_kind": "int"}).encode(), tmp_path / SCHEMA_FILE).regression
