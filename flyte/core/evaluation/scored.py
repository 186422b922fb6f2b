"""The scored test rows read back, and the rule that metrics handed on with them are theirs (same rows, same counts)."""

# Publishing and the gate both receive metrics computed by an earlier task; each recomputes the counts from the rows
# it was given and refuses a mismatch, so a card or a verdict never describes other rows than the ones it read.
# Counts are compared because they are exact; float scores (accuracy, AUC) could differ in the last bit.

from __future__ import annotations

from pathlib import Path

import numpy as np

from flyte.core.common.errors import DataValidationError
from flyte.core.data import labels as lbl
from flyte.core.evaluation.predict import probability_column
from flyte.core.evaluation.score import Metrics, _validated
from flyte.core.data.tables import read_columns


def read_scored(test: Path, predictions: Path, target: str, texts: list[str], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The test rows' class codes and predicted probabilities (rows x classes, columns in ``texts`` order), read
    as evaluate reads them: the target column and the probability columns, no features."""
    y = lbl.read_codes(test, target, texts, kind)
    table = read_columns(predictions, [probability_column(t) for t in texts])
    if table.num_rows != len(y):
        raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {len(y)} test rows")
    return y, np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])


def counted(y: np.ndarray, proba: np.ndarray, texts: list[str]) -> Metrics:
    """The rows' count, labels and confusion matrix (what ``check_same_rows`` compares), without sorting for AUC."""
    y, proba = _validated(y, proba, texts)
    k = len(texts)
    cm = np.bincount(y * k + proba.argmax(axis=1), minlength=k * k).reshape(k, k)
    return Metrics(labels=[str(t) for t in texts], confusion_matrix=cm.tolist(), rows=len(y))


def check_same_rows(given: Metrics, found: Metrics) -> None:
    """Refuse ``given`` metrics unless they count the rows ``found`` counts: the same number of rows, the same
    labels in the same order, the same confusion matrix."""
    if (given.rows, list(given.labels), given.confusion_matrix) != (found.rows, list(found.labels), found.confusion_matrix):
        raise DataValidationError(
            f"the metrics given ({given.rows} rows, confusion matrix {given.confusion_matrix}) are not those of the "
            f"test rows and predictions given ({found.rows} rows, {found.confusion_matrix})"
        )
