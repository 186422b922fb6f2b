"""Tests for flyte.core.evaluation.evaluate: scoring straight from the test and predictions tables."""

from __future__ import annotations

import numpy as np
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.evaluation.predict import predict_table, probability_column
from flyte.core.evaluation.score import score_predictions
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, mixed_frame, read_frame, split_frame


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evaluate")
    parts, profile = split_frame(tmp, mixed_frame(), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=30))
    predict_table(model, parts["test"], tmp / "predictions")
    return parts["test"], tmp / "predictions", model.schema, profile


def test_metrics_equal_scoring_the_frames(scored):
    test, predictions, schema, profile = scored
    result = evaluate(test, predictions, schema, profile)
    truth, preds = read_frame(test)["label"], read_frame(predictions)
    y = truth.map({label: i for i, label in enumerate(schema.labels)}).to_numpy()
    proba = preds[[probability_column(t) for t in schema.label_texts]].to_numpy()
    assert result.metrics == score_predictions(y, proba, schema.label_texts)
    assert result.metrics.rows == len(truth) and result.metrics.labels == ["alpha", "beta", "gamma"]


def test_report_names_the_classes_and_features(scored):
    test, predictions, schema, profile = scored
    html = evaluate(test, predictions, schema, profile).report_html
    assert all(name in html for name in ("alpha", "gamma", "colour", "Feature importance"))


def test_more_predictions_than_rows_is_refused(scored, tmp_path):
    test, _, schema, profile = scored
    other_parts, _ = split_frame(tmp_path, mixed_frame(600, seed=3), "label", MIXED_CATEGORICAL)
    model = train_model(other_parts["train"], other_parts["validation"], profile, Hyperparameters(max_rounds=5))
    predict_table(model, other_parts["test"], tmp_path / "other-predictions")
    with pytest.raises(DataValidationError, match=r"true labels but \d+ predictions"):
        evaluate(test, tmp_path / "other-predictions", schema, profile)


def test_a_true_label_the_model_never_saw_is_refused(tmp_path, scored):
    _, _, schema, profile = scored
    frame = binary_frame(120).assign(label=lambda d: np.where(d.y == 1, "beta", "delta")).drop(columns="y")
    parts, _ = split_frame(tmp_path, frame, "label")
    with pytest.raises(DataValidationError, match=r"label 'delta' is not one of the known labels"):
        evaluate(parts["test"], parts["test"], schema, profile)
