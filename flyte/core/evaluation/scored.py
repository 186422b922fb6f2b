"""The scored test rows read back, and the rule that metrics handed on with them are theirs (same rows, same counts)."""

# Publishing and the gate both receive metrics computed by an earlier task; each recomputes the counts from the rows
# it was given and refuses a mismatch, so a card or a verdict never describes other rows than the ones it read.
# Counts are compared because they are exact; float scores (accuracy, AUC) could differ in the last bit. A regression
# has no counts beyond the rows: its RMSE is compared to a relative 1e-9, as a sum taken in another order may differ
# in the last bits.

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from flyte.core.common.errors import DataValidationError
from flyte.core.data import labels as lbl
from flyte.core.evaluation.predict import probability_column
from flyte.core.evaluation.regression_metrics import RegressionMetrics
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


def check_same_regression_rows(given: Metrics, found: RegressionMetrics) -> None:
    """Refuse ``given`` metrics of a regression unless they are ``found``'s: the same number of rows and the same
    RMSE (to a relative 1e-9)."""
    mine = given.regression
    if mine is None or mine.rows != found.rows or not math.isclose(mine.rmse, found.rmse, rel_tol=1e-9, abs_tol=0.0):
        raise DataValidationError(
            f"the metrics given ({given.rows} rows, RMSE {mine.rmse if mine else None}) are not those of the test rows "
            f"and predictions given ({found.rows} rows, RMSE {found.rmse})"
        )
