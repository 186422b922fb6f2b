"""The drift statistics on binned counts: PSI with additive smoothing, and a chi-square test's p-value."""

# Why both: PSI measures how far a distribution moved, but at small n it is mostly noise (for rows drawn from the
# training distribution its expectation is about (bins - 1) / n: 0.2 at 50 rows over 11 bins, near the usual 0.25
# threshold). The chi-square test's p-value says whether the two sets of counts could come from one distribution; a feature is flagged only when both say so (drift.summarize).
# The p-value is computed here (the regularised upper incomplete gamma function) rather than taken from SciPy,
# which the project does not require directly.

from __future__ import annotations

import math

import numpy as np

#: Added to every bin's count on both sides before PSI (Jeffreys' 1/2): an empty bin then weighs as half a row,
#: not as a fixed share of the rows (an ε share made one empty decile of 50 rows worth a PSI of 0.7).
PSEUDOCOUNT = 0.5


def smoothed_shares(counts: np.ndarray, pseudocount: float = PSEUDOCOUNT) -> np.ndarray:
    """Each bin's share after adding ``pseudocount`` rows to every bin."""
    counts = np.asarray(counts, dtype=np.float64) + pseudocount
    return counts / counts.sum()


def psi(expected: np.ndarray, actual: np.ndarray, pseudocount: float = PSEUDOCOUNT) -> float:
    """Population stability index of counts ``actual`` against ``expected`` over the same bins: the sum over bins of
    (a - e) * ln(a / e), with a, e the bins' shares after additive smoothing. 0 for identical counts; grows with
    the shift. 0 when either side has no rows."""
    if float(np.sum(expected)) == 0 or float(np.sum(actual)) == 0:
        return 0.0
    e, a = smoothed_shares(expected, pseudocount), smoothed_shares(actual, pseudocount)
    return float(np.sum((a - e) * np.log(a / e)))


def chi_square_p(expected: np.ndarray, actual: np.ndarray) -> float:
    """The p-value of Pearson's chi-square test that the counts ``expected`` (training) and ``actual`` (new rows)
    come from one distribution (a 2 x bins test of homogeneity). Two-sample, not goodness-of-fit against the
    training shares: those are themselves estimates from the training rows, and treating them as exact made a
    sampling quirk of a few hundred training rows look significant. Bins empty on both sides are left out;
    degrees of freedom: the bins left, less one. 1.0 when either side has no rows or one bin is left."""
    expected, actual = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    r, n = float(expected.sum()), float(actual.sum())
    if n == 0 or r == 0:
        return 1.0
    used = (expected + actual) > 0
    dof = int(used.sum()) - 1
    if dof < 1:
        return 1.0
    pooled = (expected + actual)[used] / (r + n)
    statistic = float(np.sum((expected[used] - r * pooled) ** 2 / (r * pooled)) + np.sum((actual[used] - n * pooled) ** 2 / (n * pooled)))
    return chi2_sf(statistic, dof)


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square distributed with ``dof`` degrees of freedom: Q(dof / 2, x / 2)."""
    if x <= 0:
        return 1.0
    return _gamma_q(dof / 2.0, x / 2.0)


def _gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x): a series below x = a + 1, a continued fraction
    (modified Lentz) above it (Press et al., Numerical Recipes, 6.2), each to about 1e-14 relative."""
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        k = a
        for _ in range(1000):
            k += 1
            term *= x / k
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, math.exp(log_front) * h)
