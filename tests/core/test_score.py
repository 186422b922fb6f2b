"""Tests for flyte.core.score: metric values checked against hand-worked examples."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flyte.core.errors import DataValidationError
from flyte.core.predict import PREDICTED_COLUMN, probability_column
from flyte.core.score import score_predictions


def predictions(labels, rows):
    """rows: (predicted label, probabilities in label order)."""
    data = {PREDICTED_COLUMN: [r[0] for r in rows]}
    for i, label in enumerate(labels):
        data[probability_column(label)] = [r[1][i] for r in rows]
    return pd.DataFrame(data)


def test_binary_metrics_by_hand():
    labels = [0, 1]
    truth = pd.Series([0, 0, 1, 1])
    preds = predictions(labels, [(0, [0.9, 0.1]), (1, [0.4, 0.6]), (1, [0.2, 0.8]), (0, [0.7, 0.3])])
    m = score_predictions(truth, preds, labels)
    assert m.accuracy == 0.5 and m.balanced_accuracy == 0.5
    assert m.precision == 0.5 and m.recall == 0.5 and m.f1 == 0.5  # one TP, one FP, one FN
    assert m.confusion_matrix == [[1, 1], [1, 1]]
    assert m.roc_auc == 0.75  # positives score 0.8, 0.3 against negatives 0.1, 0.6: 3 of 4 pairs ordered
    expected_loss = -(math.log(0.9) + math.log(0.4) + math.log(0.8) + math.log(0.3)) / 4
    assert m.log_loss == pytest.approx(expected_loss)
    assert m.labels == ["0", "1"] and m.average == "binary" and m.rows == 4


def test_multiclass_metrics_are_macro_averaged():
    labels = ["a", "b", "c"]
    truth = pd.Series(["a", "b", "c", "c"])
    preds = predictions(
        labels,
        [("a", [0.8, 0.1, 0.1]), ("b", [0.1, 0.8, 0.1]), ("c", [0.1, 0.1, 0.8]), ("b", [0.2, 0.5, 0.3])],
    )
    m = score_predictions(truth, preds, labels)
    assert m.accuracy == 0.75
    assert m.recall == pytest.approx((1 + 1 + 0.5) / 3)
    assert m.precision == pytest.approx((1 + 0.5 + 1) / 3)
    assert m.confusion_matrix == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert m.average == "macro" and m.roc_auc == pytest.approx(1.0)


def test_perfect_predictions():
    labels = ["no", "yes"]
    truth = pd.Series(["no", "yes", "yes"])
    preds = predictions(labels, [("no", [1.0, 0.0]), ("yes", [0.0, 1.0]), ("yes", [0.0, 1.0])])
    m = score_predictions(truth, preds, labels)
    assert (m.accuracy, m.f1, m.roc_auc) == (1.0, 1.0, 1.0)
    assert m.log_loss < 1e-10


def test_length_mismatch_and_unknown_labels_are_refused():
    labels = [0, 1]
    preds = predictions(labels, [(0, [0.9, 0.1])])
    with pytest.raises(DataValidationError, match="2 true labels but 1 predictions"):
        score_predictions(pd.Series([0, 1]), preds, labels)
    with pytest.raises(DataValidationError, match=r"true labels \['7'\] are not among the model's labels \[0, 1\]"):
        score_predictions(pd.Series([7]), preds, labels)
