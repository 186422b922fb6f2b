"""Per-class precision, recall, F1 and support against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import precision_recall_fscore_support

from flyte.core.evaluation.statistics.class_metrics import class_metrics
from tests.core.evaluation.statistics.test_bootstrap import data


@pytest.mark.parametrize("k", [2, 3, 5])
def test_matches_scikit_learn(k):
    y, proba, labels = data(400, k, seed=k)
    out = class_metrics(y, proba, labels)
    p, r, f, s = precision_recall_fscore_support(y, proba.argmax(axis=1), labels=list(range(k)), zero_division=0)
    assert [m.label for m in out] == labels
    np.testing.assert_allclose([m.precision for m in out], p, atol=1e-12)
    np.testing.assert_allclose([m.recall for m in out], r, atol=1e-12)
    np.testing.assert_allclose([m.f1 for m in out], f, atol=1e-12)
    assert [m.support for m in out] == s.tolist()


def test_a_class_never_predicted_scores_zero_not_nan():
    y = np.array([0, 0, 1, 2])
    proba = np.array([[0.9, 0.05, 0.05]] * 4)
    out = class_metrics(y, proba, ["a", "b", "c"])
    assert (out[1].precision, out[1].recall, out[1].f1, out[1].support) == (0.0, 0.0, 0.0, 1)
