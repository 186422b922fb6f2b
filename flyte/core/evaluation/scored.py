"""The scored test rows read back, and the rule that metrics handed on with them are theirs (same rows, same counts)."""

# Publishing and the gate both receive metrics computed by an earlier task; each recomputes the counts from the rows
# it was given and refuses a mismatch, so a card or a verdict never describes other rows than the ones it read.
# Counts are compared because they are exact; float scores (accuracy, AUC) could differ in the last bit. A regression
# has no counts beyond the rows: its RMSE is compared to a relative 1e-9, as a sum taken in another order may differ
# in the last bits.

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa

from flyte.core.common.errors import DataValidationError
from flyte.core.data import labels as lbl
from flyte.core.evaluation.predict import PREDICTION_COLUMN, probability_column
from flyte.core.evaluation.regression_metrics import RegressionMetrics
from flyte.core.evaluation.score import Metrics, _validated
from flyte.core.data.tables import iter_batches, num_rows, read_columns
from flyte.core.data.target import values


def read_scored(test: Path, predictions: Path, target: str, texts: list[str], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The test rows' class codes and predicted probabilities (rows x classes, columns in ``texts`` order), read
    as evaluate reads them: the target column and the probability columns, no features."""
    y = lbl.read_codes(test, target, texts, kind)
    table = read_columns(predictions, [probability_column(t) for t in texts])
    if table.num_rows != len(y):
        raise DataValidationError(f"{predictions}: {table.num_rows} predictions for {len(y)} test rows")
    return y, np.column_stack([table.column(i).to_numpy() for i in range(table.num_columns)])


def sample_mask(rows: int, size: int, seed: int) -> np.ndarray:
    """Which of ``rows`` rows a seeded sample of about ``size`` keeps: each row by position, with probability
    size / rows (all of them when size >= rows). One byte a row; the draws are made a million at a time."""
    if size >= rows:
        return np.ones(rows, dtype=bool)
    rng, share = np.random.default_rng(seed), size / rows
    keep = np.empty(rows, dtype=bool)
    for start in range(0, rows, 1 << 20):
        end = min(rows, start + (1 << 20))
        keep[start:end] = rng.random(end - start) < share
    return keep


def kept_batches(
    table: Path, columns: list[str], keep: np.ndarray, dictionary: Sequence[str] = ()
) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
    """Each batch of ``table``'s ``columns`` that holds a row ``keep`` marks (a mask over every row), with the
    positions of those rows in it; one batch is held at a time. ``dictionary``: as for ``iter_batches``."""
    offset = 0
    for batch in iter_batches(table, columns=columns, dictionary=dictionary):
        chosen = np.flatnonzero(keep[offset : offset + batch.num_rows])
        offset += batch.num_rows
        if len(chosen):
            yield batch, chosen


def _check_rows(test: Path, predictions: Path, rows: int) -> None:
    found, expected = num_rows(predictions), num_rows(test)
    if found != rows or expected != rows:
        raise DataValidationError(f"{predictions}: {found} predictions for {expected} test rows")


def read_scored_rows(test: Path, predictions: Path, target: str, texts: list[str], kind: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``read_scored`` of only the rows ``keep`` marks (a mask over every test row), both tables read batch by
    batch, so memory holds one batch and the kept rows whatever the row count."""
    _check_rows(test, predictions, len(keep))
    code_of = {t: i for i, t in enumerate(texts)}
    y = np.empty(int(keep.sum()), dtype=np.min_scalar_type(max(len(texts) - 1, 0)))
    proba = np.empty((len(y), len(texts)), dtype=np.float64)
    filled, where = 0, f"{Path(test).name}: target column {target!r}"
    for batch, chosen in kept_batches(test, [target], keep, dictionary=[target]):
        y[filled : filled + len(chosen)] = lbl.codes(batch.column(0), kind, code_of, where=where)[chosen]
        filled += len(chosen)
    filled = 0
    for batch, chosen in kept_batches(predictions, [probability_column(t) for t in texts], keep):
        proba[filled : filled + len(chosen)] = np.column_stack([c.to_numpy()[chosen] for c in batch.columns])
        filled += len(chosen)
    return y, proba


def read_regression_rows(test: Path, predictions: Path, target: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The targets and predictions of only the rows ``keep`` marks, read as ``read_scored_rows`` reads them."""
    _check_rows(test, predictions, len(keep))
    out = []
    for table, column in ((test, target), (predictions, PREDICTION_COLUMN)):
        where = f"{Path(table).name}: column {column!r}"
        parts = [values(batch.column(0), where)[chosen] for batch, chosen in kept_batches(table, [column], keep)]
        out.append(np.concatenate(parts) if parts else np.empty(0))
    return out[0], out[1]


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
