"""Intervals of RMSE, MAE and R²: the bootstrap's resamples, the analytic path's agreement with it, streaming, coverage."""

import logging
import math
from statistics import NormalDist

import numpy as np
import pytest

from flyte.core.common import progress
from flyte.core.evaluation.statistics.regression_intervals import (
    BOOTSTRAP, NORMAL, RegressionMoments, regression_intervals,
)  # fmt: skip


def _data(n, rng, offset=0.0):
    # y = 2x + noise, a model that predicts 1.8x + 0.1: error e = pred - y ~ N(0.1, 0.2² + 1 = 1.04).
    x = rng.normal(size=n)
    return 2 * x + rng.normal(size=n) + offset, 1.8 * x + 0.1 + offset


# Population values of that model: MSE = 1.04 + 0.1² = 1.05; E|e| for e ~ N(mu, s²) is
# s sqrt(2/pi) exp(-mu²/2s²) + mu (1 - 2 Phi(-mu/s)); R² = 1 - MSE / Var(y) = 1 - 1.05 / 5 = 0.79.
_S, _MU = math.sqrt(1.04), 0.1
TRUE = {
    "rmse": math.sqrt(1.05),
    "mae": _S * math.sqrt(2 / math.pi) * math.exp(-(_MU**2) / (2 * _S**2)) + _MU * (1 - 2 * NormalDist().cdf(-_MU / _S)),
    "r2": 0.79,
}


def test_point_values_worked_by_hand():
    # y = 1, 2, 3, 4; pred = 1, 2, 4, 2: errors 0, 0, 1, -2. MSE = 5/4, RMSE = 1.118034; MAE = 3/4;
    # Var(y) = 1.25 (mean 2.5: 2.25 + 0.25 + 0.25 + 2.25 over 4), R² = 1 - 1.25 / 1.25 = 0.
    y, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 4.0, 2.0])
    for analytic_rows in (0, 1):
        out = regression_intervals(y, pred, replicates=200, analytic_rows=analytic_rows)
        assert (out.rmse, out.mae, out.r2) == pytest.approx((math.sqrt(1.25), 0.75, 0.0))
        assert out.rmse_low <= out.rmse <= out.rmse_high and out.mae_low <= out.mae <= out.mae_high


def test_bootstrap_replicates_are_resamples_of_the_rows():
    rng = np.random.default_rng(1)
    y, pred = _data(50, rng)
    out = regression_intervals(y, pred, replicates=300, seed=9, level=0.9)
    draws, rmse, r2 = np.random.default_rng(9), [], []
    for _ in range(300):
        rows = draws.integers(0, 50, 50)
        e = pred[rows] - y[rows]
        rmse.append(math.sqrt(np.mean(e * e)))
        r2.append(1 - np.mean(e * e) / np.var(y[rows]))
    assert (out.rmse_low, out.rmse_high) == pytest.approx(tuple(np.percentile(rmse, [5, 95])), rel=1e-9)
    assert (out.r2_low, out.r2_high) == pytest.approx(tuple(np.percentile(r2, [5, 95])), rel=1e-9)
    assert (out.method, out.replicates, out.seed) == (BOOTSTRAP, 300, 9)
    assert regression_intervals(y, pred, replicates=300, seed=9, level=0.9) == out


def test_the_row_budget_bounds_the_resamples():
    rng = np.random.default_rng(2)
    y, pred = _data(1000, rng)
    assert regression_intervals(y, pred, replicates=1000, row_budget=200_000, analytic_rows=0).replicates == 200
    assert regression_intervals(y, pred, replicates=1000, row_budget=20_000, analytic_rows=0).replicates == 100
    assert regression_intervals(y, pred, replicates=150, row_budget=0, analytic_rows=0).replicates == 150


