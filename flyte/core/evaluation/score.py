"""Stage 5: score predicted class probabilities against the true labels, in vectorized numpy alone."""

# Why no scikit-learn or scipy: every metric here is a few array passes, and the core then needs neither at run time.
# The definitions match scikit-learn 1.9 (the tests hold them to it as an oracle): precision/recall/F1 with
# zero_division=0, balanced accuracy over the classes present, log loss clipped to the dtype's eps with no row
# renormalisation, and ROC AUC with ties counted as half (the trapezoid over distinct thresholds).

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.regression_metrics import RegressionMetrics


@dataclass
class Metrics:
    """How well the model did on held-out rows. Every rate is a fraction in [0, 1].

    problem_type: ``classification`` or ``regression``: which fields hold the result. A regression's numbers are
        all in ``regression`` (RMSE, MAE, R², ...); ``rows`` is set for both, and the class fields keep their
        empty defaults for a regression (no labels, no confusion matrix, rates 0), never read as a result.
    regression: a regression model's metrics; None for classification.

    roc_auc: area under the ROC curve; one-vs-rest, macro-averaged, for more than two classes.
    log_loss: mean negative log-likelihood of the true labels (natural log; lower is better).
    precision / recall / f1: of the positive class (the last label) for two classes,
        macro-averaged over classes otherwise; ``average`` says which.
    labels: class labels as text, in the order of the confusion matrix rows and columns.
    confusion_matrix: row = true label, column = predicted label, entries are row counts.
    rows: number of rows scored.
    """

    accuracy: float = 0.0
    balanced_accuracy: float = 0.0
    roc_auc: float = 0.0
    log_loss: float = 0.0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    average: str = "binary"
    labels: list[str] = field(default_factory=list)
    confusion_matrix: list[list[int]] = field(default_factory=list)
    rows: int = 0
    problem_type: str = "classification"
    regression: Optional[RegressionMetrics] = None


@dataclass
class RocCurve:
    """One ROC curve, thinned for drawing: false and true positive rates (fractions in [0, 1]), point by point.

    label: the class (as text) treated as positive; the rest are negative.
    fpr / tpr: equally long, both non-decreasing, from (0, 0) to (1, 1); at most ``max_points`` points of the
        full curve, rounded to 5 significant digits.
    auc: area under the full curve (ties count half), not under the thinned points: exact, or from a histogram
        of the scores within its stated bound on large test sets (score_hist.py).
    """

    label: str
    fpr: list[float]
    tpr: list[float]
    auc: float


def score_predictions(y: np.ndarray, proba: np.ndarray, labels: list, aucs: dict[str, float] | None = None) -> Metrics:
    """Metrics for class probabilities ``proba`` (rows x labels, columns in ``labels`` order) against ``y``.

    ``y`` holds integer class codes: code i means ``labels[i]``. The predicted class of a row is its most probable
    column (``proba.argmax(axis=1)``, first column on a tie), as predict picks it. ``aucs``: each class's exact AUC
    by label, already found for these rows (``roc_curves``), rather than sorted for again.
    """
    y, proba = _validated(y, proba, labels)
    n, k = proba.shape
    y_pred = proba.argmax(axis=1)
    # Row = true code, column = predicted code; one bincount over the K*K (true, predicted) pairs.
    cm = np.bincount(y * k + y_pred, minlength=k * k).reshape(k, k)
    counts = cm.sum(axis=1)
    present = (counts > 0) & (counts < n)
    def class_auc(c: int) -> float:
        return aucs[str(labels[c])] if aucs is not None else _auc(y == c, proba[:, c])

    if k == 2:
        auc = class_auc(1) if present[1] else float("nan")
    else:
        per_class = [class_auc(c) for c in np.flatnonzero(present)]
        auc = float(np.mean(per_class)) if per_class else float("nan")
    eps = np.finfo(proba.dtype).eps
    # Only the true class's column counts; clipping keeps log(0) finite, as in scikit-learn.
    p_true = np.clip(proba[np.arange(n), y], eps, 1 - eps)
    return metrics_from_counts(cm, float(auc), float(-np.log(p_true).mean()), labels)


def metrics_from_counts(cm: np.ndarray, roc_auc: float, log_loss: float, labels: list) -> Metrics:
    """Metrics from a confusion matrix (row = true code, column = predicted code) and the ROC AUC and log loss
    found beside it: what both the in-memory and the streamed scoring report."""
    cm = np.asarray(cm, dtype=np.int64)
    k, n = len(labels), int(cm.sum())
    tp = np.diag(cm)
    true_count, pred_count = cm.sum(axis=1), cm.sum(axis=0)
    precision = _divide(tp, pred_count)
    recall = _divide(tp, true_count)
    f1 = _divide(2 * tp, true_count + pred_count)  # = 2PR / (P + R), and 0 where nothing is true or predicted
    if k == 2:
        scores = (precision[1], recall[1], f1[1])
    else:
        scores = (precision.mean(), recall.mean(), f1.mean())
    return Metrics(
        accuracy=float(tp.sum() / n),
        balanced_accuracy=float(recall[true_count > 0].mean()),
        roc_auc=float(roc_auc),
        log_loss=float(log_loss),
        precision=float(scores[0]),
        recall=float(scores[1]),
        f1=float(scores[2]),
        average="binary" if k == 2 else "macro",
        labels=[str(label) for label in labels],
        confusion_matrix=cm.tolist(),
        rows=n,
    )


