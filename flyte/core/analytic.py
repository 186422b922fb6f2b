"""Analytic confidence intervals of the test metrics, for test sets large enough that a bootstrap is slow and needless.

Wilson score intervals for the proportions (accuracy; the positive class's precision and recall), DeLong's
variance for ROC AUC on the logit scale (placement values by binary search: O(n log n), one sort per class), and normal intervals
from each metric's per-row influence (its linear approximation, the delta method) for log loss, balanced
accuracy, F1 and the macro averages. docs/incoming/perfstats.md argues the choice; the tests check coverage by
simulation and agreement with the bootstrap.
"""

# Why influence values: every metric here is, to first order, the mean of one value per row (log loss exactly;
# a ratio of counts or a U-statistic like AUC after linearising), so its variance is the mean square of those
# values over n. For one class's AUC the influence values are DeLong's placements and give his variance exactly
# (with his n-1 divisors); a macro average of per-class values on the same rows then carries their covariances,
# which separate per-class intervals would drop.

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from flyte.core.bootstrap import Intervals
from flyte.core.score import _validated

#: Which method made each metric's interval, as the card names it.
WILSON, DELONG, NORMAL = "Wilson score", "DeLong", "normal (delta method)"


def z_value(level: float) -> float:
    """The standard normal quantile leaving (1 - level) / 2 in each tail (1.95996 at 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def wilson(successes: float, trials: float, level: float) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion ``successes / trials``; (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_value(level)
    p, z2 = successes / trials, z * z / trials
    centre = (p + z2 / 2) / (1 + z2)
    half = z / (1 + z2) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def auc_influence(positive: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray]:
    """One class's ROC AUC (ties count half) and each row's influence on it, scaled so that the sum of squares
    over n squared is DeLong's variance: S10 / m + S01 / q with n - 1 divisors (m positives, q negatives).
    Needs both kinds of row."""
    n = len(score)
    pos, neg = score[positive], score[~positive]
    m, q = len(pos), len(neg)
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    # A positive's placement: the share of negatives it outranks (ties half); a negative's: of positives above it.
    below = np.searchsorted(neg_sorted, pos, side="left")
    tied = np.searchsorted(neg_sorted, pos, side="right") - below
    v10 = (below + 0.5 * tied) / q
    above = m - np.searchsorted(pos_sorted, neg, side="right")
    tied = np.searchsorted(pos_sorted, neg, side="right") - np.searchsorted(pos_sorted, neg, side="left")
    v01 = (above + 0.5 * tied) / m
    auc = float(v10.mean())
    psi = np.empty(n)
    psi[positive] = (v10 - auc) * (n / m) * math.sqrt(m / max(m - 1, 1))
    psi[~positive] = (v01 - auc) * (n / q) * math.sqrt(q / max(q - 1, 1))
    return auc, psi


def logit_interval(estimate: float, se: float, z: float) -> tuple[float, float]:
    """``estimate +- z se`` on the logit scale, mapped back: inside (0, 1), and asymmetric near its ends, where a
    plain normal interval of an AUC covers too little (simulated at n = 150, AUC 0.86: 94.1% plain, 95.4% logit
    over 1000 test sets). An estimate of exactly 0 or 1 (perfect separation, standard error 0) is its own interval."""
    if not 0 < estimate < 1:
        return estimate, estimate
    centre, half = math.log(estimate / (1 - estimate)), z * se / (estimate * (1 - estimate))
    return 1 / (1 + math.exp(half - centre)), 1 / (1 + math.exp(-centre - half))


def analytic_intervals(y: np.ndarray, proba: np.ndarray, labels: list, level: float = 0.95) -> Intervals:
    """Intervals at ``level`` of every metric of ``bootstrap.METRICS`` (arguments as for ``score.score_predictions``),
    each named in ``Intervals.method``; ROC AUC is undefined (NaN) without rows both of and not of a class."""
    y, proba = _validated(y, proba, labels)
    n, k = proba.shape
    z = z_value(level)
    pred = proba.argmax(axis=1)
    hit = pred == y
    out = Intervals(level=level, replicates=0, seed=0)

    def normal(name: str, estimate: float, psi: np.ndarray, low: float = 0.0, high: float = 1.0) -> None:
        half = z * math.sqrt(float(psi @ psi)) / n
        out.low[name], out.high[name] = max(low, estimate - half), min(high, estimate + half)
        out.method[name], out.undefined[name] = NORMAL, 0

    out.low["accuracy"], out.high["accuracy"] = wilson(int(hit.sum()), n, level)
    out.method["accuracy"], out.undefined["accuracy"] = WILSON, 0

    eps = np.finfo(proba.dtype).eps
    loss = -np.log(np.clip(proba[np.arange(n), y], eps, 1 - eps))
    mean_loss = float(loss.mean())
    normal("log_loss", mean_loss, loss - mean_loss, high=math.inf)

    # Per class: recall = TP / true, precision = TP / predicted, F1 = 2 TP / (true + predicted), each a ratio
    # of counts; its influence is n (numerator row - ratio x denominator row) / denominator (0 for a class whose
    # denominator is empty: scikit-learn's zero_division=0 makes it a constant).
    sums = {name: np.zeros(n) for name in ("recall", "precision", "f1", "balanced_accuracy")}
    values = {name: [] for name in sums}
    present, positive_f1 = 0, np.zeros(n)
    for c in range(k):
        is_c, said_c = y == c, pred == c
        tp = (is_c & said_c).astype(np.float64)
        for name, den_row, scale in (("recall", is_c, 1.0), ("precision", said_c, 1.0), ("f1", None, 2.0)):
            den_row = is_c.astype(np.float64) + said_c if den_row is None else den_row.astype(np.float64)
            den = float(den_row.sum())
            ratio = scale * float(tp.sum()) / den if den else 0.0
            values[name].append(ratio)
            if den:
                psi = n * (scale * tp - ratio * den_row) / den
                sums[name] += psi
                if k == 2 and c == 1 and name == "f1":  # two classes: F1 of the positive class alone
                    positive_f1 = psi
        if is_c.any():
            present += 1
            sums["balanced_accuracy"] += n * (tp - values["recall"][-1] * is_c) / float(is_c.sum())
    normal("balanced_accuracy", float(np.mean([r for c, r in enumerate(values["recall"]) if (y == c).any()])),
           sums["balanced_accuracy"] / present)  # fmt: skip
    if k == 2:
        tp = float((hit & (y == 1)).sum())
        for name, den in (("precision", float((pred == 1).sum())), ("recall", float((y == 1).sum()))):
            out.low[name], out.high[name] = wilson(tp, den, level)
            out.method[name], out.undefined[name] = WILSON, 0
        normal("f1", values["f1"][1], positive_f1)
    else:
        for name in ("precision", "recall", "f1"):
            normal(name, float(np.mean(values[name])), sums[name] / k)

    classes = [1] if k == 2 else [c for c in range(k) if 0 < np.count_nonzero(y == c) < n]
    if k == 2 and not 0 < np.count_nonzero(y == 1) < n:
        classes = []
    if classes:
        fits = [auc_influence(y == c, proba[:, c]) for c in classes]
        auc, psi = float(np.mean([a for a, _ in fits])), sum(psi for _, psi in fits) / len(fits)
        out.low["roc_auc"], out.high["roc_auc"] = logit_interval(auc, math.sqrt(float(psi @ psi)) / n, z)
        out.method["roc_auc"], out.undefined["roc_auc"] = DELONG, 0
    else:
        out.low["roc_auc"] = out.high["roc_auc"] = float("nan")
        out.method["roc_auc"], out.undefined["roc_auc"] = DELONG, 0
    return out
