"""The model card's statistics on large test sets, read batch by batch: bounded memory whatever the row count."""

# Two passes over the test target and the probability columns (score_stream's batches). The first keeps the
# confusion matrix, the log losses' sum and sum of squares, the calibration bins' sums and, per scored class, a
# histogram of its scores (score_hist.py). The second computes each row's influence on the (macro) ROC AUC from
# the histograms' placement values, for DeLong's variance with the classes' covariances. The intervals are those
# of analytic.py, with each AUC placement taken at its score's bin (pairs within one bin counted as ties, the
# same approximation as the histogram AUC, within its stated bound).

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flyte.core.evaluation.statistics.analytic import DELONG, count_intervals, logit_interval, set_normal, z_value
from flyte.core.evaluation.statistics.bootstrap import Intervals
from flyte.core.evaluation.statistics.calibration import Calibration, calibration_from_sums, calibration_sums
from flyte.core.evaluation.statistics.class_metrics import ClassMetrics, class_metrics_from_counts
from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.score import _validated
from flyte.core.evaluation.score_hist import HistogramAuc
from flyte.core.evaluation.score_stream import _paired_batches


class CardStats(NamedTuple):
    """What the card shows besides the given metrics: ``confusion`` (k x k counts, row = true class), the
    intervals, the per-class metrics and the calibration curve."""

    confusion: np.ndarray
    intervals: Intervals
    per_class: list[ClassMetrics]
    curve: Calibration


def streamed_card_stats(
    test: Path, predictions: Path, schema: ModelSchema, level: float, calibration_bins: int, auc_bins: int
) -> CardStats:
    """The card's statistics of ``predictions`` against ``test``'s target, in two passes of batches."""
    texts = schema.label_texts
    k = len(texts)
    classes = [1] if k == 2 else list(range(k))
    hists = {c: HistogramAuc(auc_bins) for c in classes}
    cm = np.zeros(k * k, dtype=np.int64)
    loss_sum = loss_squares = 0.0
    sums = None
    for y, proba in _paired_batches(test, predictions, schema):
        y, proba = _validated(y, proba, texts)
        cm += np.bincount(y * k + proba.argmax(axis=1), minlength=k * k)
        eps = np.finfo(proba.dtype).eps
        loss = -np.log(np.clip(proba[np.arange(len(y)), y], eps, 1 - eps))
        loss_sum, loss_squares = loss_sum + float(loss.sum()), loss_squares + float(loss @ loss)
        batch = calibration_sums(y, proba, texts, calibration_bins)
        sums = batch if sums is None else sums.merged(batch)
        for c, hist in hists.items():
            hist.add(y == c, proba[:, c])
    n = int(cm.sum())
    if n == 0:
        raise DataValidationError("no rows to score")
    cm = cm.reshape(k, k)
    z = z_value(level)
    out = Intervals(level=level, replicates=0, seed=0)
    count_intervals(out, cm, level)
    mean_loss = loss_sum / n
    set_normal(out, "log_loss", mean_loss, math.sqrt(max(loss_squares / n - mean_loss**2, 0.0) * n) / n, z, high=math.inf)
    defined = [c for c in classes if hists[c].defined]
    if defined:
        tables = {c: _placements(hists[c]) for c in defined}
        square = 0.0
        for y, proba in _paired_batches(test, predictions, schema):
            influence = np.zeros(len(y))
            for c in defined:
                ids = hists[c].bin_ids(proba[:, c])
                pos_values, neg_values = tables[c]
                influence += np.where(y == c, pos_values[ids], neg_values[ids])
            influence /= len(defined)
            square += float(influence @ influence)
        auc = float(np.mean([hists[c].auc() for c in defined]))
        out.low["roc_auc"], out.high["roc_auc"] = logit_interval(auc, math.sqrt(square) / n, z)
    else:
        out.low["roc_auc"] = out.high["roc_auc"] = float("nan")
    out.method["roc_auc"], out.undefined["roc_auc"] = DELONG, 0
    return CardStats(cm, out, class_metrics_from_counts(cm, texts), calibration_from_sums(sums, n))


def _placements(hist: HistogramAuc) -> tuple[np.ndarray, np.ndarray]:
    """Per bin, the influence on the AUC of a positive and of a negative row scored in it (as analytic.auc_influence,
    with the bin's rows tied), scaled by n so that the sum of squares over n squared is DeLong's variance."""
    m, q = int(hist.pos.sum()), int(hist.neg.sum())
    n, auc = m + q, hist.auc()
    v10 = (np.cumsum(hist.neg) - 0.5 * hist.neg) / q
    v01 = (m - np.cumsum(hist.pos) + 0.5 * hist.pos) / m
    pos_scale = (n / m) * math.sqrt(m / max(m - 1, 1))
    neg_scale = (n / q) * math.sqrt(q / max(q - 1, 1))
    return (v10 - auc) * pos_scale, (v01 - auc) * neg_scale
