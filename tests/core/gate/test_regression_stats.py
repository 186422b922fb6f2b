"""Wilcoxon's signed-rank test, the paired RMSE interval and the regression comparison, against hand-worked numbers and scipy."""

import logging
import math

import numpy as np
import pytest
import scipy.stats

from flyte.core.common import progress
from flyte.core.gate.regression_stats import (
    BETTER, BOOTSTRAP, MIN_CAPPED_REPLICATES, NORMAL, SAME, WORSE, compare_regression, paired_rmse_difference,
    replicates_for, rmse_difference_se, signed_rank, wilcoxon_signed_rank,
)  # fmt: skip


def test_exact_small_example_worked_by_hand():
    # d = 1.5, -0.5, 2.0, -3.0, 0.0, 4.0. The zero is dropped (Wilcoxon's method): n = 5.
    # |d| sorted: 0.5 (rank 1), 1.5 (2), 2.0 (3), 3.0 (4), 4.0 (5).
    # r_plus = 2 + 3 + 5 = 10 (1.5, 2.0, 4.0); r_minus = 1 + 4 = 5 (-0.5, -3.0); the statistic is min = 5.
    # Under the null each of the 2^5 = 32 sign patterns is equally likely; subsets of {1..5} with sum <= 5:
    # {} {1} {2} {3} {1,2} {4} {1,3} {5} {1,4} {2,3}: 10 of them. Two-sided p = 2 * 10 / 32 = 0.625.
    result = signed_rank(np.array([1.5, -0.5, 2.0, -3.0, 0.0, 4.0]))
    assert (result.r_plus, result.r_minus, result.n, result.statistic) == (10.0, 5.0, 5, 5.0)
    assert result.method == "exact"
    assert result.p_value == pytest.approx(0.625, abs=1e-15)


def test_exact_extreme_example_worked_by_hand():
    # Four differences all positive: r_minus = 0; only the empty subset sums to 0: p = 2 * 1 / 16 = 0.125.
    assert wilcoxon_signed_rank(np.array([0.3, 1.0, 2.0, 0.1])) == (0.0, 0.125)


def test_ties_use_average_ranks_and_the_corrected_normal_approximation_worked_by_hand():
    # d = 1, -1, 2, 2, -3, 0: the zero dropped, n = 5. |d| = 1, 1, 2, 2, 3: ranks 1.5, 1.5, 3.5, 3.5, 5.
    # r_plus = 1.5 + 3.5 + 3.5 = 8.5 (1, 2, 2); r_minus = 1.5 + 5 = 6.5. Ties: normal approximation.
    # mean = n(n+1)/4 = 7.5; variance = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 = 13.75 - (6 + 6)/48 = 13.5.
    # z = (6.5 - 7.5 + 0.5) / sqrt(13.5) = -0.136083; p = 2 Phi(-0.136083) = 0.891755.
    result = signed_rank(np.array([1.0, -1.0, 2.0, 2.0, -3.0, 0.0]))
    assert (result.r_plus, result.r_minus, result.statistic, result.method) == (8.5, 6.5, 6.5, "normal")
    assert result.p_value == pytest.approx(0.891755, abs=1e-6)


@pytest.mark.parametrize("n", [1, 2, 7, 20, 50])
def test_exact_p_matches_scipy(n):
    rng = np.random.default_rng(n)
    for shift in (0.0, 0.5, 1.5):
        d = rng.normal(shift, 1.0, n)
        expected = scipy.stats.wilcoxon(d, method="exact")
        statistic, p = wilcoxon_signed_rank(d)
        assert statistic == expected.statistic
        assert p == pytest.approx(expected.pvalue, rel=1e-12)


