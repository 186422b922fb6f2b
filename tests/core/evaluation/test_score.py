"""Tests for flyte.core.evaluation.score: hand-worked examples, scikit-learn as an oracle, thinned ROC curves, light imports."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm

from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.score import RocCurve, roc_curves, score_predictions

ROOT = Path(__file__).resolve().parents[3]


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]])  # predicts 0, 1, 1, 0
    m = score_predictions(y, proba, [0, 1])
    assert m.accuracy == 0.5 and m.balanced_accuracy == 0.5
    assert m.precision == 0.5 and m.recall == 0.5 and m.f1 == 0.5  # one TP, one FP, one FN
    assert m.confusion_matrix == [[1, 1], [1, 1]]
    assert m.roc_auc == 0.75  # positives score 0.8, 0.3 against negatives 0.1, 0.6: 3 of 4 pairs ordered
    expected_loss = -(math.log(0.9) + math.log(0.4) + math.log(0.8) + math.log(0.3)) / 4
    assert m.log_loss == pytest.approx(expected_loss)
    assert m.labels == ["0", "1"] and m.average == "binary" and m.rows == 4


def test_tied_scores_count_half_a_pair():
    # Positives score 0.5 and 0.9, negatives 0.5 and 0.1: pairs (0.9 beats both) = 2, (0.5 vs 0.1) = 1, tie = 0.5.
    y = np.array([1, 1, 0, 0])
    p1 = np.array([0.5, 0.9, 0.5, 0.1])
    m = score_predictions(y, np.column_stack([1 - p1, p1]), ["no", "yes"])
    assert m.roc_auc == 3.5 / 4
    # The argmax takes the first column on a tie: both 0.5 rows are predicted "no".
    assert m.confusion_matrix == [[2, 0], [1, 1]]


def test_multiclass_metrics_are_macro_averaged():
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.2, 0.5, 0.3]])
    m = score_predictions(y, proba, ["a", "b", "c"])
    assert m.accuracy == 0.75
    assert m.recall == pytest.approx((1 + 1 + 0.5) / 3)
    assert m.precision == pytest.approx((1 + 0.5 + 1) / 3)
    assert m.f1 == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert m.confusion_matrix == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert m.average == "macro" and m.roc_auc == pytest.approx(1.0)
    assert m.labels == ["a", "b", "c"]


def test_a_class_absent_from_the_rows_scores_zero_in_macro_precision_but_not_in_balanced_accuracy():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    m = score_predictions(y, proba, ["a", "b", "c"])
    assert m.accuracy == 1.0 and m.balanced_accuracy == 1.0  # mean recall over a and b only
    assert m.precision == pytest.approx(2 / 3) and m.f1 == pytest.approx(2 / 3)  # c: nothing true or predicted = 0
    assert m.roc_auc == 1.0  # c has no AUC, so the macro mean is over a and b


def test_perfect_predictions():
    y = np.array([0, 1, 1])
    m = score_predictions(y, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), ["no", "yes"])
    assert (m.accuracy, m.f1, m.roc_auc) == (1.0, 1.0, 1.0)
    assert 0 < m.log_loss < 1e-10  # probabilities are clipped to [eps, 1 - eps], so the loss is tiny but positive


def test_one_class_only_has_no_auc():
    m = score_predictions(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]), [0, 1])
    assert math.isnan(m.roc_auc) and m.recall == 0.5 and m.balanced_accuracy == 0.5
    assert roc_curves(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]), [0, 1]) == []


@pytest.mark.parametrize(
    ("y", "proba", "labels", "message"),
    [
        ([0, 1], [[0.9, 0.1]], [0, 1], r"2 true labels but 1 rows of probabilities"),
        ([], np.empty((0, 2)), [0, 1], r"no rows to score"),
        ([0, 2], [[0.9, 0.1], [0.5, 0.5]], [0, 1], r"true class code 2 is outside 0\.\.1"),
        ([0, -1], [[0.9, 0.1], [0.5, 0.5]], [0, 1], r"true class code -1 is outside 0\.\.1"),
        ([0, 1], [[0.9, 0.1, 0.0], [0.5, 0.5, 0.0]], [0, 1], r"shape \(rows, 2\).*got \(2, 3\)"),
        ([0, 1], [0.1, 0.5], [0, 1], r"shape \(rows, 2\)"),
        ([0.0, 1.0], [[0.9, 0.1], [0.5, 0.5]], [0, 1], r"must be integers"),
        ([0, 1], [[0.9, 0.1], [np.nan, 0.5]], [0, 1], r"finite and within \[0, 1\]"),
        ([0, 1], [[1.5, -0.5], [0.5, 0.5]], [0, 1], r"finite and within \[0, 1\]"),
        ([0, 0], [[1.0], [1.0]], [0], r"at least two labels"),
    ],
)
def test_unusable_input_is_refused(y, proba, labels, message):
    y, proba = (np.asarray(y) if len(y) else np.zeros(0, dtype=np.int64)), np.asarray(proba)
    with pytest.raises(DataValidationError, match=message):
        score_predictions(y, proba, labels)
    with pytest.raises(DataValidationError, match=message):
        roc_curves(y, proba, labels)


def random_case(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes with a skewed class mix and probabilities rounded to 2 decimals, so ties abound."""
    y = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k)))
    signal = np.eye(k)[y] * rng.uniform(0, 3)
    logits = signal + rng.normal(size=(n, k))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba.round(2)


