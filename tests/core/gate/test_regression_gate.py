"""The regression gate: RMSE and R² floors, the decision with and without a paired test, and the refusals."""

from __future__ import annotations

import pytest

from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.regression_metrics import RegressionMetrics
from flyte.core.gate.gate import GateRules
from flyte.core.gate.regression_comparison import RegressionComparison
from flyte.core.gate.champion import other_problem
from flyte.core.gate.regression_gate import check_regression_floors, decide_regression
from flyte.core.common.errors import DataValidationError

RULES = dict(min_accuracy=0.7, min_roc_auc=0.75, max_log_loss=0.6, alpha=0.05, bootstrap_replicates=200, bootstrap_seed=7,
             require_better=False, replace_incompatible=False, min_unseen_rows=10)  # fmt: skip


def rules(**changes) -> GateRules:
    return GateRules(**{**RULES, **changes})


def test_floors_hold_and_fail_by_their_bounds():
    m = RegressionMetrics(rmse=50.0, r2=0.4, rows=100)
    assert [f.metric for f in check_regression_floors(m, rules())] == ["r2"]  # no RMSE ceiling unless set
    floors = check_regression_floors(m, rules(max_rmse=40.0, min_r2=0.5))
    assert [(f.metric, f.passed) for f in floors] == [("r2", False), ("rmse", False)]
    ok, reasons = decide_regression(floors, RegressionComparison(), rules(), [])
    assert not ok and reasons == ["r2 0.4 fails the floor: must be at least 0.5", "rmse 50 fails the floor: must be at most 40"]
    assert all(f.passed for f in check_regression_floors(m, rules(max_rmse=50.0, min_r2=0.4)))


def test_bad_floor_settings_are_refused():
    with pytest.raises(DataValidationError, match="max_rmse must be 0 .no ceiling. or more"):
        rules(max_rmse=-1.0)
    with pytest.raises(DataValidationError, match="min_r2 must be at most 1"):
        rules(min_r2=1.5)


def test_without_a_paired_test_the_floors_decide_and_say_so():
    c = RegressionComparison(compared=True, rows=80, test_rows=100, seen_rows=20, challenger_rmse=10, champion_rmse=12, rmse_difference=-2)
    ok, reasons = decide_regression([], c, rules(), [])
    assert ok and reasons[0].startswith("no paired test of the errors is available: the floors alone decide")
    assert "RMSE 10 vs 12 (difference -2)" in reasons[0]
    ok, _ = decide_regression([], c, rules(require_better=True), [])
    assert not ok


def test_a_tested_comparison_keeps_a_significantly_worse_challenger():
    worse = RegressionComparison(compared=True, tested=True, rows=100, challenger_rmse=12, champion_rmse=10, rmse_difference=2,
                                 rmse_ci_low=0.5, rmse_ci_high=3.5, wilcoxon_p=0.001, confidence=0.95,
                                 verdict="significantly worse")  # fmt: skip
    ok, reasons = decide_regression([], worse, rules(), [])
    assert not ok and reasons[0].startswith("significantly worse than the champion")
    better = RegressionComparison(compared=True, tested=True, rows=100, challenger_rmse=9, champion_rmse=10, rmse_difference=-1,
                                  rmse_ci_low=-1.8, rmse_ci_high=-0.2, wilcoxon_p=0.01, confidence=0.95,
                                  verdict="significantly better")  # fmt: skip
    ok, reasons = decide_regression([], better, rules(require_better=True), [])
    assert ok and reasons[0].startswith("significantly better than the champion")


def test_a_champion_of_the_other_problem_type_is_never_judged():
    ours = ModelSchema(target="y", features=["a"], problem_type="regression", label_kind="float")
    theirs = ModelSchema(target="y", features=["a"], labels=[0, 1], label_kind="int")
    assert other_problem("v1", theirs, ours) == ("the champion v1 is a classification model and the challenger a regression model: "
                                       "neither judges the other; kept the champion (train under another model_name)")  # fmt: skip