def roc_curves(y: np.ndarray, proba: np.ndarray, labels: list, max_points: int = 300) -> list[RocCurve]:
    """ROC curves to draw: for two labels one, positive class ``labels[1]``; for more, one-vs-rest per class.

    A class with no rows, or with every row, in ``y`` has no curve. Arguments are as for ``score_predictions``;
    each curve keeps at most ``max_points`` points (at least 2), always its first (0, 0) and last (1, 1).
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (a curve's two ends), got {max_points}")
    y, proba = _validated(y, proba, labels)
    counts = np.bincount(y, minlength=len(labels))
    classes = [1] if len(labels) == 2 else range(len(labels))
    curves = []
    for c in classes:
        if not 0 < counts[c] < len(y):
            continue
        fps, tps = _roc_counts(y == c, proba[:, c])
        fpr, tpr = fps / fps[-1], tps / tps[-1]
        keep = _thin(fpr, tpr, max_points)
        curves.append(RocCurve(str(labels[c]), _rounded(fpr[keep]), _rounded(tpr[keep]), _auc_from_counts(fps, tps)))
    return curves


def _validated(y: np.ndarray, proba: np.ndarray, labels: list) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as int64 codes and ``proba`` as a float array, or a DataValidationError naming what is wrong."""
    y, proba = np.asarray(y), np.asarray(proba)
    k = len(labels)
    if k < 2:
        raise DataValidationError(f"need at least two labels to score, got {list(labels)}")
    if y.ndim != 1:
        raise DataValidationError(f"true class codes must be one-dimensional, got shape {y.shape}")
    if proba.ndim != 2 or proba.shape[1] != k:
        raise DataValidationError(f"probabilities must have shape (rows, {k}) for labels {list(labels)}, got {proba.shape}")
    if len(y) != len(proba):
        raise DataValidationError(f"{len(y)} true labels but {len(proba)} rows of probabilities")
    if len(y) == 0:
        raise DataValidationError("no rows to score")
    if y.dtype.kind not in "iu":
        raise DataValidationError(f"true class codes must be integers, got dtype {y.dtype}")
    low, high = y.min(), y.max()
    if low < 0 or high >= k:
        bad = low if low < 0 else high
        raise DataValidationError(f"true class code {bad} is outside 0..{k - 1} (labels {list(labels)})")
    if proba.dtype.kind != "f":
        proba = proba.astype(np.float64)
    # NaN would sort arbitrarily and poison every mean; a value off [0, 1] is not a probability.
    if not np.isfinite(proba).all() or proba.min() < 0 or proba.max() > 1:
        raise DataValidationError("probabilities must be finite and within [0, 1]")
    return y.astype(np.int64, copy=False), proba


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio as float, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def _roc_counts(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative false and true positive counts at each distinct score, highest first, after a leading (0, 0).

    These are exactly the points of scikit-learn's roc_curve(drop_intermediate=False), before dividing by the
    negative and positive totals: rows tied on a score enter together, so a tie is one diagonal step.
    """
    # Any sort will do: the counts are read at the end of each run of equal scores, whatever the order inside it
    # (introsort costs 0.17 s at 1.65M rows, a stable sort 0.23 s).
    order = np.argsort(score)[::-1]
    ranked = score[order]
    # Index of the last row of each run of equal scores.
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]
    tps = np.cumsum(positive[order], dtype=np.int64)[ends]
    fps = ends + 1 - tps
    return np.r_[0, fps], np.r_[0, tps]


def _auc_from_counts(fps: np.ndarray, tps: np.ndarray) -> float:
    """Trapezoid area under the count curve over its full area, in integers until one last division.

    Equal to the Mann-Whitney U statistic with mid-ranks over (positives x negatives): every tied
    (positive, negative) pair counts half. Integers stay exact far past 5M rows (the sum is at most n^2 / 2).
    """
    doubled = int(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])))
    return doubled / (2 * int(fps[-1]) * int(tps[-1]))


def _auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Exact ROC AUC of ``score`` for the rows where ``positive`` is True; needs both kinds of row."""
    return _auc_from_counts(*_roc_counts(positive, score))


def _thin(fpr: np.ndarray, tpr: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` points of the curve, first and last included, evenly spaced by arc length.

    Why arc length and not index or threshold: the points of a ROC curve crowd where scores are dense, which need
    not be where its shape turns, and a long straight run needs only its two ends. Taking, for each of ``max_points``
    marks evenly spaced along the curve's length L, the first point at or past the mark bounds the drawn error: every
    dropped point lies within L / (max_points - 1) of the chord that replaces it (L <= 2, so under 0.7% of the
    plot's side at 300 points: under 2 px on a 260 px plot), whatever the row count.
    """
    if len(fpr) <= max_points:
        return np.arange(len(fpr))
    # Both axes are rates drawn on the same scale, so plain Euclidean length is the drawn length.
    length = np.r_[0.0, np.cumsum(np.hypot(np.diff(fpr), np.diff(tpr)))]
    marks = np.linspace(0.0, length[-1], max_points)[1:-1]
    inner = np.searchsorted(length, marks, side="left")
    return np.unique(np.r_[0, inner, len(fpr) - 1])


def _rounded(values: np.ndarray) -> list[float]:
    """Values rounded to 5 significant digits: far finer than a pixel, and short in HTML or JSON."""
    # A loop over at most max_points kept points, never over rows.
    return [float(f"{v:.5g}") for v in values.tolist()]
