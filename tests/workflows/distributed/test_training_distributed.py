"""The distributed training workflow end to end: `pyflyte run` on a local Dask cluster, and every task as a pod
(the Dask driver run by pyflyte-execute from its serialized arguments, with no scheduler address: a LocalCluster)."""

from __future__ import annotations

import pytest

from flyte.core.artifact.model import load_model
from tests.flyte_package import local_executor, metrics_from, package, pyflyte_run, run_as_pods, string_literal
from tests.workflows.test_package import DASK_WORKFLOW

RUN = ["run", "flyte/workflows/distributed/training_pipeline.py", "training_pipeline_distributed"]
IMAGE = "localhost:30000/flyte-xgboost:pod-contract"

# The distributed fit trains on the same split as the single-pod fit; its metrics may differ by this much (see
# tests/core/training/test_distributed_fit.py for why: merged quantile sketches; 259 Pima test rows, one standard error of
# accuracy ~0.027). On Pima the table is one row group, so one worker holds every row and the fits agree closely.
TOLERANCE = 0.03


@pytest.fixture(scope="module")
def distributed_run(tmp_path_factory):
    return pyflyte_run(tmp_path_factory.mktemp("cli-home-dask"), run=RUN)


def test_pyflyte_run_trains_on_a_local_cluster_and_scores_like_the_single_pod_run(distributed_run, cli_default_run):
    assert distributed_run.metrics["rows"] == cli_default_run.metrics["rows"] == 259
    for name in ("accuracy", "roc_auc", "log_loss"):
        assert abs(distributed_run.metrics[name] - cli_default_run.metrics[name]) <= TOLERANCE, name
    model = load_model(distributed_run.model)  # the same model directory: hashes, schema and booster check out
    assert sorted(p.name for p in distributed_run.model.iterdir()) == sorted(
        ["manifest.json", "model.ubj", "model_card.html", "reference.json", "schema.json"]
    )  # published like training's, so batch prediction takes it as it is
    assert model.schema.target == "class" and len(model.schema.features) == 8
    assert "<html" in distributed_run.report.read_text().lower()


def test_dask_driver_runs_as_a_pod_from_its_serialized_arguments(tmp_path, distributed_run):
    (tmp_path / "package").mkdir()
    pkg = package(IMAGE, tmp_path / "package")
    inputs = {"registry": string_literal(str(tmp_path / "registry"))}  # never the repo's
    outputs = run_as_pods(pkg, DASK_WORKFLOW, DASK_WORKFLOW, tmp_path, local_executor(tmp_path), inputs=inputs)
    nodes = sorted(p.name for p in (tmp_path / "pods").iterdir())
    # fingerprint, ingest, split, the Dask fit, predict, score, publish, then the gate sub-workflow (n7):
    # champion_fingerprint, judge and promote (the registry is empty); then announce, the outcome line (n8).
    assert nodes == ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7-n0", "n7-n1", "n7-n2-n0", "n8"]
    for node in nodes:
        assert (tmp_path / "pods" / node / "out" / "outputs.pb").is_file()
    metrics = metrics_from(outputs)
    for name, value in distributed_run.metrics.items():
        assert getattr(metrics, name) == pytest.approx(value, abs=TOLERANCE), name
