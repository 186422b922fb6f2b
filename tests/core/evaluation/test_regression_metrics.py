"""Regression metrics against hand-checked numbers and scikit-learn, streamed and in one go, and the report."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from flyte.core.common.errors import DataValidationError
from flyte.core.data.dataset import DataProfile
from flyte.core.data.target import distribution
from flyte.core.evaluation.regression_metrics import BinnedAccumulator, RegressionAccumulator, describe, regression_metrics
from flyte.core.evaluation.regression_report import render_regression_report
from flyte.core.evaluation.score import Metrics


def test_hand_checked_metrics():
    # errors 0.5, 0, -1, 1: SSE 2.25; SST around the mean 2.5 is 2.25 + 0.25 + 0.25 + 2.25 = 5.
    m = regression_metrics(np.array([1.0, 2, 3, 4]), np.array([1.5, 2, 2, 5]))
    assert m.rmse == pytest.approx(0.75)
    assert m.mae == pytest.approx(0.625)
    assert m.r2 == pytest.approx(0.55)
    assert m.median_ae == pytest.approx(0.75)  # |errors| sorted 0, 0.5, 1, 1
    assert m.mape == pytest.approx((0.5 + 0 + 1 / 3 + 1 / 4) / 4)
    assert m.mean_error == pytest.approx(0.125) and m.rows == 4 and m.mape_note == ""


def test_mape_is_absent_with_a_reason_when_a_target_is_zero():
    m = regression_metrics(np.array([0.0, 2, 4]), np.array([1.0, 2, 4]))
    assert m.mape is None and m.mape_note == "not defined: 1 of 3 true targets are 0"
    assert "MAPE not defined" in describe(m)


def test_streamed_equals_scikit_learn_whatever_the_batches():
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 50.0, size=5_000) + 1
    p = y + rng.normal(scale=20, size=y.size)
    acc = RegressionAccumulator()
    for start in range(0, y.size, 777):
        acc.add(y[start : start + 777], p[start : start + 777])
    m = acc.finish()
    assert m.rmse == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m.mae == pytest.approx(skm.mean_absolute_error(y, p))
    assert m.r2 == pytest.approx(skm.r2_score(y, p))
    assert m.median_ae == pytest.approx(skm.median_absolute_error(y, p))
    assert m.mape == pytest.approx(skm.mean_absolute_percentage_error(y, p))


def test_mismatched_or_non_finite_predictions_are_refused():
    with pytest.raises(DataValidationError, match="3 true targets but 2 predictions"):
        regression_metrics(np.zeros(3), np.zeros(2))
    with pytest.raises(DataValidationError, match=r"a prediction is not a finite number \(row 2\)"):
        regression_metrics(np.zeros(3), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(DataValidationError, match="no rows to score"):
        RegressionAccumulator().finish()


def test_binned_errors_hand_checked():
    acc = BinnedAccumulator([10.0])
    acc.add(np.array([5.0, 7.0, 12.0]), np.array([6.0, 6.0, 15.0]))
    b = acc.finish()
    assert b.bins == ["< 10", ">= 10"] and b.rows == [2, 1]
    assert b.mean_actual == [6.0, 12.0] and b.mean_predicted == [6.0, 15.0]
    assert b.rmse == pytest.approx([1.0, 3.0])


def test_report_shows_regression_metrics_and_the_target_distribution_not_classes():
    y = np.arange(1.0, 101.0)
    m = regression_metrics(y, y + 1)
    acc = BinnedAccumulator([50.0])
    acc.add(y, y + 1)
    profile = DataProfile(rows=100, target="price", feature_columns=["a"], dtypes={"a": "double", "price": "double"},
                          problem_type="regression", target_distribution=distribution(y))  # fmt: skip
    html = render_regression_report(Metrics(problem_type="regression", regression=m, rows=100), acc.finish(), {"a": 1.0}, profile,
                                    figures=[("Residuals", "<svg id='r'></svg>")])  # fmt: skip
    assert "RMSE" in html and "R²" in html and "Target distribution" in html and "<svg id='r'>" in html
    assert "Class balance" not in html and "Confusion matrix" not in html