def sklearn_metrics(y: np.ndarray, proba: np.ndarray, k: int) -> dict[str, float]:
    """The same metrics by scikit-learn, the reference the module must agree with."""
    pred, classes = proba.argmax(axis=1), np.arange(k)
    prf = {"average": "binary", "pos_label": 1} if k == 2 else {"average": "macro", "labels": classes}
    if k == 2:
        auc = skm.roc_auc_score(y, proba[:, 1]) if len(np.unique(y)) == 2 else math.nan
    else:
        aucs = [skm.roc_auc_score(y == c, proba[:, c]) for c in classes if 0 < (y == c).sum() < len(y)]
        auc = float(np.mean(aucs)) if aucs else math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rounded rows need not sum to exactly 1; absent classes warn
        return {
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "roc_auc": auc,
            "log_loss": skm.log_loss(y, proba, labels=classes),
            "precision": skm.precision_score(y, pred, zero_division=0, **prf),
            "recall": skm.recall_score(y, pred, zero_division=0, **prf),
            "f1": skm.f1_score(y, pred, zero_division=0, **prf),
            "confusion_matrix": skm.confusion_matrix(y, pred, labels=classes).tolist(),
        }


@pytest.mark.parametrize("seed", range(40))
def test_every_metric_matches_sklearn_on_random_tied_data(seed):
    rng = np.random.default_rng(seed)
    k = 2 if seed % 2 == 0 else int(rng.integers(3, 7))
    y, proba = random_case(rng, k, int(rng.integers(1, 400)))
    if seed % 10 == 9:
        y[:] = y[0]  # a single class: no AUC at all for two labels
    m = score_predictions(y, proba, list(range(k)))
    expected = sklearn_metrics(y, proba, k)
    assert m.confusion_matrix == expected.pop("confusion_matrix")
    for name, value in expected.items():
        assert getattr(m, name) == pytest.approx(value, rel=1e-12, abs=1e-15, nan_ok=True), name
    assert m.rows == len(y) and m.average == ("binary" if k == 2 else "macro")


@pytest.mark.parametrize("seed", range(10))
def test_metrics_from_the_curves_aucs_equal_the_metrics_found_alone(seed):
    """The score task sorts each class once, for its curve, and takes the metrics' AUC from it."""
    rng = np.random.default_rng(seed)
    k = 2 if seed % 2 == 0 else int(rng.integers(3, 7))
    y, proba = random_case(rng, k, int(rng.integers(2, 400)))
    curves = roc_curves(y, proba, list(range(k)))
    reused = score_predictions(y, proba, list(range(k)), aucs={c.label: c.auc for c in curves})
    assert reused == score_predictions(y, proba, list(range(k)))


@pytest.mark.parametrize("k", [2, 4])
def test_unthinned_curves_are_sklearns_points_exactly(k):
    y, proba = random_case(np.random.default_rng(k), k, 250)
    curves = roc_curves(y, proba, [f"c{i}" for i in range(k)], max_points=10_000)
    classes = [1] if k == 2 else range(k)
    assert [c.label for c in curves] == [f"c{i}" for i in classes]
    for curve, c in zip(curves, classes):
        fpr, tpr, _ = skm.roc_curve(y == c, proba[:, c], drop_intermediate=False)
        assert curve.fpr == pytest.approx(fpr, rel=1e-4) and curve.tpr == pytest.approx(tpr, rel=1e-4)
        assert curve.auc == pytest.approx(skm.roc_auc_score(y == c, proba[:, c]), rel=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_curves_for_100k_rows_are_thinned_and_keep_their_shape(k):
    rng = np.random.default_rng(7)
    y, proba = random_case(rng, k, 100_000)
    proba = np.clip(proba + rng.uniform(-1e-3, 1e-3, proba.shape), 0, 1)  # thousands of distinct thresholds
    curves = roc_curves(y, proba, list("abc")[:k], max_points=300)
    assert len(curves) == (1 if k == 2 else 3)
    for curve, c in zip(curves, [1] if k == 2 else range(k)):
        full_fpr, full_tpr, _ = skm.roc_curve(y == c, proba[:, c], drop_intermediate=False)
        assert len(full_fpr) > 3000  # so thinning had work to do
        fpr, tpr = np.array(curve.fpr), np.array(curve.tpr)
        assert 100 <= len(fpr) == len(tpr) <= 300
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
        assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()
        assert curve.auc == pytest.approx(skm.roc_auc_score(y == c, proba[:, c]), rel=1e-12)
        # Faithful shape: the thinned polyline's own area is within a hair of the exact one.
        assert np.trapezoid(tpr, fpr) == pytest.approx(curve.auc, abs=2e-3)
        # And every kept point is a point of the full curve (to the 5 significant digits kept).
        full = {(float(f"{a:.5g}"), float(f"{b:.5g}")) for a, b in zip(full_fpr, full_tpr)}
        assert all((a, b) in full for a, b in zip(curve.fpr, curve.tpr))


def test_thinning_keeps_both_ends_of_a_curve_with_few_points():
    y = np.array([0, 1, 0, 1])
    p1 = np.array([0.1, 0.9, 0.4, 0.3])
    (curve,) = roc_curves(y, np.column_stack([1 - p1, p1]), [0, 1], max_points=2)
    assert curve == RocCurve(label="1", fpr=[0.0, 1.0], tpr=[0.0, 1.0], auc=0.75)
    with pytest.raises(ValueError, match="at least 2"):
        roc_curves(y, np.column_stack([1 - p1, p1]), [0, 1], max_points=1)


def test_importing_score_and_report_loads_neither_sklearn_nor_scipy():
    code = (
        "import sys, flyte.core.evaluation.score, flyte.core.evaluation.report; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
