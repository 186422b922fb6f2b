"""Each task run exactly as a pod runs it: pyflyte-execute with the serialized arguments, in a fresh process."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from flyteidl.core import errors_pb2, literals_pb2
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from flyte.core.fingerprint import SourceFingerprint, local_fingerprint
from flyte.core.ingest import DatasetSpec
from flyte.core.split import SplitParams
from tests.flyte_package import WORKFLOW, local_executor, metrics_from, package, run_as_pods, run_task_pod


@pytest.fixture(scope="module")
def pod_outputs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pods")
    pkg = package("localhost:30000/flyte-xgboost:pod-contract", workdir)
    return run_as_pods(pkg, WORKFLOW, WORKFLOW, workdir, local_executor(workdir)), workdir


def test_pods_produce_the_same_metrics_as_pyflyte_run(pod_outputs, cli_default_run):
    outputs, _ = pod_outputs
    metrics = metrics_from(outputs)
    for name, value in cli_default_run.metrics.items():
        assert getattr(metrics, name) == value, name


def test_every_pod_wrote_outputs_and_no_errors(pod_outputs):
    _, workdir = pod_outputs
    nodes = sorted(p.name for p in (workdir / "pods").iterdir())
    assert len(nodes) == 6  # fingerprint, then the five stages
    for node in nodes:
        out = workdir / "pods" / node / "out"
        assert (out / "outputs.pb").is_file() and not (out / "error.pb").exists()


def test_bad_input_pod_writes_an_error_and_no_outputs(tmp_path):
    """A failing pod reports the file and line in error.pb and leaves no outputs for the next node."""
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,4,1,5\n")
    pkg = package("localhost:30000/flyte-xgboost:pod-contract", tmp_path)
    ctx = FlyteContextManager.current_context()
    spec = DatasetSpec(source=str(bad), has_header=True, target="y")
    fingerprint = local_fingerprint(bad, spec)

    def literal(value, python_type):
        return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()

    inputs = literals_pb2.LiteralMap(
        literals={
            "dataset": literal(spec, DatasetSpec),
            "source": literal(fingerprint, SourceFingerprint),
            "split_params": literal(SplitParams(), SplitParams),
            "data_as_of": TypeEngine.to_literal(
                ctx, datetime(2026, 1, 1, tzinfo=timezone.utc), datetime, TypeEngine.to_literal_type(datetime)
            ).to_flyte_idl(),
        }
    )
    node_dir = tmp_path / "pods" / "ingest"
    proc, outputs = run_task_pod(pkg.tasks["flyte.workflows.tasks.ingest"].template, inputs, node_dir, local_executor(tmp_path))
    assert outputs is None and not (node_dir / "out" / "outputs.pb").exists()
    error = errors_pb2.ErrorDocument()
    error.ParseFromString((node_dir / "out" / "error.pb").read_bytes())
    assert "bad.csv: line 3 has 4 fields, expected 3" in error.error.message
    assert error.error.kind == errors_pb2.ContainerError.NON_RECOVERABLE  # a user error: retrying cannot help
    assert list((node_dir / "raw").iterdir()) == []
