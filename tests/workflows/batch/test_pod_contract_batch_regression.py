"""batch_predict with a regression model, every task run as a pod runs it: the prediction column and the regression
metrics cross the wire."""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pytest
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import Literal

from flyte.core.artifact.model import save_model
from flyte.core.data.dataset import DatasetSpec, diabetes_spec, local_path
from flyte.core.evaluation.score import Metrics
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from tests.data_factory import split_frame
from tests.flyte_package import local_executor, package, run_as_pods
from tests.workflows.batch.test_pod_contract_batch import IMAGE, WORKFLOW, literal


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("pod-regression-model")
    df = pd.read_csv(local_path(diabetes_spec().source))
    parts, profile = split_frame(work, df, "target", problem_type="regression")
    return save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=30)), work / "model")


def test_batch_tasks_as_pods_score_a_regression_model(tmp_path, model_dir):
    pkg = package(IMAGE, tmp_path / "package")
    rows = tmp_path / "rows.csv"
    pd.read_csv(local_path(diabetes_spec().source)).head(80).to_csv(rows, index=False)
    spec = DatasetSpec(source=str(rows), target="target", problem_type="regression")
    inputs = {"model": literal(str(model_dir), str), "dataset": literal(spec, DatasetSpec)}
    outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, local_executor(tmp_path), inputs=inputs)
    ctx = FlyteContextManager.current_context()
    metrics = TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals["metrics"]), Optional[Metrics])
    assert metrics.problem_type == "regression" and metrics.regression.rows == 80 and metrics.regression.rmse > 0
