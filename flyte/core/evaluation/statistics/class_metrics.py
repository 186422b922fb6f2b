"""Precision, recall, F1 and support of every class, from the confusion matrix of the test rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flyte.core.evaluation.score import _validated


@dataclass
class ClassMetrics:
    """One class's scores on the test rows, each a fraction in [0, 1] (0 where undefined, as scikit-learn's
    zero_division=0).

    label: the class as text; precision: of the rows predicted as it, the share that were;
    recall: of its rows, the share predicted as it; f1: their harmonic mean; support: its rows.
    """

    label: str
    precision: float
    recall: float
    f1: float
    support: int


def class_metrics(y: np.ndarray, proba: np.ndarray, labels: list) -> list[ClassMetrics]:
    """Each class's metrics, in ``labels`` order; the predicted class is the most probable column."""
    y, proba = _validated(y, proba, labels)
    k = proba.shape[1]
    return class_metrics_from_counts(np.bincount(y * k + proba.argmax(axis=1), minlength=k * k).reshape(k, k), labels)


def class_metrics_from_counts(cm: np.ndarray, labels: list) -> list[ClassMetrics]:
    """Each class's metrics from the confusion matrix ``cm`` (row = true class, column = predicted)."""
    k = len(labels)
    tp, true_count, pred_count = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)

    def ratio(num, den):
        return float(num / den) if den else 0.0

    return [
        ClassMetrics(str(labels[c]), ratio(tp[c], pred_count[c]), ratio(tp[c], true_count[c]),
                     ratio(2 * tp[c], true_count[c] + pred_count[c]), int(true_count[c]))  # fmt: skip
        for c in range(k)
    ]
