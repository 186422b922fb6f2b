"""Paired comparisons of two regression models on the same rows: Wilcoxon's signed-rank test and a paired RMSE interval."""

# Why paired: both models predict the very same test rows, so the noise of which rows happen to be in the test set
# is shared; differences row by row cancel it, where two separate intervals would overlap and hide a real gap.
# Why Wilcoxon on absolute errors: it asks whether one model's errors tend to be smaller row by row, without
# assuming the differences are normal (squared-error differences are heavy-tailed: a few rows dominate their mean),
# and a handful of outlying rows cannot swing it. The RMSE interval answers the other question, by how much the
# headline metric moves. Why numpy alone: scipy is 100+ MB per pod; the tests hold these figures to scipy.stats.

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from flyte.core.common.progress import Progress

log = logging.getLogger(__name__)

#: Up to this many non-zero differences without ties, the p-value comes from the exact null distribution.
EXACT_MAX = 50
#: Rows ranked per block, so ranking holds one sorted copy of the differences plus blocks of this size.
_BLOCK = 1 << 20
#: The fewest resamples a budget-capped bootstrap still draws: its 2.5% quantile is then the 5th value.
MIN_CAPPED_REPLICATES = 200
BOOTSTRAP, NORMAL = "percentile bootstrap", "normal (delta method)"
WORSE, BETTER, SAME = "significantly worse", "significantly better", "no significant difference"


class SignedRank(NamedTuple):
    """Wilcoxon's signed-rank test. r_plus / r_minus: rank sums of the positive / negative differences (average
    ranks over ties); n: non-zero differences ranked; statistic: min(r_plus, r_minus); p_value: two-sided;
    method: "exact" or "normal"."""

    r_plus: float
    r_minus: float
    n: int
    statistic: float
    p_value: float
    method: str


def signed_rank(d: np.ndarray) -> SignedRank:
    """Two-sided Wilcoxon signed-rank test that the paired differences ``d`` are symmetric about 0.

    Zero differences are dropped before ranking (Wilcoxon's own method, scipy's ``zero_method="wilcox"``): a row
    where both models err equally says nothing about which is better. Tied absolute differences share their
    average rank. With at most EXACT_MAX non-zero differences and no ties, the p-value is exact: the null
    distribution of r_plus (each rank's sign a fair coin) counted by dynamic programming over rank sums. Otherwise
    the normal approximation, its variance reduced for ties (sum of t^3 - t over tie groups, / 48) and a 0.5
    continuity correction. Memory: one sorted copy of the differences, ranked in blocks; time O(n log n).
    """
    d = np.asarray(d, dtype=np.float64).ravel()
    if not np.isfinite(d).all():
        raise ValueError(f"paired differences must be finite; {int(np.count_nonzero(~np.isfinite(d)))} are not")
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return SignedRank(0.0, 0.0, 0, 0.0, 1.0, "exact")
    ranked = np.sort(np.abs(d))
    r_plus, ties = 0.0, 0.0
    for start in range(0, n, _BLOCK):
        block = d[start : start + _BLOCK]
        pos = np.abs(block[block > 0])
        # The values equal to x occupy ranks lo + 1 .. hi of the sorted copy: their average is (lo + 1 + hi) / 2.
        r_plus += float(((np.searchsorted(ranked, pos, "left") + np.searchsorted(ranked, pos, "right") + 1) / 2).sum())
        own = ranked[start : start + _BLOCK]
        t = (np.searchsorted(ranked, own, "right") - np.searchsorted(ranked, own, "left")).astype(np.float64)
        ties += float((t * t - 1).sum())  # each of a group's t members adds t^2 - 1: t^3 - t per group
    total = n * (n + 1) / 2
    r_minus = total - r_plus
    statistic = min(r_plus, r_minus)
    if n <= EXACT_MAX and ties == 0:
        counts = _rank_sum_counts(n)
        p = 2.0 * counts[: int(round(statistic)) + 1].sum() / counts.sum()
        return SignedRank(r_plus, r_minus, n, statistic, min(1.0, float(p)), "exact")
    mean = total / 2
    var = n * (n + 1) * (2 * n + 1) / 24 - ties / 48
    if var <= 0:
        return SignedRank(r_plus, r_minus, n, statistic, 1.0, "normal")
    z = (statistic - mean + 0.5 * (statistic < mean)) / math.sqrt(var)
    # 2 Phi(z) as erfc(-z / sqrt 2): NormalDist.cdf goes through erf and rounds a far tail to 0.
    return SignedRank(r_plus, r_minus, n, statistic, min(1.0, math.erfc(-z / math.sqrt(2))), "normal")