@pytest.mark.parametrize("n", [51, 300, 5000])
def test_normal_p_matches_scipy_with_continuity_correction(n):
    rng = np.random.default_rng(n)
    for shift in (0.0, 0.05, 0.3):
        d = rng.standard_t(3, n) + shift
        expected = scipy.stats.wilcoxon(d, method="approx", correction=True)
        statistic, p = wilcoxon_signed_rank(d)
        assert statistic == pytest.approx(expected.statistic, rel=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_zeros_and_ties_match_scipy_wilcox_method():
    rng = np.random.default_rng(3)
    d = np.round(rng.normal(0.1, 1.0, 400), 1)  # many ties and some zeros
    assert np.count_nonzero(d == 0) > 0
    expected = scipy.stats.wilcoxon(d, zero_method="wilcox", method="approx", correction=True)
    statistic, p = wilcoxon_signed_rank(d)
    assert statistic == expected.statistic
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_ranking_in_blocks_gives_the_same_answer(monkeypatch):
    from flyte.core.gate import regression_stats

    d = np.round(np.random.default_rng(4).normal(0.05, 1.0, 3000), 2)
    whole = signed_rank(d)
    monkeypatch.setattr(regression_stats, "_BLOCK", 7)
    assert signed_rank(d) == pytest.approx(whole)


def test_all_zero_differences_say_nothing():
    assert wilcoxon_signed_rank(np.zeros(10)) == (0.0, 1.0)


def test_non_finite_differences_are_refused():
    with pytest.raises(ValueError, match="1 are not"):
        signed_rank(np.array([1.0, np.nan, 2.0]))


def test_rmse_difference_worked_by_hand():
    # y = 0: a errs by 1 on every row (RMSE 1); b by 2, 2, 0, 0 (MSE 2, RMSE sqrt 2). RMSE(b) - RMSE(a) = 0.414214.
    y, a, b = np.zeros(4), np.ones(4), np.array([2.0, 2.0, 0.0, 0.0])
    result = paired_rmse_difference(y, a, b, replicates=300, seed=1)
    assert result.difference == pytest.approx(math.sqrt(2) - 1)
    assert result.low <= result.difference <= result.high


def test_bootstrap_replicates_are_resamples_of_the_same_rows_for_both_models():
    rng = np.random.default_rng(5)
    y = rng.normal(size=60)
    a, b = y + rng.normal(size=60), y + 1.3 * rng.normal(size=60)
    result = paired_rmse_difference(y, a, b, replicates=250, seed=11, confidence=0.9)
    draws = np.random.default_rng(11)
    expected = []
    for _ in range(250):
        rows = draws.integers(0, 60, 60)
        expected.append(math.sqrt(np.mean((b[rows] - y[rows]) ** 2)) - math.sqrt(np.mean((a[rows] - y[rows]) ** 2)))
    assert (result.low, result.high) == pytest.approx(tuple(np.quantile(expected, [0.05, 0.95])), rel=1e-9)
    assert paired_rmse_difference(y, a, b, replicates=250, seed=11, confidence=0.9) == result
    assert paired_rmse_difference(y, a, b, replicates=250, seed=12, confidence=0.9) != result


def test_the_budget_caps_resamples_but_never_below_the_minimum():
    assert replicates_for(1_000, 1000, 0) == 1000
    assert replicates_for(1_000, 1000, 500_000) == 500
    assert replicates_for(10_000_000, 1000, 200_000_000) == MIN_CAPPED_REPLICATES
    assert replicates_for(10, 150, 10) == 150


def test_analytic_interval_agrees_with_the_bootstrap_at_large_n():
    rng = np.random.default_rng(6)
    n = 20_000
    y = rng.normal(size=n)
    a, b = y + rng.normal(size=n), y + 0.5 * rng.normal(size=n) + 0.8 * rng.normal(size=n)
    boot = paired_rmse_difference(y, a, b, replicates=300, seed=0)
    normal = paired_rmse_difference(y, a, b, seed=0, analytic_rows=10_000)
    assert normal.difference == boot.difference
    assert (normal.high - normal.low) == pytest.approx(boot.high - boot.low, rel=0.15)
    assert rmse_difference_se(np.zeros(5), np.zeros(5)) == 0.0


def test_bootstrap_reports_progress(monkeypatch, caplog):
    ticks = iter(range(0, 10**6, 100))
    monkeypatch.setattr(progress, "CLOCK", lambda: float(next(ticks)))
    y = np.zeros(20)
    with caplog.at_level(logging.INFO, logger="flyte.core.gate.regression_stats"):
        paired_rmse_difference(y, y + 1, y + 2, replicates=3, seed=0)
    assert "paired RMSE bootstrap: 0 of 3 replicates done" in caplog.text


@pytest.mark.parametrize("bad, message", [
    ((np.zeros(3), np.zeros(3), np.zeros(2)), "differ in length"),
    ((np.array([0.0, np.inf]), np.zeros(2), np.zeros(2)), "y holds 1 non-finite"),
    ((np.zeros(0), np.zeros(0), np.zeros(0)), "no rows"),
])  # fmt: skip
def test_bad_inputs_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        paired_rmse_difference(*bad)


def _models(n, champion_noise, challenger_noise, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, n)
    return y, y + champion_noise * rng.normal(size=n), y + challenger_noise * rng.normal(size=n)


def test_a_worse_challenger_is_significantly_worse():
    y, champion, challenger = _models(400, 1.0, 1.5)
    result = compare_regression(y, champion, challenger, seed=2)
    assert result.verdict == WORSE
    assert result.rmse_ci_low > 0 and result.wilcoxon_p < 0.05 and result.champion_closer > result.challenger_closer
    assert result.rmse_difference == pytest.approx(result.challenger_rmse - result.champion_rmse)
    assert result.mae_difference == pytest.approx(result.challenger_mae - result.champion_mae) and result.mae_difference > 0


def test_a_better_challenger_is_significantly_better():
    y, champion, challenger = _models(400, 1.5, 1.0)
    result = compare_regression(y, champion, challenger, seed=2)
    assert result.verdict == BETTER and result.rmse_ci_high < 0 and result.method == BOOTSTRAP


def test_equal_models_show_no_significant_difference():
    y, champion, challenger = _models(400, 1.0, 1.0, seed=4)
    result = compare_regression(y, champion, challenger, seed=2)
    assert result.verdict == SAME
    assert result.rmse_ci_low < 0 < result.rmse_ci_high and result.wilcoxon_p >= 0.05


def test_wilcoxon_alone_can_find_a_challenger_worse():
    # The challenger errs a little more on most rows but much less on a few: RMSE barely moves, the ranks do.
    rng = np.random.default_rng(8)
    y = np.zeros(300)
    champion = rng.choice([-1.0, 1.0], 300)
    challenger = champion * 1.1
    challenger[:15] = 0.0
    result = compare_regression(y, champion, challenger, seed=1)
    assert result.wilcoxon_p < 0.05 and result.verdict == WORSE


def test_large_comparisons_use_the_normal_interval():
    y, champion, challenger = _models(12_000, 1.0, 1.05)
    result = compare_regression(y, champion, challenger, analytic_rows=10_000)
    assert (result.method, result.replicates) == (NORMAL, 0)
    assert result.confidence == 0.95 and result.rows == 12_000


def test_alpha_outside_its_range_is_refused():
    y, champion, challenger = _models(10, 1.0, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        compare_regression(y, champion, challenger, alpha=0.7)
