"""Batch prediction with a regression model: the prediction column, metrics with true targets, the refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flyte.core.artifact.model import save_model
from flyte.core.common.errors import DataValidationError
from flyte.core.data.dataset import DatasetSpec, diabetes_spec, local_path
from flyte.core.data.ingest import ingest_table
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from flyte.core.evaluation.predict import PREDICTION_COLUMN
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.workflows.batch.pipeline import batch_predict
from tests.data_factory import read_frame


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("regression-model")
    spec = diabetes_spec()
    profile = ingest_table(local_path(spec.source), spec, work / "table").profile
    split_table(work / "table", profile, SplitParams(), {n: work / n for n in PART_NAMES})
    model = train_model(work / "train", work / "validation", profile, Hyperparameters(max_rounds=60, learning_rate=0.3))
    return save_model(model, work / "model")


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> tuple[Path, Path]:
    """The diabetes rows with their targets, and the same rows without, each with an id column."""
    work = tmp_path_factory.mktemp("rows")
    df = pd.read_csv(local_path(diabetes_spec().source)).head(120)
    df.insert(0, "id", [f"p{i:03d}" for i in range(len(df))])
    df.to_csv(work / "labelled.csv", index=False)
    df.drop(columns=["target"]).to_csv(work / "new.csv", index=False)
    return work / "labelled.csv", work / "new.csv"


def test_rows_without_targets_get_a_prediction_column(model_dir, rows):
    result = batch_predict(model=str(model_dir), dataset=DatasetSpec(source=str(rows[1])))
    out = result.predictions.open(pd.DataFrame).all()
    assert list(out.columns) == [PREDICTION_COLUMN] and len(out) == 120
    assert out[PREDICTION_COLUMN].between(25, 346).mean() > 0.95  # within the training target's range
    assert result.metrics is None
    report = Path(result.report.download()).read_text()
    assert "Distribution of the predictions" in report and "Predicted values" in report
    # The model directory here is a fit's, whose manifest records no split: no comparison with the training target.
    assert "Predictions per quantile bin of the training target" not in report


def test_rows_with_targets_are_scored_with_regression_metrics(model_dir, rows):
    spec = DatasetSpec(source=str(rows[0]), target="target", problem_type="regression")
    result = batch_predict(model=str(model_dir), dataset=spec)
    m = result.metrics
    assert m.problem_type == "regression" and m.rows == 120
    y = pd.read_csv(rows[0])["target"].to_numpy()
    predicted = result.predictions.open(pd.DataFrame).all()[PREDICTION_COLUMN].to_numpy()
    assert m.regression.rmse == pytest.approx(float(np.sqrt(np.mean((predicted - y) ** 2))))
    assert m.regression.mae == pytest.approx(float(np.mean(np.abs(predicted - y))))
    assert "Scored against the true targets" in Path(result.report.download()).read_text()


def test_a_classification_spec_with_targets_is_refused_for_a_regression_model(model_dir, rows):
    spec = DatasetSpec(source=str(rows[0]), target="target")
    with pytest.raises(Exception, match="problem_type is 'classification', but the model is a regression model"):
        batch_predict(model=str(model_dir), dataset=spec)


def test_a_missing_target_is_refused_naming_the_line(model_dir, tmp_path, rows):
    df = pd.read_csv(rows[0]).head(10)
    df.loc[3, "target"] = np.nan
    df.to_csv(tmp_path / "gap.csv", index=False)
    spec = DatasetSpec(source=str(tmp_path / "gap.csv"), target="target", problem_type="regression")
    with pytest.raises(Exception, match=r"(missing value at line 5|missing value\(s\) at line 5)"):
        batch_predict(model=str(model_dir), dataset=spec)


def test_predictions_are_compared_with_the_training_target_by_bin(tmp_path):
    from flyte.core.batch.batch_report import prediction_drift
    from flyte.core.data.tables import TableWriter
    import pyarrow as pa

    with TableWriter(tmp_path / "p", pa.schema([(PREDICTION_COLUMN, pa.float64())])) as writer:
        writer.write(pa.record_batch([pa.array([1.0, 2.0, 6.0, 7.0])], names=[PREDICTION_COLUMN]))
        writer.commit()
    # Training: 3 rows below 5, 1 at or above; predictions: 2 and 2. PSI = (0.5-0.75) ln(0.5/0.75) + (0.5-0.25) ln(0.5/0.25).
    found, html = prediction_drift(tmp_path / "p", {"< 5": [3, 1, 1], ">= 5": [1, 0, 0]}, [5.0])
    assert found.rows == 4 and found.median == 4.0
    expected = (0.5 - 0.75) * np.log(0.5 / 0.75) + (0.5 - 0.25) * np.log(0.5 / 0.25)
    assert f"{expected:.3f}" in html and "75.0%" in html and "50.0%" in html
