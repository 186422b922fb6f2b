"""McNemar's exact test and the paired bootstrap: hand-checked numbers, scipy and scikit-learn as oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from flyte.core.evaluation.statistics.bootstrap import WeightedAuc
from flyte.core.gate.gate_stats import (
    binomial_cdf_half,
    macro_auc,
    mcnemar_exact,
    mcnemar_p,
    paired_analytic,
    paired_bootstrap,
    paired_intervals,
)


def test_mcnemar_small_table_by_hand():
    # b = 1, c = 9: 2 * P(X <= 1; 10, 1/2) = 2 * (1 + 10) / 1024 = 22/1024.
    assert mcnemar_p(1, 9) == pytest.approx(22 / 1024, rel=1e-12) == pytest.approx(0.021484375)
    assert mcnemar_p(9, 1) == mcnemar_p(1, 9)  # two-sided: symmetric
    # b = 0, c = 5: 2 / 32; b = c: 1 (capped); no discordant pairs: 1.
    assert mcnemar_p(0, 5) == pytest.approx(2 / 32, rel=1e-12)
    assert mcnemar_p(4, 4) == 1.0 and mcnemar_p(0, 0) == 1.0


def test_mcnemar_counts_the_discordant_rows():
    challenger = np.array([1, 1, 0, 0, 1, 1, 1], dtype=bool)
    champion = np.array([1, 0, 0, 1, 0, 0, 1], dtype=bool)
    result = mcnemar_exact(challenger, champion)
    assert (result.challenger_only, result.champion_only) == (3, 1)
    assert result.p_value == pytest.approx(2 * 5 / 16)  # 2 * P(X <= 1; 4, 1/2) = 2 * 5/16


@pytest.mark.parametrize("b,c", [(3, 17), (50, 71), (0, 1), (400, 455), (12000, 12345), (5, 5)])
def test_mcnemar_agrees_with_scipy(b, c):
    expected = binomtest(min(b, c), b + c, 0.5, alternative="two-sided").pvalue
    assert mcnemar_p(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_binomial_cdf_is_exact_in_the_far_tail():
    # P(X <= 0; n, 1/2) = 2^-n, far below float's smallest normal only past n = 1022.
    assert binomial_cdf_half(0, 60) == pytest.approx(2.0**-60, rel=1e-12)
    assert binomial_cdf_half(-1, 5) == 0.0 and binomial_cdf_half(5, 5) == 1.0


def test_weighted_auc_equals_the_auc_of_the_materialised_resample():
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    score = np.round(rng.random(n), 2)  # many ties
    idx = rng.integers(0, n, n)
    weights = np.bincount(idx, minlength=n).astype(float)
    assert WeightedAuc(y == 1, score).auc(weights) == pytest.approx(roc_auc_score(y[idx], score[idx]), abs=1e-12)


def test_macro_auc_matches_scikit_learn_for_three_classes():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet([1, 1, 1], 200)
    assert macro_auc(y, proba) == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"), abs=1e-12)


def simulated(n, seed):
    """Two models on the same rows: the challenger's scores carry more signal than the champion's."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    signal = y * 2.0 - 1.0
    def proba(strength, noise):
        p = 1 / (1 + np.exp(-(strength * signal + noise)))
        return np.column_stack([1 - p, p])
    shared = rng.normal(size=n)  # shared noise: the pairing the bootstrap must keep
    return y, proba(1.2, shared + 0.5 * rng.normal(size=n)), proba(0.8, shared + 0.5 * rng.normal(size=n))


def test_paired_bootstrap_is_reproducible_with_its_seed():
    y, a, b = simulated(400, 3)
    first = paired_bootstrap(y, a, b, replicates=200, seed=11, confidence=0.95)
    again = paired_bootstrap(y, a, b, replicates=200, seed=11, confidence=0.95)
    other = paired_bootstrap(y, a, b, replicates=200, seed=12, confidence=0.95)
    assert first == again
    assert first.auc_ci != other.auc_ci


