"""`pyflyte run` of the regression spec on the bundled diabetes data: single-pod and on a local Dask cluster."""

from __future__ import annotations

import json

import pytest

from flyte.core.artifact.model import load_model
from tests.flyte_package import pyflyte_run

SPEC = json.dumps({"source": "bundled://diabetes.csv", "target": "target", "problem_type": "regression"})
SINGLE = ["run", "flyte/workflows/training/pipeline.py", "training_pipeline"]
DASK = ["run", "flyte/workflows/distributed/training_pipeline.py", "training_pipeline_distributed"]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return pyflyte_run(tmp_path_factory.mktemp("cli-home-regression"), "--dataset", SPEC, run=SINGLE)


def test_pyflyte_run_trains_a_regression_model(single):
    assert single.metrics["rows"] > 100 and 40 < single.metrics["rmse"] < 70 and 0.2 < single.metrics["r2"] < 0.7
    assert "problem_type='regression'" in single.stdout
    model = load_model(single.model)
    assert model.schema.problem_type == "regression" and model.schema.objective == "reg:squarederror"


def test_pyflyte_run_on_a_local_dask_cluster_scores_like_the_single_pod_run(tmp_path, single):
    distributed = pyflyte_run(tmp_path, "--dataset", SPEC, run=DASK)
    assert distributed.metrics["rows"] == single.metrics["rows"]
    # The table is one row group, so one worker holds every row and the two fits agree closely.
    assert abs(distributed.metrics["rmse"] - single.metrics["rmse"]) < 3.0
    assert load_model(distributed.model).schema.problem_type == "regression"
