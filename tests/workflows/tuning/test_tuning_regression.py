"""A tiny tuning run on the bundled regression data: cross-validation on the objective's own metric."""

from __future__ import annotations

from pathlib import Path

from flyte.core.artifact.model import load_model
from flyte.core.data.dataset import diabetes_spec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import SearchSpace
from flyte.workflows.tuning.pipeline import tuning_pipeline

FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=5, learning_rate=0.3)


def test_tiny_regression_search_ranks_trials_by_cross_validated_rmse(tmp_path):
    out = tuning_pipeline(registry=str(tmp_path / "registry"), dataset=diabetes_spec(), hyperparameters=FAST,
                          search=SearchSpace(trials=2, folds=3))  # fmt: skip
    results = out.cv_results
    assert [r.metric for r in results] == ["rmse", "rmse"]
    # RMSE in the target's units (its std is 77): a fold loss far from log loss's scale, and R² per fold.
    assert all(30 < loss < 90 for r in results for loss in r.fold_log_loss)
    assert all(len(r.fold_r2) == 3 and not r.fold_accuracy for r in results)
    best = min(results, key=lambda r: (r.mean_log_loss, r.index))
    assert out.best_hyperparameters == best.hyperparameters
    model = load_model(Path(out.model.download()))
    assert model.schema.problem_type == "regression" and out.metrics.regression.rows == out.metrics.rows


def test_absolute_error_is_cross_validated_on_mae(tmp_path):
    out = tuning_pipeline(registry=str(tmp_path / "registry"), dataset=diabetes_spec(),
                          hyperparameters=Hyperparameters(max_rounds=40, early_stopping_rounds=5, learning_rate=0.3, objective="absolute_error"),
                          search=SearchSpace(trials=1, folds=3))  # fmt: skip
    assert out.cv_results[0].metric == "mae"
