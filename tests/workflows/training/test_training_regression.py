"""End-to-end local runs of training_pipeline on the bundled regression data (diabetes progression)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flyte.core.artifact.manifest import read_manifest
from flyte.core.artifact.model import load_model
from flyte.core.data.dataset import diabetes_spec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.summary import metrics_table
from flyte.workflows.gate.tasks import GateCriteria
from flyte.workflows.training.pipeline import training_pipeline


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run on the diabetes data with every default but the dataset and the registry."""
    return training_pipeline(dataset=diabetes_spec(), registry=str(tmp_path_factory.mktemp("registry")))


def test_regression_run_scores_and_promotes(run):
    m = run.metrics
    assert m.problem_type == "regression" and m.labels == [] and m.confusion_matrix == []
    r = m.regression
    assert r.rows == m.rows > 100
    # Diabetes progression: a linear model gets an RMSE near 54 and R² near 0.45 on held-out rows; the target's std is 77.
    assert 40 < r.rmse < 70 and 0.2 < r.r2 < 0.7
    assert r.mae < r.rmse and r.median_ae < r.rmse and r.mape is not None
    assert run.decision.promote and run.decision.regression is not None
    assert any("no champion yet" in reason for reason in run.decision.reasons)


def test_regression_run_outputs_record_problem_type_and_objective(run):
    directory = Path(run.model.download())
    model = load_model(directory)
    assert (model.schema.problem_type, model.schema.objective) == ("regression", "reg:squarederror")
    manifest = read_manifest(directory, [])
    assert (manifest.problem_type, manifest.objective) == ("regression", "reg:squarederror")
    assert manifest.split["target_bins"] and set(manifest.split["target_distributions"]) == {"train", "validation", "test"}
    card = (directory / "model_card.html").read_text()
    assert "regression (reg:squarederror)" in card and "RMSE" in card and "Target distribution" in card
    report = Path(run.report.download()).read_text()
    assert "RMSE" in report and "per quantile bin of the true target" in report and "ROC curve" not in report


def test_summary_prints_regression_metrics(run):
    lines = metrics_table(run.metrics)
    assert lines[1].split() == ["rows", "rmse", "mae", "r2", "median_ae", "mape"]
    assert float(lines[2].split()[1]) == pytest.approx(run.metrics.regression.rmse, abs=1e-4)


def test_a_second_regression_run_is_judged_against_the_first(tmp_path):
    registry = str(tmp_path / "registry")
    fast = Hyperparameters(max_rounds=60, early_stopping_rounds=10, learning_rate=0.3)
    first = training_pipeline(dataset=diabetes_spec(), registry=registry, hyperparameters=fast)
    assert first.decision.promote
    second = training_pipeline(dataset=diabetes_spec(), registry=registry, hyperparameters=Hyperparameters(
        max_rounds=60, early_stopping_rounds=10, learning_rate=0.3, seed=11), gate=GateCriteria(min_unseen_rows=10))  # fmt: skip
    c = second.decision.regression
    assert second.decision.champion_version == first.decision.promoted_version
    # Both models share the split (same split seed), so every test row is unseen by the champion.
    assert c.compared and c.rows == c.test_rows == second.metrics.rows
    assert np.isclose(c.challenger_rmse, second.metrics.regression.rmse)


def test_regression_floors_refuse_a_poor_model(tmp_path):
    result = training_pipeline(dataset=diabetes_spec(), registry=str(tmp_path / "registry"),
                               hyperparameters=Hyperparameters(max_rounds=60, early_stopping_rounds=10, learning_rate=0.3),
                               gate=GateCriteria(max_rmse=10.0, min_r2=0.9))  # fmt: skip
    assert not result.decision.promote
    assert any(r.startswith("r2 ") and "must be at least 0.9" in r for r in result.decision.reasons)
    assert any(r.startswith("rmse ") and "must be at most 10" in r for r in result.decision.reasons)


def test_batch_prediction_with_the_published_model_compares_predictions_with_the_training_target(run, tmp_path):
    import pandas as pd

    from flyte.core.data.dataset import DatasetSpec, local_path
    from flyte.workflows.batch.pipeline import batch_predict

    pd.read_csv(local_path(diabetes_spec().source)).drop(columns=["target"]).to_csv(tmp_path / "new.csv", index=False)
    result = batch_predict(model=str(Path(run.model.download())), dataset=DatasetSpec(source=str(tmp_path / "new.csv")))
    report = Path(result.report.download()).read_text()
    assert "Predictions per quantile bin of the training target" in report and "PSI of the predictions" in report