def wilcoxon_signed_rank(d: np.ndarray) -> tuple[float, float]:
    """(min(r_plus, r_minus), two-sided p-value) of ``signed_rank``: scipy.stats.wilcoxon's statistic and p."""
    result = signed_rank(d)
    return result.statistic, result.p_value


def _rank_sum_counts(n: int) -> np.ndarray:
    """counts[s]: how many subsets of the ranks 1..n sum to s (of 2^n, each equally likely under the null)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0  # float64 counts are exact: at most 2^50 < 2^53
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return counts


class PairedInterval(NamedTuple):
    """RMSE(b) - RMSE(a) on the full rows, and its interval's (low, high) ends, in the target's units."""

    difference: float
    low: float
    high: float


def replicates_for(rows: int, replicates: int, budget: int) -> int:
    """Resamples to draw: ``replicates``, fewer when replicates x rows would pass ``budget`` (0: no cap), never
    fewer than MIN_CAPPED_REPLICATES (nor more than asked). Fewer resamples make the ends noisier, not biased."""
    if budget <= 0:
        return replicates
    return min(replicates, max(MIN_CAPPED_REPLICATES, budget // max(rows, 1)))


def _squared_errors(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, a, b = (np.asarray(v, dtype=np.float64).ravel() for v in (y, pred_a, pred_b))
    if not len(y) == len(a) == len(b):
        raise ValueError(f"paired inputs differ in length: y {len(y)}, {len(a)} and {len(b)} predictions")
    if len(y) == 0:
        raise ValueError("no rows to compare")
    for name, v in (("y", y), ("pred_a", a), ("pred_b", b)):
        if not np.isfinite(v).all():
            raise ValueError(f"{name} holds {int(np.count_nonzero(~np.isfinite(v)))} non-finite values")
    return (a - y) ** 2, (b - y) ** 2


def paired_rmse_difference(
    y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, replicates: int = 1000, seed: int = 0, budget: int = 0,
    confidence: float = 0.95, analytic_rows: int = 0,
) -> PairedInterval:  # fmt: skip
    """RMSE(b) - RMSE(a) on the same rows, with a ``confidence`` interval (target units).

    Below ``analytic_rows`` rows (0: always), a percentile paired bootstrap: each resample gives every row a weight
    (how often it was drawn, from ``np.random.default_rng(seed)``), the SAME weights for both models, so a
    resample costs O(rows); ``replicates_for`` caps the resamples at ``budget`` resamples x rows. From
    ``analytic_rows`` on, a normal interval by the delta method (see ``rmse_difference_se``), O(rows) once.
    """
    ea, eb = _squared_errors(y, pred_a, pred_b)
    n = len(ea)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    difference = math.sqrt(eb.mean()) - math.sqrt(ea.mean())
    if analytic_rows > 0 and n >= analytic_rows:
        half = NormalDist().inv_cdf(0.5 + confidence / 2) * rmse_difference_se(ea, eb)
        return PairedInterval(difference, difference - half, difference + half)
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    draws = replicates_for(n, replicates, budget)
    rng = np.random.default_rng(seed)
    diffs = np.empty(draws)
    progress = Progress(log)
    for r in range(draws):
        progress.report("paired RMSE bootstrap: %d of %d replicates done", r, draws)
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        diffs[r] = math.sqrt(w @ eb / n) - math.sqrt(w @ ea / n)
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return PairedInterval(difference, float(low), float(high))


def rmse_difference_se(ea: np.ndarray, eb: np.ndarray) -> float:
    """Standard error of RMSE(b) - RMSE(a) from the rows' squared errors ``ea`` / ``eb``, by the delta method.

    sqrt(mean(e^2)) moves by (e_i^2 - MSE) / (2 RMSE) / n for row i, so the difference's per-row influence is the
    difference of the two, and its variance the mean square of that over n: the shared noise of the rows cancels
    as in the bootstrap. A model with no error at all has RMSE 0 in every resample: it contributes nothing.
    """
    psi = np.zeros(len(ea))
    for e, sign in ((eb, 1.0), (ea, -1.0)):
        mse = float(e.mean())
        if mse > 0:
            psi += sign * (e - mse) / (2 * math.sqrt(mse))
    return math.sqrt(float(psi @ psi)) / len(psi)


@dataclass
class PairedErrorTest:
    """The paired test of challenger against champion on the same rows (what the gate's RegressionComparison
    record takes its interval, p-value and verdict from); differences are challenger - champion, in the target's
    units (so a positive RMSE or MAE difference means the challenger errs more).

    rmse_ci_low / rmse_ci_high: the RMSE difference's interval at ``confidence`` (``method``: BOOTSTRAP or NORMAL;
        ``replicates`` 0 for NORMAL). wilcoxon_*: the signed-rank test on |challenger error| - |champion error|
        per row; challenger_closer / champion_closer: rows where that model's error is strictly smaller.
    verdict: WORSE when the RMSE interval lies wholly above 0, or Wilcoxon's p < alpha with the challenger's
        errors ranking larger; BETTER likewise the other way (when not worse); SAME otherwise.
    """

    rows: int = 0
    challenger_rmse: float = 0.0
    champion_rmse: float = 0.0
    rmse_difference: float = 0.0
    rmse_ci_low: float = 0.0
    rmse_ci_high: float = 0.0
    challenger_mae: float = 0.0
    champion_mae: float = 0.0
    mae_difference: float = 0.0
    wilcoxon_statistic: float = 0.0
    wilcoxon_p: float = 1.0
    wilcoxon_method: str = "exact"
    challenger_closer: int = 0
    champion_closer: int = 0
    confidence: float = 0.95
    replicates: int = 0
    seed: int = 0
    method: str = BOOTSTRAP
    verdict: str = SAME


def compare_regression(
    y: np.ndarray, champion_pred: np.ndarray, challenger_pred: np.ndarray, alpha: float = 0.05, replicates: int = 1000,
    seed: int = 0, budget: int = 0, analytic_rows: int = 0,
) -> PairedErrorTest:  # fmt: skip
    """Compare two models' predictions of ``y`` on the same rows, as gate.compare does for classifiers.

    Significantly worse means what it does there: a two-sided test at ``alpha`` pointing the challenger's way
    (Wilcoxon on absolute errors, in place of McNemar), or the whole 1 - alpha interval of the RMSE difference on
    the worse side of 0 (a paired bootstrap, or normal from ``analytic_rows`` rows on, as for the AUC).
    ``budget`` caps resamples x rows (``replicates_for``); the same ``seed`` gives the same interval.
    """
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be within (0, 0.5), got {alpha}")
    interval = paired_rmse_difference(y, champion_pred, challenger_pred, replicates, seed, budget, 1 - alpha, analytic_rows)
    y = np.asarray(y, dtype=np.float64).ravel()
    ours = np.abs(np.asarray(challenger_pred, dtype=np.float64).ravel() - y)
    theirs = np.abs(np.asarray(champion_pred, dtype=np.float64).ravel() - y)
    gap = ours - theirs
    test = signed_rank(gap)
    analytic = analytic_rows > 0 and len(y) >= analytic_rows
    # r_plus > r_minus: the rows where the challenger errs more outrank those where it errs less.
    worse = interval.low > 0 or (test.p_value < alpha and test.r_plus > test.r_minus)
    better = not worse and (interval.high < 0 or (test.p_value < alpha and test.r_plus < test.r_minus))
    result = PairedErrorTest(
        rows=len(y), challenger_rmse=math.sqrt(float(ours @ ours) / len(y)), champion_rmse=math.sqrt(float(theirs @ theirs) / len(y)),
        rmse_difference=interval.difference, rmse_ci_low=interval.low, rmse_ci_high=interval.high,
        challenger_mae=float(ours.mean()), champion_mae=float(theirs.mean()), mae_difference=float(gap.mean()),
        wilcoxon_statistic=test.statistic, wilcoxon_p=test.p_value, wilcoxon_method=test.method,
        challenger_closer=int(np.count_nonzero(gap < 0)), champion_closer=int(np.count_nonzero(gap > 0)),
        confidence=1 - alpha, replicates=0 if analytic else replicates_for(len(y), replicates, budget), seed=seed,
        method=NORMAL if analytic else BOOTSTRAP, verdict=WORSE if worse else BETTER if better else SAME,
    )  # fmt: skip
    log.info("regression comparison on %d rows: %s (RMSE %+.4g, Wilcoxon p = %.4g)", len(y), result.verdict,
             result.rmse_difference, result.wilcoxon_p)  # fmt: skip
    return result
