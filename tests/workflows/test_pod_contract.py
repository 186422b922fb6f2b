"""Each task run exactly as a pod runs it: pyflyte-execute with the serialized arguments, in a fresh process."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from flyteidl.core import errors_pb2, literals_pb2
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from flyte.core.data.fingerprint import SourceFingerprint, local_fingerprint, remote_fingerprint
from flyte.core.data.ingest import DatasetSpec
from flyte.core.data.split import SplitParams
from flyte.workflows import config
from tests.data_factory import write_mixed_csv
from tests.flyte_package import WORKFLOW, local_executor, metrics_from, package, run_as_pods, run_task_pod, string_literal
from tests.http_servers import Routes, answering_server

INGEST = "flyte.workflows.training.tasks.ingest"
IMAGE = "localhost:30000/flyte-xgboost:pod-contract"


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def pod_outputs(tmp_path_factory, pkg):
    workdir = tmp_path_factory.mktemp("pods")
    inputs = {"registry": string_literal(str(workdir / "registry"))}  # never the repo's
    return run_as_pods(pkg, WORKFLOW, WORKFLOW, workdir, local_executor(workdir), inputs=inputs), workdir


def ingest_inputs(spec: DatasetSpec) -> literals_pb2.LiteralMap:
    """The ingest node's inputs.pb for ``spec``, as propeller would write it (with the fingerprint node's output)."""
    ctx = FlyteContextManager.current_context()

    def literal(value, python_type):
        return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()

    path = Path(spec.source)
    fingerprint = local_fingerprint(path, spec) if path.is_file() else remote_fingerprint(spec.source, {"ETag": "test"}, spec)
    return literals_pb2.LiteralMap(
        literals={
            "dataset": literal(spec, DatasetSpec),
            "source": literal(fingerprint, SourceFingerprint),
            "split_params": literal(SplitParams(), SplitParams),
            "data_as_of": literal(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime),
        }
    )


def read_error(node_dir) -> errors_pb2.ErrorDocument:
    error = errors_pb2.ErrorDocument()
    error.ParseFromString((node_dir / "out" / "error.pb").read_bytes())
    return error


def run_with_retries(template, inputs, workdir, executor):
    """Run a task's pod as propeller does: again, in a fresh attempt directory, while its error is recoverable
    and retries remain; a non-recoverable error ends it at once. Returns the outputs (or None) and each
    failed attempt's error document."""
    errors = []
    for attempt in range(template.metadata.retries.retries + 1):
        node_dir = workdir / "pods" / f"{template.id.name.rsplit('.', 1)[-1]}-attempt-{attempt}"
        _, outputs = run_task_pod(template, inputs, node_dir, executor)
        if outputs is not None:
            return outputs, errors
        errors.append(read_error(node_dir))
        if errors[-1].error.kind != errors_pb2.ContainerError.RECOVERABLE:
            break
    return None, errors


def test_pods_produce_the_same_metrics_as_pyflyte_run(pod_outputs, cli_default_run):
    outputs, _ = pod_outputs
    metrics = metrics_from(outputs)
    for name, value in cli_default_run.metrics.items():
        assert getattr(metrics, name) == value, name


def test_every_pod_wrote_outputs_and_no_errors(pod_outputs):
    _, workdir = pod_outputs
    nodes = sorted(p.name for p in (workdir / "pods").iterdir())
    # fingerprint, the five stages, publish, then the gate sub-workflow (n7): champion_fingerprint, judge, and the
    # branch taken: promote, as the empty registry has no champion (n2-n0; keep_champion would be n2-n1); then announce (n8).
    assert nodes == ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7-n0", "n7-n1", "n7-n2-n0", "n8"]
    for node in nodes:
        out = workdir / "pods" / node / "out"
        assert (out / "outputs.pb").is_file() and not (out / "error.pb").exists()


def test_bad_input_pod_writes_an_error_and_no_outputs(tmp_path, pkg):
    """A failing pod reports the file and line in error.pb and leaves no outputs for the next node."""
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,4,1,5\n")
    inputs = ingest_inputs(DatasetSpec(source=str(bad), has_header=True, target="y"))
    node_dir = tmp_path / "pods" / "ingest"
    proc, outputs = run_task_pod(pkg.tasks[INGEST].template, inputs, node_dir, local_executor(tmp_path))
    assert outputs is None and not (node_dir / "out" / "outputs.pb").exists()
    error = read_error(node_dir)
    assert "bad.csv: line 3 has 4 fields, expected 3" in error.error.message
    assert error.error.kind == errors_pb2.ContainerError.NON_RECOVERABLE  # a user error: retrying cannot help
    assert list((node_dir / "raw").iterdir()) == []


def test_ingest_is_retried_through_a_busy_source_and_succeeds(tmp_path, pkg):
    """A 503 is recoverable, ingest has retries, so the next attempt reads the file the server now serves."""
    template = pkg.tasks[INGEST].template
    assert template.metadata.retries.retries == config.INGEST_RETRIES >= 1
    spec = write_mixed_csv(tmp_path / "mixed.csv")
    routes = Routes()
    routes.add("/mixed.csv", (503, b"busy"), (200, (tmp_path / "mixed.csv").read_bytes()))
    with answering_server(routes) as base:
        spec.source = f"{base}/mixed.csv"
        outputs, errors = run_with_retries(template, ingest_inputs(spec), tmp_path, local_executor(tmp_path))
    assert [e.error.kind for e in errors] == [errors_pb2.ContainerError.RECOVERABLE]
    assert "HTTP 503 Service Unavailable" in errors[0].error.message
    assert outputs is not None and sorted(outputs.literals) == ["profile", "table"]
    assert routes.by_path["/mixed.csv"].hits == 2


def test_ingest_is_not_retried_when_the_source_is_missing(tmp_path, pkg):
    """A 404 will not change by asking again: one attempt, a non-recoverable error naming the status."""
    with answering_server(Routes()) as base:
        spec = DatasetSpec(source=f"{base}/absent.csv", has_header=True, target="y")
        outputs, errors = run_with_retries(pkg.tasks[INGEST].template, ingest_inputs(spec), tmp_path, local_executor(tmp_path))
    assert outputs is None and len(errors) == 1
    assert errors[0].error.kind == errors_pb2.ContainerError.NON_RECOVERABLE
    assert f"{spec.source}: cannot fetch: HTTP 404 Not Found" in errors[0].error.message
