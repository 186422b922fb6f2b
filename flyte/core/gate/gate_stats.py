"""Paired comparisons of two models on the same rows: McNemar's exact test, a paired bootstrap, paired normal intervals."""

# Why paired: both models score the very same test rows, so most of the noise (which rows happen to be in the
# test set) is shared; a paired test sees a real difference that two separate confidence intervals would hide.
# Why numpy alone: only scipy's binomial CDF would be used, a few lines here, and the core then needs no scipy at
# run time; the tests hold these figures to scipy.stats.binomtest and scikit-learn's roc_auc_score as oracles.

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from flyte.core.evaluation.statistics.analytic import auc_influence, z_value
from flyte.core.evaluation.statistics.bootstrap import WeightedAuc
from flyte.core.common.progress import Progress
from flyte.core.evaluation.score import _auc

log = logging.getLogger(__name__)


@dataclass
class McNemar:
    """McNemar's exact test on the paired correct / incorrect table of two models.

    challenger_only: rows the challenger classifies correctly and the champion does not (b).
    champion_only: rows the champion classifies correctly and the challenger does not (c).
    p_value: two-sided exact p-value: 2 * P(X <= min(b, c)) for X ~ Binomial(b + c, 1/2), at most 1.
    """

    challenger_only: int
    champion_only: int
    p_value: float


def binomial_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2), exactly summed in log space (no overflow at millions of trials)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    ks = np.arange(k + 1, dtype=np.float64)
    # log C(n, k) - n log 2 for each k, from log-gamma: exact to float rounding for any n.
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    log_terms = math.lgamma(n + 1) - lgamma(ks + 1) - lgamma(n - ks + 1) - n * math.log(2.0)
    top = log_terms.max()
    return float(min(1.0, math.exp(top) * np.exp(log_terms - top).sum()))


def mcnemar_exact(challenger_correct: np.ndarray, champion_correct: np.ndarray) -> McNemar:
    """McNemar's exact test on two boolean arrays: whether each model got each row right."""
    challenger_correct = np.asarray(challenger_correct, dtype=bool)
    champion_correct = np.asarray(champion_correct, dtype=bool)
    if challenger_correct.shape != champion_correct.shape:
        raise ValueError(f"paired arrays differ in shape: {challenger_correct.shape} and {champion_correct.shape}")
    b = int(np.count_nonzero(challenger_correct & ~champion_correct))
    c = int(np.count_nonzero(champion_correct & ~challenger_correct))
    return McNemar(challenger_only=b, champion_only=c, p_value=mcnemar_p(b, c))


