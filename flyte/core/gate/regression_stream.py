"""The regression comparison of two models streamed batch by batch, in fixed memory whatever the row count."""

# Why: at 100M test rows the targets alone take 800 MB, more than the light preset holds beside anything else, so
# the large-n comparison reads the rows in batches and keeps sums. The RMSE interval needs five sums (the delta
# method of regression_stats.rmse_difference_se, expanded into moments). Wilcoxon's test needs the ranks of
# |d|; here the |d| are binned by their float64 bits, keeping MANTISSA_BITS of the mantissa, so differences within
# a relative 2^-MANTISSA_BITS of each other fall in one bin and count as tied. The result is exactly the
# tie-corrected signed-rank test of the differences so rounded (0.4% at 8 bits, far below any error that matters),
# and its p-value moves by no more than that rounding does (the tests hold it to the unrounded test).

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from flyte.core.gate.regression_stats import BETTER, NORMAL, SAME, WORSE, PairedErrorTest, SignedRank

#: Mantissa bits kept when binning |d|: bins of relative width 2^-8, 2^(11 + 8) bins of 8 bytes each per sign.
MANTISSA_BITS = 8


def binned_signed_rank(positive: np.ndarray, negative: np.ndarray) -> SignedRank:
    """The signed-rank test (normal approximation, tie and continuity corrected) from counts of positive and
    negative differences per bin of |d|, bins in increasing order of |d|; each bin's rows share its average rank."""
    positive, negative = np.asarray(positive, dtype=np.float64), np.asarray(negative, dtype=np.float64)
    counts = positive + negative
    n = float(counts.sum())
    if n == 0:
        return SignedRank(0.0, 0.0, 0, 0.0, 1.0, "normal")
    average_rank = np.cumsum(counts) - counts + (counts + 1) / 2
    r_plus = float(positive @ average_rank)
    total = n * (n + 1) / 2
    r_minus = total - r_plus
    statistic = min(r_plus, r_minus)
    var = n * (n + 1) * (2 * n + 1) / 24 - float((counts**3 - counts).sum()) / 48
    if var <= 0:
        return SignedRank(r_plus, r_minus, int(n), statistic, 1.0, "normal")
    z = (statistic - total / 2 + 0.5 * (statistic < total / 2)) / math.sqrt(var)
    return SignedRank(r_plus, r_minus, int(n), statistic, min(1.0, math.erfc(-z / math.sqrt(2))), "normal")


class PairedErrorSketch:
    """Sums of a stream of (target, champion prediction, challenger prediction) batches: enough for the RMSE and
    MAE difference, its normal interval and a binned Wilcoxon test, in about 8 MB whatever the row count."""

    def __init__(self, mantissa_bits: int = MANTISSA_BITS):
        if not 0 <= mantissa_bits <= 12:
            raise ValueError(f"mantissa_bits must be within [0, 12], got {mantissa_bits}")
        self.shift = 52 - mantissa_bits
        size = 1 << (11 + mantissa_bits)
        self.positive, self.negative = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
        self.rows = 0
        # squared errors a (champion) and b (challenger): sum a, sum b, sum a², sum b², sum ab; absolute errors.
        self.sums = np.zeros(7)

    def add(self, y: np.ndarray, champion_pred: np.ndarray, challenger_pred: np.ndarray) -> None:
        """Fold in one batch of targets and both models' predictions of them (same length, finite)."""
        y, a, b = (np.asarray(v, dtype=np.float64).ravel() for v in (y, champion_pred, challenger_pred))
        if not len(y) == len(a) == len(b):
            raise ValueError(f"paired inputs differ in length: y {len(y)}, {len(a)} and {len(b)} predictions")
        if not (np.isfinite(y).all() and np.isfinite(a).all() and np.isfinite(b).all()):
            raise ValueError("targets and predictions must be finite to be compared")
        ea, eb = np.abs(a - y), np.abs(b - y)
        sa, sb = ea * ea, eb * eb
        dot = lambda u, v: np.einsum("i,i->", u, v)  # noqa: E731  (not BLAS: its threads wake slowly on a busy pod)
        self.sums += [sa.sum(), sb.sum(), dot(sa, sa), dot(sb, sb), dot(sa, sb), ea.sum(), eb.sum()]
        d = eb - ea  # the challenger's absolute error minus the champion's: positive where it errs more
        for mask, counts in ((d > 0, self.positive), (d < 0, self.negative)):
            # A positive float64's bits, read as an integer, rise with its value: the top bits are a monotone bin.
            keys = np.abs(d[mask]).view(np.int64) >> self.shift
            if len(keys):  # counted over the bins this batch spans only, a few thousand, not all of them
                low = int(keys.min())
                spanned = np.bincount(keys - low)
                counts[low : low + len(spanned)] += spanned
        self.rows += len(y)

    def signed_rank(self) -> SignedRank:
        """Wilcoxon's test on |challenger error| - |champion error| so far, ties within a bin."""
        return binned_signed_rank(self.positive, self.negative)

    def comparison(self, alpha: float = 0.05) -> PairedErrorTest:
        """The comparison of regression_stats.compare_regression with a normal interval (its large-n path), the
        Wilcoxon test binned; the same verdict rules. Needs at least one row."""
        if not 0 < alpha < 0.5:
            raise ValueError(f"alpha must be within (0, 0.5), got {alpha}")
        if self.rows == 0:
            raise ValueError("no rows to compare")
        n = self.rows
        sa, sb, qa, qb, qab, ma, mb = (float(v) / n for v in self.sums)
        ra, rb = math.sqrt(sa), math.sqrt(sb)
        # Row i's influence on RMSE_b - RMSE_a is (b_i - sb) / 2rb - (a_i - sa) / 2ra (a, b squared errors); its
        # mean square, from the moments. A model with no error contributes nothing (its RMSE is 0 in any resample).
        var = 0.0
        if rb > 0:
            var += (qb - sb * sb) / (4 * sb)
        if ra > 0:
            var += (qa - sa * sa) / (4 * sa)
        if ra > 0 and rb > 0:
            var -= 2 * (qab - sa * sb) / (4 * ra * rb)
        half = NormalDist().inv_cdf(1 - alpha / 2) * math.sqrt(max(var, 0.0) / n)
        difference = rb - ra
        test = self.signed_rank()
        low, high = difference - half, difference + half
        worse = low > 0 or (test.p_value < alpha and test.r_plus > test.r_minus)
        better = not worse and (high < 0 or (test.p_value < alpha and test.r_plus < test.r_minus))
        return PairedErrorTest(
            rows=n, challenger_rmse=rb, champion_rmse=ra, rmse_difference=difference, rmse_ci_low=low, rmse_ci_high=high,
            challenger_mae=mb, champion_mae=ma, mae_difference=mb - ma, wilcoxon_statistic=test.statistic,
            wilcoxon_p=test.p_value, wilcoxon_method="normal, binned", challenger_closer=int(self.negative.sum()),
            champion_closer=int(self.positive.sum()), confidence=1 - alpha, replicates=0, seed=0, method=NORMAL,
            verdict=WORSE if worse else BETTER if better else SAME,
        )  # fmt: skip