def test_paired_bootstrap_interval_covers_the_true_difference():
    """The population difference, estimated on a very large sample, lies inside the interval of a small one."""
    y_big, a_big, b_big = simulated(200_000, 5)
    true_auc = macro_auc(y_big, a_big) - macro_auc(y_big, b_big)
    true_acc = np.mean(a_big.argmax(1) == y_big) - np.mean(b_big.argmax(1) == y_big)
    covered_auc = covered_acc = 0
    for seed in range(20):
        y, a, b = simulated(500, 100 + seed)
        result = paired_bootstrap(y, a, b, replicates=300, seed=seed, confidence=0.9)
        assert result.auc_ci[0] <= result.auc_difference <= result.auc_ci[1]
        covered_auc += result.auc_ci[0] <= true_auc <= result.auc_ci[1]
        covered_acc += result.accuracy_ci[0] <= true_acc <= result.accuracy_ci[1]
    # 90% intervals: at least 14 of 20 cover (binomial(20, 0.9) falls below 15 with probability ~1%).
    assert covered_auc >= 14 and covered_acc >= 14
    assert true_auc > 0  # the case is one where the challenger really is better


def test_a_model_against_itself_differs_by_exactly_zero():
    y, a, _ = simulated(300, 7)
    result = paired_bootstrap(y, a, a, replicates=50, seed=0, confidence=0.95)
    assert result.auc_difference == 0 and result.auc_ci == (0.0, 0.0) and result.accuracy_ci == (0.0, 0.0)
    assert result.used == 50


def two_models(n: int, k: int, seed: int):
    """Two correlated models on the same rows: the challenger a little sharper than the champion."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    shared = rng.normal(size=(n, k))
    logits = [shared + rng.normal(scale=0.5, size=(n, k)) + strength * np.eye(k)[y] for strength in (1.4, 1.2)]
    return y, *(np.exp(g) / np.exp(g).sum(axis=1, keepdims=True) for g in logits)


@pytest.mark.parametrize("k", [2, 3])
def test_paired_analytic_intervals_agree_with_the_paired_bootstrap_at_moderate_n(k):
    y, ours, theirs = two_models(4000, k, seed=k)
    a = paired_analytic(y, ours, theirs, 0.95)
    b = paired_bootstrap(y, ours, theirs, 400, seed=1, confidence=0.95)
    assert a.replicates == 0 and a.accuracy_difference == pytest.approx(b.accuracy_difference)
    assert a.auc_difference == pytest.approx(b.auc_difference, abs=1e-12)
    for mine, theirs_ci in ((a.accuracy_ci, b.accuracy_ci), (a.auc_ci, b.auc_ci)):
        width = theirs_ci[1] - theirs_ci[0]
        assert abs(mine[0] - theirs_ci[0]) < 0.2 * width and abs(mine[1] - theirs_ci[1]) < 0.2 * width


def test_paired_analytic_variances_by_their_formulas():
    y, ours, theirs = two_models(300, 2, seed=5)
    ours, theirs = np.round(ours, 1), np.round(theirs, 1)  # ties count half in both AUCs
    z = 1.959963984540054
    a = paired_analytic(y, ours, theirs, 0.95)
    d = (ours.argmax(axis=1) == y).astype(float) - (theirs.argmax(axis=1) == y)
    assert (a.accuracy_ci[1] - a.accuracy_ci[0]) / 2 == pytest.approx(z * d.std() / np.sqrt(300))
    # DeLong, DeLong & Clarke-Pearson 1988: structural components of both AUCs, their paired covariance.
    pos, neg = y == 1, y == 0
    comps = []
    for p in (ours[:, 1], theirs[:, 1]):
        kernel = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
        comps.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    s10 = np.cov(comps[0][0], comps[1][0])
    s01 = np.cov(comps[0][1], comps[1][1])
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / pos.sum() + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / neg.sum()
    assert (a.auc_ci[1] - a.auc_ci[0]) / 2 == pytest.approx(z * np.sqrt(variance))


def test_the_comparison_goes_analytic_from_the_threshold_and_bootstraps_below():
    y, ours, theirs = two_models(500, 2, seed=8)
    assert paired_intervals(y, ours, theirs, 150, 3, 0.95, analytic_rows=501).replicates == 150
    assert paired_intervals(y, ours, theirs, 150, 3, 0.95, analytic_rows=500).replicates == 0
    assert paired_intervals(y, ours, theirs, 150, 3, 0.95, analytic_rows=0).replicates == 150  # 0: never analytic
