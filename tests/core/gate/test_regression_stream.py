"""The streamed regression comparison: the binned Wilcoxon test and the moment-based interval against the in-memory ones."""

import numpy as np
import pytest

from flyte.core.gate.regression_stats import NORMAL, WORSE, compare_regression, signed_rank
from flyte.core.gate.regression_stream import PairedErrorSketch, binned_signed_rank


def _models(n, champion_noise, challenger_noise, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 3, n)
    return y, y + champion_noise * rng.standard_t(5, n), y + challenger_noise * rng.standard_t(5, n)


def test_binned_ranks_worked_by_hand():
    # Bins of |d| in order hold (positive, negative) = (1, 1), (0, 2), (2, 0): six rows, ranks 1-2 | 3-4 | 5-6,
    # average ranks 1.5, 3.5, 5.5. r_plus = 1.5 + 2 * 5.5 = 12.5; r_minus = 21 - 12.5 = 8.5. Ties: three groups of
    # two, sum(t^3 - t) = 18: variance = 6 * 7 * 13 / 24 - 18 / 48 = 22.375; z = (8.5 - 10.5 + 0.5) / 4.730222 =
    # -0.317110, p = 2 Phi(z) = 0.751160.
    result = binned_signed_rank(np.array([1, 0, 2]), np.array([1, 2, 0]))
    assert (result.r_plus, result.r_minus, result.n) == (12.5, 8.5, 6)
    assert result.p_value == pytest.approx(0.751160, abs=1e-6)


def test_binning_is_the_exact_test_of_the_rounded_differences():
    y, champion, challenger = _models(3000, 1.0, 1.05)
    sketch = PairedErrorSketch()
    sketch.add(y, champion, challenger)
    d = np.abs(challenger - y) - np.abs(champion - y)
    # Round |d| down to its bin's edge: what the sketch treats as tied is then equal.
    rounded = np.sign(d) * ((np.abs(d).view(np.int64) >> 44) << 44).view(np.float64)
    expected = signed_rank(rounded)
    assert sketch.signed_rank()[:5] == pytest.approx(expected[:5], rel=1e-12)
    unrounded = signed_rank(d)
    assert sketch.signed_rank().p_value == pytest.approx(unrounded.p_value, rel=0.02)


def test_streamed_comparison_matches_the_in_memory_normal_one():
    y, champion, challenger = _models(40_000, 1.0, 1.03, seed=1)
    whole = compare_regression(y, champion, challenger, analytic_rows=1)
    sketch = PairedErrorSketch()
    for start in range(0, 40_000, 6_000):
        sketch.add(y[start : start + 6_000], champion[start : start + 6_000], challenger[start : start + 6_000])
    streamed = sketch.comparison()
    assert streamed.method == NORMAL and streamed.rows == 40_000 and streamed.replicates == 0
    for name in ("challenger_rmse", "champion_rmse", "rmse_difference", "rmse_ci_low", "rmse_ci_high", "mae_difference"):
        assert getattr(streamed, name) == pytest.approx(getattr(whole, name), rel=1e-7), name
    assert (streamed.challenger_closer, streamed.champion_closer) == (whole.challenger_closer, whole.champion_closer)
    assert streamed.wilcoxon_p == pytest.approx(whole.wilcoxon_p, rel=0.05)
    assert streamed.verdict == whole.verdict


def test_a_worse_challenger_is_found_worse_and_memory_does_not_grow():
    sketch = PairedErrorSketch()
    size = sketch.positive.nbytes + sketch.negative.nbytes
    for seed in range(5):
        sketch.add(*_models(20_000, 1.0, 1.2, seed=seed))
    assert sketch.positive.nbytes + sketch.negative.nbytes == size <= 8 << 20
    result = sketch.comparison()
    assert result.verdict == WORSE and result.rmse_ci_low > 0 and result.wilcoxon_p < 0.05


def test_a_perfect_model_contributes_no_variance():
    y = np.linspace(0, 1, 100)
    sketch = PairedErrorSketch()
    sketch.add(y, y, y)
    result = sketch.comparison()
    assert (result.rmse_difference, result.rmse_ci_low, result.rmse_ci_high, result.wilcoxon_p) == (0.0, 0.0, 0.0, 1.0)


def test_bad_input_is_refused():
    sketch = PairedErrorSketch()
    with pytest.raises(ValueError, match="no rows"):
        sketch.comparison()
    with pytest.raises(ValueError, match="differ in length"):
        sketch.add(np.zeros(2), np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        sketch.add(np.zeros(2), np.array([0.0, np.nan]), np.zeros(2))
    with pytest.raises(ValueError, match="mantissa_bits"):
        PairedErrorSketch(mantissa_bits=20)
