"""Bootstrap intervals: each replicate equals scikit-learn on the resampled rows; seeded; bracketing the estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from flyte.core.evaluation.statistics.bootstrap import METRICS, bootstrap_intervals, replicate_metrics
from flyte.core.evaluation.score import score_predictions


def data(n: int, k: int, seed: int = 0, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    if ties:  # coarse scores: many rows share a probability, so ROC ties must count half
        logits = np.round(logits)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba, [f"c{i}" for i in range(k)]


def sklearn_metrics(y, proba, k):
    pred = proba.argmax(axis=1)
    average = "binary" if k == 2 else "macro"
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred) if len(np.unique(y)) > 1 else recall_only(y, pred),
        "log_loss": skm.log_loss(y, proba, labels=list(range(k))),
        "precision": skm.precision_score(y, pred, average=average, labels=list(range(k)), zero_division=0),
        "recall": skm.recall_score(y, pred, average=average, labels=list(range(k)), zero_division=0),
        "f1": skm.f1_score(y, pred, average=average, labels=list(range(k)), zero_division=0),
    }
    if k == 2:
        out["roc_auc"] = skm.roc_auc_score(y, proba[:, 1])
    else:
        present = [c for c in range(k) if 0 < (y == c).sum() < len(y)]
        out["roc_auc"] = np.mean([skm.roc_auc_score(y == c, proba[:, c]) for c in present])
    return out


def recall_only(y, pred):
    return float((pred == y).mean())


@pytest.mark.parametrize("k,ties", [(2, False), (2, True), (3, False), (4, True)])
def test_every_replicate_matches_scikit_learn_on_the_resampled_rows(k, ties):
    y, proba, labels = data(300, k, seed=k, ties=ties)
    values = replicate_metrics(y, proba, labels, replicates=25, seed=11)
    rng = np.random.default_rng(11)
    for r in range(25):
        idx = rng.integers(0, len(y), len(y))
        expected = sklearn_metrics(y[idx], proba[idx], k)
        for name in METRICS:
            assert values[name][r] == pytest.approx(expected[name], abs=1e-10), (name, r)


def test_interval_brackets_the_point_estimate_and_is_seeded():
    y, proba, labels = data(500, 2)
    point = score_predictions(y, proba, labels)
    first = bootstrap_intervals(y, proba, labels, replicates=300, seed=5)
    again = bootstrap_intervals(y, proba, labels, replicates=300, seed=5)
    other = bootstrap_intervals(y, proba, labels, replicates=300, seed=6)
    assert first == again
    assert first.low != other.low and first.high != other.high
    for name in METRICS:
        assert first.low[name] <= getattr(point, name) <= first.high[name], name
        assert first.low[name] < first.high[name], name
        assert first.undefined[name] == 0


def test_interval_ends_are_the_percentiles_of_the_replicates():
    y, proba, labels = data(200, 3)
    values = replicate_metrics(y, proba, labels, replicates=100, seed=2)
    out = bootstrap_intervals(y, proba, labels, replicates=100, seed=2, level=0.9)
    for name in METRICS:
        assert (out.low[name], out.high[name]) == pytest.approx(tuple(np.percentile(values[name], [5, 95])), abs=1e-12)


def test_a_resample_with_one_class_leaves_auc_undefined_and_out_of_the_interval():
    y = np.array([0] * 19 + [1])
    proba = np.column_stack([np.linspace(0.9, 0.1, 20), np.linspace(0.1, 0.9, 20)])
    out = bootstrap_intervals(y, proba, ["a", "b"], replicates=200, seed=0)
    # P(the single positive row is never drawn) = (19/20)^20, about 36%.
    assert 40 < out.undefined["roc_auc"] < 110
    assert out.undefined["accuracy"] == 0
    assert 0 <= out.low["roc_auc"] <= out.high["roc_auc"] <= 1


def test_bad_settings_are_refused():
    y, proba, labels = data(20, 2)
    with pytest.raises(ValueError, match="replicates"):
        bootstrap_intervals(y, proba, labels, replicates=1, seed=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_intervals(y, proba, labels, replicates=10, seed=0, level=1.0)