def mcnemar_p(b: int, c: int) -> float:
    """The two-sided exact p-value for discordant counts ``b`` and ``c`` (1.0 when there are none)."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binomial_cdf_half(min(b, c), n))


@dataclass
class BootstrapResult:
    """Differences challenger - champion, with percentile confidence intervals from a paired bootstrap, or normal
    intervals (``replicates`` 0) from ``paired_analytic``.

    accuracy_difference / auc_difference: on the full test rows (fractions; AUC as in score.py, macro
    one-vs-rest for more than two classes).
    accuracy_ci / auc_ci: (low, high) percentile interval at ``confidence``.
    replicates: resamples drawn; ``used`` of them had every scored class both present and absent
        (the others have no AUC and are left out of the AUC interval).
    """

    accuracy_difference: float
    accuracy_ci: tuple[float, float]
    auc_difference: float
    auc_ci: tuple[float, float]
    confidence: float
    replicates: int
    used: int


def macro_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """ROC AUC as score.py reports it: of the last class for two classes, else one-vs-rest macro over present classes."""
    classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    aucs = [_auc(y == c, proba[:, c]) for c in classes if 0 < np.count_nonzero(y == c) < len(y)]
    return float(np.mean(aucs)) if aucs else float("nan")


def paired_bootstrap(
    y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, replicates: int, seed: int, confidence: float
) -> BootstrapResult:
    """Resample the test rows with replacement ``replicates`` times, the SAME rows for both models, and take
    percentile intervals of the accuracy and AUC differences (challenger - champion).

    ``y`` holds class codes, ``challenger`` / ``champion`` their class probabilities (rows x classes). A resample
    is a vector of row counts, so each model's scores are sorted once and each replicate costs O(rows) per class.
    """
    n, k = challenger.shape
    if champion.shape != (n, k) or len(y) != n:
        raise ValueError(f"paired inputs differ in shape: y {y.shape}, {challenger.shape} and {champion.shape}")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    correct_gain = (challenger.argmax(axis=1) == y).astype(np.float64) - (champion.argmax(axis=1) == y)
    classes = [1] if k == 2 else [c for c in range(k) if 0 < np.count_nonzero(y == c) < n]
    sorted_scores = [
        (WeightedAuc(y == c, challenger[:, c]), WeightedAuc(y == c, champion[:, c])) for c in classes
    ]
    rng = np.random.default_rng(seed)
    accuracy_diffs = np.empty(replicates)
    auc_diffs = np.full(replicates, np.nan)
    progress = Progress(log)
    for r in range(replicates):
        progress.report("paired bootstrap: %d of %d replicates done", r, replicates)
        weights = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        accuracy_diffs[r] = np.dot(weights, correct_gain) / n
        pairs = [(a.auc(weights), b.auc(weights)) for a, b in sorted_scores]
        # A class absent from the resample (or making up all of it) has no AUC; macro averages the others,
        # the same classes for both models, so the difference stays paired.
        pairs = [(a, b) for a, b in pairs if not math.isnan(a)]
        if pairs:
            auc_diffs[r] = np.mean([a for a, _ in pairs]) - np.mean([b for _, b in pairs])
    used = auc_diffs[~np.isnan(auc_diffs)]
    tail = (1.0 - confidence) / 2.0
    quantiles = [tail, 1.0 - tail]
    auc_ci = tuple(float(q) for q in np.quantile(used, quantiles)) if len(used) else (float("nan"), float("nan"))
    return BootstrapResult(
        accuracy_difference=float(correct_gain.mean()),
        accuracy_ci=tuple(float(q) for q in np.quantile(accuracy_diffs, quantiles)),
        auc_difference=macro_auc(y, challenger) - macro_auc(y, champion),
        auc_ci=auc_ci,
        confidence=confidence,
        replicates=replicates,
        used=int(len(used)),
    )


def paired_analytic(y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, confidence: float) -> BootstrapResult:
    """The same differences with normal intervals instead of resamples (``replicates`` 0), for large test sets.

    Accuracy: the mean of each row's (challenger right) - (champion right), whose variance comes from the
    discordant counts b and c alone: ((b + c) / n - ((b - c) / n)^2) / n. AUC: DeLong's paired variance, from
    the difference of the two models' per-row influence values (analytic.auc_influence), so the rows' shared
    noise cancels as in the bootstrap. O(n log n) time and O(n) memory, a small constant beside the rows held.
    """
    n, k = challenger.shape
    if champion.shape != (n, k) or len(y) != n:
        raise ValueError(f"paired inputs differ in shape: y {y.shape}, {challenger.shape} and {champion.shape}")
    z = z_value(confidence)
    ours, theirs = challenger.argmax(axis=1) == y, champion.argmax(axis=1) == y
    b, c = int(np.count_nonzero(ours & ~theirs)), int(np.count_nonzero(theirs & ~ours))
    accuracy_difference = (b - c) / n
    half = z * math.sqrt(max((b + c) / n - accuracy_difference**2, 0.0) / n)
    classes = [cl for cl in ([1] if k == 2 else range(k)) if 0 < np.count_nonzero(y == cl) < n]
    auc_difference, auc_ci = float("nan"), (float("nan"), float("nan"))
    if classes:
        influence, diffs = np.zeros(n), []
        for cl in classes:
            a1, psi1 = auc_influence(y == cl, challenger[:, cl])
            a2, psi2 = auc_influence(y == cl, champion[:, cl])
            diffs.append(a1 - a2)
            influence += psi1 - psi2
        influence /= len(classes)
        auc_difference = float(np.mean(diffs))
        auc_half = z * math.sqrt(float(influence @ influence)) / n
        auc_ci = (auc_difference - auc_half, auc_difference + auc_half)
    return BootstrapResult(
        accuracy_difference=accuracy_difference,
        accuracy_ci=(accuracy_difference - half, accuracy_difference + half),
        auc_difference=auc_difference,
        auc_ci=auc_ci,
        confidence=confidence,
        replicates=0,
        used=0,
    )


def paired_intervals(
    y: np.ndarray, challenger: np.ndarray, champion: np.ndarray, replicates: int, seed: int, confidence: float,
    analytic_rows: int,
) -> BootstrapResult:
    """``paired_analytic`` from ``analytic_rows`` test rows on (0: never), ``paired_bootstrap`` below."""
    if analytic_rows > 0 and len(y) >= analytic_rows:
        return paired_analytic(y, challenger, champion, confidence)
    return paired_bootstrap(y, challenger, champion, replicates, seed, confidence)
