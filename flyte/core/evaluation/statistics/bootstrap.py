"""Bootstrap confidence intervals for the test metrics, in O(rows x classes) per replicate."""

# How: a bootstrap replicate draws n rows with replacement, which is the same as giving each row a weight, the
# number of times it was drawn (a multinomial count). Every metric here is a weighted sum over rows: the
# confusion matrix is a weighted bincount, log loss a weighted mean, and ROC AUC a weighted count of
# (positive, negative) pairs in score order. The rows are sorted by score once per class, before any
# replicate; a replicate then costs a few passes over n weights (no sort), so 1M test rows stay affordable
# (docs/model-directory.md). The draws are exactly those of resampling indices with
# ``rng.integers(0, n, n)``, so the tests check each replicate against scikit-learn on the resampled rows.

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from flyte.core.common.progress import Progress
from flyte.core.evaluation.score import _validated

log = logging.getLogger(__name__)

#: The metrics given an interval, as named in score.Metrics.
METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "log_loss", "precision", "recall", "f1")
#: The method name of a percentile bootstrap interval.
BOOTSTRAP = "percentile bootstrap"


@dataclass
class Intervals:
    """Confidence intervals of the test metrics: percentile bootstrap, or analytic on large test sets (analytic.py).

    level: the coverage, e.g. 0.95; replicates: how many resamples (0: no bootstrap); seed: the generator's seed.
    low / high: metric name (``METRICS``) to the interval's ends, in the metric's units.
    undefined: metric name to the number of replicates where it had no value (ROC AUC when a resample held
        one class only); those replicates are left out of its interval.
    method: metric name to the method that made its interval (``BOOTSTRAP``, or one of analytic.py's).
    """

    level: float = 0.95
    replicates: int = 0
    seed: int = 0
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    undefined: dict[str, int] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)


def bootstrap_intervals(
    y: np.ndarray, proba: np.ndarray, labels: list, replicates: int, seed: int, level: float = 0.95
) -> Intervals:
    """Percentile intervals at ``level`` of every metric in ``METRICS`` over ``replicates`` resamples of the rows.

    Arguments are as for ``score.score_predictions``; the same seed gives the same intervals.
    """
    if replicates < 2:
        raise ValueError(f"replicates must be at least 2, got {replicates}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    values = replicate_metrics(y, proba, labels, replicates, seed)
    tail = 100 * (1 - level) / 2
    out = Intervals(level=level, replicates=replicates, seed=seed)
    for name, series in values.items():
        defined = series[~np.isnan(series)]
        out.undefined[name] = int(series.size - defined.size)
        low, high = np.percentile(defined, [tail, 100 - tail]) if defined.size else (float("nan"),) * 2
        out.low[name], out.high[name] = float(low), float(high)
        out.method[name] = BOOTSTRAP
    return out


def replicate_metrics(y: np.ndarray, proba: np.ndarray, labels: list, replicates: int, seed: int) -> dict[str, np.ndarray]:
    """Each metric of ``METRICS`` on each replicate (NaN where undefined), replicate r drawn as
    ``rng.integers(0, n, n)`` from ``np.random.default_rng(seed)``, r = 0, 1, ..."""
    y, proba = _validated(y, proba, labels)
    n, k = proba.shape
    pred = proba.argmax(axis=1)
    cell = y * k + pred
    eps = np.finfo(proba.dtype).eps
    loss = -np.log(np.clip(proba[np.arange(n), y], eps, 1 - eps))
    rankers = [WeightedAuc(y == c, proba[:, c]) for c in ([1] if k == 2 else range(k))]
    rng = np.random.default_rng(seed)
    out = {name: np.empty(replicates) for name in METRICS}
    progress = Progress(log)
    for r in range(replicates):
        progress.report("bootstrap: %d of %d replicates done", r, replicates)
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        cm = np.bincount(cell, weights=w, minlength=k * k).reshape(k, k)
        tp, true_count, pred_count = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
        precision, recall = _divide(tp, pred_count), _divide(tp, true_count)
        f1 = _divide(2 * tp, true_count + pred_count)
        pick = (lambda a: a[1]) if k == 2 else (lambda a: a.mean())
        aucs = [a for a in (ranker.auc(w) for ranker in rankers) if not np.isnan(a)]
        out["accuracy"][r] = tp.sum() / n
        out["balanced_accuracy"][r] = recall[true_count > 0].mean()
        out["roc_auc"][r] = np.mean(aucs) if aucs else np.nan
        out["log_loss"][r] = w @ loss / n
        out["precision"][r], out["recall"][r], out["f1"][r] = pick(precision), pick(recall), pick(f1)
    return out


class WeightedAuc:
    """One class's rows sorted by its score once, so a weighted ROC AUC (a bootstrap resample's row counts as the
    weights) costs O(n) per replicate. The card's intervals and the gate's paired bootstrap both use it."""

    def __init__(self, positive: np.ndarray, score: np.ndarray):
        self.order = np.argsort(score, kind="stable")
        self.positive = positive[self.order]
        ranked = score[self.order]
        # Rows of equal score form one group: a (positive, negative) pair within it counts one half.
        self.starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])

    def auc(self, weights: np.ndarray) -> float:
        """Weighted share of (positive, negative) pairs ranked right, ties counted half; NaN without both kinds."""
        w = weights[self.order]
        pos = np.add.reduceat(np.where(self.positive, w, 0.0), self.starts)
        neg = np.add.reduceat(np.where(self.positive, 0.0, w), self.starts)
        total_pos, total_neg = pos.sum(), neg.sum()
        if total_pos == 0 or total_neg == 0:
            return float("nan")
        below = np.cumsum(neg) - neg  # negatives scored strictly lower than each group
        return float(pos @ (below + 0.5 * neg) / (total_pos * total_neg))


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)
