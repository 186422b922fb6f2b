"""The reliability curve against scikit-learn's calibration_curve, and the ECE against a direct sum."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from flyte.core.evaluation.statistics.calibration import calibration
from tests.core.evaluation.statistics.test_bootstrap import data


def test_binary_curve_matches_scikit_learn():
    y, proba, labels = data(1000, 2, seed=1)
    proba[:5, 1] = [0.1, 0.2, 0.5, 0.9, 1.0]  # probabilities on inner and outer edges
    proba[:5, 0] = 1 - proba[:5, 1]
    curve = calibration(y, proba, labels, bins=10)
    observed, predicted = calibration_curve(y, proba[:, 1], n_bins=10, strategy="uniform")
    assert curve.kind == "positive" and curve.label == "c1"
    np.testing.assert_allclose(curve.observed, observed, rtol=0, atol=1e-12)
    np.testing.assert_allclose(curve.confidence, predicted, rtol=0, atol=1e-12)
    assert sum(curve.counts) == 1000


def test_multiclass_curve_is_top_label_confidence_against_being_right():
    y, proba, labels = data(800, 4, seed=2)
    curve = calibration(y, proba, labels, bins=8)
    pred = proba.argmax(axis=1)
    right, confidence = (pred == y).astype(int), proba.max(axis=1)
    observed, predicted = calibration_curve(right, confidence, n_bins=8, strategy="uniform")
    assert curve.kind == "top-label"
    np.testing.assert_allclose(curve.observed, observed, atol=1e-12)
    np.testing.assert_allclose(curve.confidence, predicted, atol=1e-12)
    # ECE as a plain loop over the bins.
    bins = np.minimum((confidence * 8 - 1e-12).astype(int).clip(0), 7)
    ece = sum(abs(right[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).sum() / 800
              for b in range(8) if (bins == b).any())  # fmt: skip
    assert curve.ece == pytest.approx(ece, abs=1e-12)


def test_perfect_calibration_has_zero_error_and_a_confident_wrong_model_a_large_one():
    y = np.array([0, 1] * 50)
    half = np.full((100, 2), 0.5)
    assert calibration(y, half, ["a", "b"], bins=10).ece == pytest.approx(0.0)
    wrong = np.column_stack([y * 0.99 + 0.005, 1 - (y * 0.99 + 0.005)])
    assert calibration(y, wrong, ["a", "b"], bins=10).ece > 0.9


def test_bins_must_be_positive():
    with pytest.raises(ValueError, match="bins"):
        calibration(np.array([0, 1]), np.array([[0.5, 0.5], [0.2, 0.8]]), ["a", "b"], bins=0)
