"""Scoring tables of any size in bounded memory: the metrics and ROC curves from one pass of batches."""

# Below ``ScoreSettings.exact_rows`` test rows, evaluate.py scores in memory and exactly (every score sorted). From
# there on, this module reads the target and probability columns batch by batch and keeps only a confusion matrix,
# a log-loss sum and, per scored class, a histogram of its scores (score_hist.py): ROC AUC and the curves come from
# the histograms, within the error bound logged beside them. Memory is one batch plus the histograms, whatever the
# row count.

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from flyte.core.data import labels as lbl
from flyte.core.common.errors import DataValidationError
from flyte.core.common.validation import check_types, require, strict
from flyte.core.evaluation.predict import probability_column
from flyte.core.evaluation.predict import PREDICTION_COLUMN, probability_column
from flyte.core.evaluation.regression_metrics import BinnedAccumulator, BinnedErrors, RegressionAccumulator, describe
from flyte.core.data.target import REGRESSION, values as target_values
from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.score import Metrics, RocCurve, _rounded, _thin, _validated, metrics_from_counts
from flyte.core.evaluation.score_hist import HistogramAuc
from flyte.core.data.tables import iter_batches, num_rows

log = logging.getLogger(__name__)


@strict
@dataclass(frozen=True)
class ScoreSettings:
    """How the test rows are scored: the score task's ``settings`` input. Unknown keys and wrong types are refused.

    exact_rows: from this many test rows on, score streamed with histogram AUCs (bounded memory); below, in
        memory with exact AUCs.
    auc_bins: equal-width score bins of each class's histogram (the AUC's error bound shrinks as they grow;
        each costs 32 bytes per class).
    """

    exact_rows: int = 1_000_000
    auc_bins: int = 1 << 18

    def __post_init__(self) -> None:
        check_types(self)
        require(self.exact_rows >= 1, f"ScoreSettings.exact_rows must be at least 1, got {self.exact_rows}")
        require(self.auc_bins >= 2, f"ScoreSettings.auc_bins must be at least 2, got {self.auc_bins}")


def score_streamed(
    test: Path, predictions: Path, schema: ModelSchema, settings: ScoreSettings, max_points: int = 300
) -> tuple[Metrics, list[RocCurve]]:
    """Metrics and ROC curves (as ``score.score_predictions`` and ``score.roc_curves``) of ``predictions``
    against ``test``'s target, read batch by batch; the AUCs from histograms of ``settings.auc_bins`` bins."""
    texts = schema.label_texts
    k = len(texts)
    classes = [1] if k == 2 else list(range(k))
    hists = {c: HistogramAuc(settings.auc_bins) for c in classes}
    cm = np.zeros(k * k, dtype=np.int64)
    loss_sum = 0.0
    for y, proba in _paired_batches(test, predictions, schema):
        y, proba = _validated(y, proba, texts)
        cm += np.bincount(y * k + proba.argmax(axis=1), minlength=k * k)
        eps = np.finfo(proba.dtype).eps
        loss_sum -= float(np.log(np.clip(proba[np.arange(len(y)), y], eps, 1 - eps)).sum())
        for c, hist in hists.items():
            hist.add(y == c, proba[:, c])
    n = int(cm.sum())
    if n == 0:
        raise DataValidationError("no rows to score")
    defined = [c for c in classes if hists[c].defined]
    auc = float(np.mean([hists[c].auc() for c in defined])) if defined else float("nan")
    bound = float(np.mean([hists[c].error_bound() for c in defined])) if defined else 0.0
    log.info("streamed %d rows: ROC AUC %.6f from %d-bin histograms, within %.2g of the exact", n, auc, settings.auc_bins, bound)
    curves = []
    for c in defined:
        fps, tps = hists[c].roc_counts()
        fpr, tpr = fps / fps[-1], tps / tps[-1]
        keep = _thin(fpr, tpr, max_points)
        curves.append(RocCurve(str(texts[c]), _rounded(fpr[keep]), _rounded(tpr[keep]), hists[c].auc()))
    return metrics_from_counts(cm.reshape(k, k), auc, loss_sum / n, texts), curves


def _paired_batches(test: Path, predictions: Path, schema: ModelSchema) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(class codes, probabilities) of the same rows, batch by batch, whatever each table's own batch sizes."""
    texts = schema.label_texts
    rows, predicted = num_rows(test), num_rows(predictions)
    if rows != predicted:
        raise DataValidationError(f"{rows} true labels but {predicted} predictions")
    code_of = {t: i for i, t in enumerate(texts)}
    where = f"{Path(test).name}: target column {schema.target!r}"
    labels = iter_batches(test, columns=[schema.target], dictionary=[schema.target])
    probs = iter_batches(predictions, columns=[probability_column(t) for t in texts])
    left: pa.RecordBatch | None = None
    right: pa.RecordBatch | None = None
    while True:
        left = left if left is not None and left.num_rows else next(labels, None)
        right = right if right is not None and right.num_rows else next(probs, None)
        if left is None or right is None:
            return
        take = min(left.num_rows, right.num_rows)
        y = lbl.codes(left.column(0).slice(0, take), schema.label_kind, code_of, where=where)
        proba = np.column_stack([right.column(i).slice(0, take).to_numpy(zero_copy_only=False) for i in range(right.num_columns)])
        yield y, proba
        left, right = left.slice(take), right.slice(take)


def score_regression_streamed(test: Path, predictions: Path, schema: ModelSchema, edges: list[float] = ()) -> tuple[Metrics, BinnedErrors]:
    """A regression model's Metrics: its ``prediction`` column against ``test``'s target, batch by batch in bounded
    memory (exact up to target.SAMPLE_LIMIT rows; the median absolute error from a strided sample beyond); and
    the errors per bin of the true target that ``edges`` cut (the profile's quantile bins)."""
    acc, binned = RegressionAccumulator(), BinnedAccumulator(list(edges))
    for y, prediction in regression_batches(test, predictions, schema):
        acc.add(y, prediction)
        binned.add(y, prediction)
    found = acc.finish()
    log.info("scored %d rows: %s", found.rows, describe(found))
    return Metrics(problem_type=REGRESSION, regression=found, rows=found.rows), binned.finish()


def regression_batches(test: Path, predictions: Path, schema: ModelSchema) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(true targets, predictions) of the same rows of a regression model, batch by batch (float64, the target's
    units), whatever each table's own batch sizes; refuses tables of different row counts or a bad target value."""
    rows, predicted = num_rows(test), num_rows(predictions)
    if rows != predicted:
        raise DataValidationError(f"{rows} true targets but {predicted} predictions")
    where = f"{Path(test).name}: target column {schema.target!r}"
    truth = iter_batches(test, columns=[schema.target])
    guesses = iter_batches(predictions, columns=[PREDICTION_COLUMN])
    left: pa.RecordBatch | None = None
    right: pa.RecordBatch | None = None
    while True:
        left = left if left is not None and left.num_rows else next(truth, None)
        right = right if right is not None and right.num_rows else next(guesses, None)
        if left is None or right is None:
            return
        take = min(left.num_rows, right.num_rows)
        y = target_values(left.column(0).slice(0, take), where)
        yield y, right.column(0).slice(0, take).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        left, right = left.slice(take), right.slice(take)
