"""Publishing and the gate hold metrics to the same rule: the same rows, labels and confusion matrix as the rows read."""

from __future__ import annotations

import copy

import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.score import Metrics
from flyte.core.evaluation.regression_metrics import RegressionMetrics
from flyte.core.evaluation.scored import check_same_regression_rows, check_same_rows
from flyte.core.gate.gate import GateRules, judge
from flyte.core.publishing.publish import publish_model
from tests.core.publishing.test_publish import SETTINGS, ENV, train

RULES = GateRules(min_accuracy=0.0, min_roc_auc=0.0, max_log_loss=10.0, alpha=0.05, bootstrap_replicates=200,
                  bootstrap_seed=7, require_better=False, replace_incompatible=False, min_unseen_rows=1)  # fmt: skip


def test_counts_are_compared_exactly():
    found = Metrics(labels=["a", "b"], confusion_matrix=[[3, 1], [0, 4]], rows=8)
    check_same_rows(copy.deepcopy(found), found)
    for other in (Metrics(labels=["a", "b"], confusion_matrix=[[3, 0], [1, 4]], rows=8),
                  Metrics(labels=["b", "a"], confusion_matrix=[[3, 1], [0, 4]], rows=8),
                  Metrics(labels=["a", "b"], confusion_matrix=[[3, 1], [0, 4]], rows=9)):  # fmt: skip
        with pytest.raises(DataValidationError, match="not those of the test rows"):
            check_same_rows(other, found)


def test_a_regressions_rows_and_rmse_are_compared():
    found = RegressionMetrics(rmse=61.8, mae=50.3, r2=0.38, rows=144)
    given = Metrics(problem_type="regression", rows=144, regression=RegressionMetrics(rmse=61.8 * (1 + 1e-12), rows=144))
    check_same_regression_rows(given, found)  # a sum in another order: the last bits may differ
    for other in (Metrics(problem_type="regression", rows=144, regression=RegressionMetrics(rmse=61.81, rows=144)),
                  Metrics(problem_type="regression", rows=143, regression=RegressionMetrics(rmse=61.8, rows=143)),
                  Metrics(problem_type="regression", rows=144)):  # fmt: skip
        with pytest.raises(DataValidationError, match="not those of the test rows"):
            check_same_regression_rows(other, found)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train(tmp_path_factory.mktemp("same-rows"))


def _same_accuracy_other_matrix(metrics: Metrics) -> Metrics:
    """The metrics with one misclassified row moved to another wrong class: same rows, same accuracy, other counts."""
    cm = [list(r) for r in metrics.confusion_matrix]
    i, j = next((i, j) for i, row in enumerate(cm) for j, v in enumerate(row) if i != j and v > 0)
    k = next(k for k in range(len(cm)) if k not in (i, j))
    cm[i][j], cm[i][k] = cm[i][j] - 1, cm[i][k] + 1
    return Metrics(**{**metrics.__dict__, "confusion_matrix": cm})


def _publish(t, metrics, destination):
    return publish_model(t.fit_dir, destination, t.test, t.predictions, metrics, t.profile, t.spec, t.split, t.hyper,
                         "t", "local", SETTINGS, ENV)  # fmt: skip


def _judge(t, metrics, tmp_path):
    return judge(t.fit_dir, t.test, t.predictions, metrics, str(tmp_path / "registry"), "", RULES, tmp_path / "scratch")


def test_publish_and_the_gate_agree_on_which_metrics_are_the_rows(trained, tmp_path):
    _publish(trained, trained.metrics, tmp_path / "model")
    assert _judge(trained, trained.metrics, tmp_path).decision.reasons
    other = _same_accuracy_other_matrix(trained.metrics)
    assert other.accuracy == trained.metrics.accuracy and other.rows == trained.metrics.rows
    with pytest.raises(DataValidationError, match="not those of the test rows") as published:
        _publish(trained, other, tmp_path / "other")
    with pytest.raises(DataValidationError, match="not those of the test rows") as judged:
        _judge(trained, other, tmp_path)
    assert str(published.value) == str(judged.value)