def test_analytic_intervals_agree_with_the_bootstrap_at_large_n():
    rng = np.random.default_rng(3)
    y, pred = _data(20_000, rng, offset=1e6)  # a target far from 0 must lose no precision
    boot = regression_intervals(y, pred, replicates=200, analytic_rows=0)
    normal = regression_intervals(y, pred)
    assert normal.method == NORMAL and normal.replicates == 0
    for name in ("rmse", "mae", "r2"):
        assert getattr(normal, name) == pytest.approx(getattr(boot, name), rel=1e-9)
        width_b = getattr(boot, f"{name}_high") - getattr(boot, f"{name}_low")
        width_n = getattr(normal, f"{name}_high") - getattr(normal, f"{name}_low")
        assert width_n == pytest.approx(width_b, rel=0.15), name


def test_streamed_batches_give_the_same_intervals_as_one():
    rng = np.random.default_rng(4)
    y, pred = _data(5000, rng, offset=50.0)
    whole = RegressionMoments()
    whole.add(y, pred)
    streamed = RegressionMoments()
    for start in range(0, 5000, 777):
        streamed.add(y[start : start + 777], pred[start : start + 777])
    streamed.add(np.array([]), np.array([]))
    a, b = whole.intervals(), streamed.intervals()
    for name in ("rmse", "rmse_low", "rmse_high", "mae", "mae_low", "mae_high", "r2", "r2_low", "r2_high"):
        assert getattr(b, name) == pytest.approx(getattr(a, name), rel=1e-9), name
    assert b.rows == 5000 and streamed.sums.shape == (9,)


def test_a_constant_target_has_no_r2():
    out = regression_intervals(np.ones(20), np.linspace(0, 2, 20), replicates=100)
    assert math.isnan(out.r2) and math.isnan(out.r2_low) and out.rmse > 0
    moments = RegressionMoments()
    moments.add(np.ones(20), np.linspace(0, 2, 20))
    assert math.isnan(moments.intervals().r2)


def _coverage(analytic_rows, sims=200, n=100):
    rng = np.random.default_rng(2024)
    hits = {name: 0 for name in TRUE}
    for s in range(sims):
        y, pred = _data(n, rng)
        out = regression_intervals(y, pred, replicates=500, seed=s, analytic_rows=analytic_rows)
        for name, value in TRUE.items():
            hits[name] += getattr(out, f"{name}_low") <= value <= getattr(out, f"{name}_high")
    return {name: h / sims for name, h in hits.items()}


@pytest.mark.parametrize("analytic_rows", [0, 1], ids=["bootstrap", "normal"])
def test_nominal_95_percent_intervals_cover_on_small_test_sets(analytic_rows):
    # 200 simulated test sets of 100 rows, fixed seed: every interval should hold the true value about 95% of the
    # time; 90-99% allows the simulation's own noise (binomial sd 1.5 points) and small-sample slack.
    coverage = _coverage(analytic_rows)
    for name, share in coverage.items():
        assert 0.90 <= share <= 0.99, (name, share)


def test_bootstrap_reports_progress(monkeypatch, caplog):
    ticks = iter(range(0, 10**6, 100))
    monkeypatch.setattr(progress, "CLOCK", lambda: float(next(ticks)))
    with caplog.at_level(logging.INFO, logger="flyte.core.evaluation.statistics.regression_intervals"):
        regression_intervals(np.arange(10.0), np.arange(10.0) + 1, replicates=3, min_replicates=2)
    assert "regression bootstrap: 0 of 3 replicates done" in caplog.text


@pytest.mark.parametrize("y, pred, message", [
    (np.zeros(3), np.zeros(4), "3 targets but 4 predictions"),
    (np.array([0.0, np.nan]), np.zeros(2), "1 non-finite target values, the first at row 1: nan"),
    (np.zeros(2), np.array([np.inf, 0.0]), "non-finite prediction values, the first at row 0: inf"),
    (np.zeros(0), np.zeros(0), "no rows"),
])  # fmt: skip
def test_bad_inputs_are_refused(y, pred, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        regression_intervals(y, pred)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="level"):
        regression_intervals(np.arange(5.0), np.arange(5.0), level=1.5)
    with pytest.raises(ValueError, match="at least 2"):
        regression_intervals(np.arange(5.0), np.arange(5.0), replicates=1, min_replicates=1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        RegressionMoments().intervals()
