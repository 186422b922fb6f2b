"""Stage 5: score predictions against the true labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from flyte.core.errors import DataValidationError
from flyte.core.predict import PREDICTED_COLUMN, probabilities


@dataclass
class Metrics:
    """How well the model did on held-out rows. Every rate is a fraction in [0, 1].

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


def score_predictions(y_true: pd.Series, predictions: pd.DataFrame, labels: list) -> Metrics:
    """Metrics for ``predictions`` (a predict_table result) against ``y_true``, row for row."""
    if len(y_true) != len(predictions):
        raise DataValidationError(f"{len(y_true)} true labels but {len(predictions)} predictions")
    if len(y_true) == 0:
        raise DataValidationError("no rows to score")
    # Score on class codes 0..K-1 (by text, so 1 and numpy's 1 agree): sklearn cannot type mixed objects.
    code = {str(label): i for i, label in enumerate(labels)}
    unknown = sorted({str(v) for v in pd.unique(y_true)} - set(code))
    if unknown:
        raise DataValidationError(f"true labels {unknown} are not among the model's labels {list(labels)}")
    y = np.array([code[str(v)] for v in y_true], dtype=np.int64)
    y_pred = np.array([code[str(v)] for v in predictions[PREDICTED_COLUMN]], dtype=np.int64)
    proba = probabilities(predictions, labels)
    classes = np.arange(len(labels))
    binary = len(labels) == 2
    if binary:
        prf = {"average": "binary", "pos_label": 1}
        auc = skm.roc_auc_score(y, proba[:, 1]) if len(np.unique(y)) == 2 else float("nan")
    else:
        prf = {"average": "macro", "labels": classes}
        auc = _multiclass_auc(y, proba)
    return Metrics(
        accuracy=float(skm.accuracy_score(y, y_pred)),
        balanced_accuracy=float(skm.balanced_accuracy_score(y, y_pred)),
        roc_auc=float(auc),
        log_loss=float(skm.log_loss(y, proba, labels=classes)),
        precision=float(skm.precision_score(y, y_pred, zero_division=0, **prf)),
        recall=float(skm.recall_score(y, y_pred, zero_division=0, **prf)),
        f1=float(skm.f1_score(y, y_pred, zero_division=0, **prf)),
        average="binary" if binary else "macro",
        labels=list(code),
        confusion_matrix=skm.confusion_matrix(y, y_pred, labels=classes).tolist(),
        rows=len(y),
    )


def _multiclass_auc(y: np.ndarray, proba: np.ndarray) -> float:
    # One-vs-rest per class present in y, macro-averaged; a class absent from y has no defined AUC.
    aucs = [skm.roc_auc_score(y == k, proba[:, k]) for k in range(proba.shape[1]) if 0 < (y == k).sum() < len(y)]
    return float(np.mean(aucs)) if aucs else float("nan")
