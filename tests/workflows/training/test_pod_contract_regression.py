"""The training workflow on the regression spec with every task run as a pod runs it (pyflyte-execute, serialized
inputs in, outputs.pb out): the regression types (profile, split summary, metrics, gate decision) cross the wire."""

from __future__ import annotations

import pytest
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from flyte.core.data.dataset import DatasetSpec, diabetes_spec
from flyte.core.gate.gate import GateDecision
from tests.flyte_package import WORKFLOW, local_executor, metrics_from, package, run_as_pods, string_literal

IMAGE = "localhost:30000/flyte-xgboost:pod-contract"


def literal(value, python_type):
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    pkg = package(IMAGE, tmp_path_factory.mktemp("package"))
    workdir = tmp_path_factory.mktemp("pods")
    inputs = {"registry": string_literal(str(workdir / "registry")), "dataset": literal(diabetes_spec(), DatasetSpec)}
    return run_as_pods(pkg, WORKFLOW, WORKFLOW, workdir, local_executor(workdir), inputs=inputs)


def test_regression_metrics_and_decision_come_back_from_the_pods(outputs):
    metrics = metrics_from(outputs)
    assert metrics.problem_type == "regression" and metrics.regression.rows == metrics.rows > 100
    assert 40 < metrics.regression.rmse < 70 and metrics.regression.mape is not None
    from flytekit.models.literals import Literal

    ctx = FlyteContextManager.current_context()
    decision = TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals["decision"]), GateDecision)
    assert decision.promote and decision.regression is not None and not decision.regression.compared
