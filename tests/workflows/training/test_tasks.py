"""Tests for flyte.workflows.training.tasks: each task run locally by flytekit, and the source fetcher."""

from __future__ import annotations

import errno
import functools
import http.server
import threading
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.exceptions.user import FlyteRecoverableException as Recoverable
from flytekit.types.structured import StructuredDataset

from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError, DiskFullError, SourceUnavailableError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.ingest import DatasetSpec, ingest_table
from flyte.core.common.files import file_sha256
from flyte.core.data.leakage import LEAKAGE_FILE
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.artifact.model import MODEL_FILE, SCHEMA_FILE
from flyte.core.data.split import SplitParams
from flyte.workflows import config
from flyte.workflows.training import tasks
from tests.http_servers import Routes, answering_server, silent_server

AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)
FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10, learning_rate=0.3)


def ingest(spec: DatasetSpec):
    """The fingerprint task, then ingest keyed on it, as the workflow wires them."""
    return tasks.ingest(dataset=spec, source=tasks.fingerprint(dataset=spec), split_params=SplitParams(), data_as_of=AS_OF)


def frame(table: StructuredDataset) -> pd.DataFrame:
    return table.open(pd.DataFrame).all()


@pytest.fixture
def http_server(tmp_path):
    """A static file server on loopback, serving tmp_path: the http(s) path without the internet."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_fetch_source_leaves_local_sources_in_place(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,y\n1,0\n")
    assert tasks.fetch_source(str(path)) == path
    assert tasks.fetch_source(f"file://{path}") == path


def test_fetch_source_downloads_over_http(tmp_path, http_server):
    (tmp_path / "remote.csv").write_text("a,y\n1,0\n2,1\n")
    local = tasks.fetch_source(f"{http_server}/remote.csv")
    assert local != tmp_path / "remote.csv" and local.read_text() == "a,y\n1,0\n2,1\n"


def test_fetch_source_names_an_unreachable_source(http_server):
    with pytest.raises(DataValidationError, match=r"/absent\.csv: cannot fetch: HTTP 404 Not Found$") as raised:
        tasks.fetch_source(f"{http_server}/absent.csv")
    assert not isinstance(raised.value, Recoverable)  # a missing file stays missing: no retry


def test_fetch_source_marks_a_busy_server_recoverable():
    """Flyte retries a task only for a recoverable error; the core's error stays attached for the CLI."""
    routes = Routes()
    routes.add("/data.csv", (503, b"busy"))
    with answering_server(routes) as base:
        with pytest.raises(Recoverable, match="HTTP 503 Service Unavailable") as raised:
            tasks.fetch_source(f"{base}/data.csv")
    assert isinstance(raised.value.__cause__, SourceUnavailableError)


def test_fetch_source_gives_up_on_a_silent_server_after_the_configured_read_timeout(monkeypatch):
    """A server that accepts and never answers must fail, recoverably, not hang the task."""
    monkeypatch.setattr(config, "FETCH_READ_TIMEOUT_S", 0.3)
    outcome = {}

    def attempt():
        try:
            tasks.fetch_source(f"{base}/data.csv")
        except Exception as exc:  # noqa: BLE001 (inspected below)
            outcome["error"] = exc

    with silent_server() as base:
        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=60)  # generous for a 0.3 s timeout: only a hang reaches it
        assert not worker.is_alive(), "fetch_source hung on a silent server"
    assert isinstance(outcome.get("error"), Recoverable), outcome
    assert "sent nothing for 0.3 s" in str(outcome["error"])


def test_ingest_names_the_path_when_the_disk_is_full(monkeypatch, mixed_csv):
    """Python and pyarrow report ENOSPC without a path; the task adds the directory it was writing."""
    import flyte.core.data.ingest

    def full_disk(path, spec, destination, **_options):
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(flyte.core.data.ingest, "ingest_table", full_disk)
    _, spec = mixed_csv
    with pytest.raises(DiskFullError) as raised:
        ingest(spec)
    where = raised.value.message.removesuffix(": no space left on device")
    assert where != raised.value.message and Path(where).name == "table"
    assert where in raised.value.hint


def test_ingest_task_reads_a_remote_csv(tmp_path, http_server, mixed_csv):
    path, spec = mixed_csv
    spec.source = f"{http_server}/{path.name}"
    table, profile = ingest(spec)
    assert len(frame(table)) == profile.rows == 360
    assert profile.categorical_columns == ["colour", "size"] and profile.sha256 == file_sha256(path)


def test_ingest_task_reports_bad_input_by_file(tmp_path):
    spec = DatasetSpec(source=str(tmp_path / "missing.csv"), target="y")
    with pytest.raises(Exception, match=r"missing\.csv: file not found"):
        ingest(spec)


def test_ingest_output_literal_carries_the_content_hash(tmp_path, mixed_csv):
    """The hash flytekit puts on ingest's table literal (the downstream cache key) is the Parquet bytes' sha256."""
    path, spec = mixed_csv
    result = ingest_table(path, spec, tmp_path / "table")
    ctx = FlyteContextManager.current_context()
    literal = TypeEngine.to_literal(
        ctx, tasks.hashed_table(tmp_path / "table", result.content_sha256), tasks.HashedTable,
        TypeEngine.to_literal_type(tasks.HashedTable),
    )  # fmt: skip
    assert literal.hash == result.content_sha256 == file_sha256(tmp_path / "table" / "part-00000.parquet")


def test_tasks_chain_locally(mixed_csv):
    _, spec = mixed_csv
    table, profile = ingest(spec)
    train, validation, test, summary = tasks.split(table=table, profile=profile, params=SplitParams())
    sizes = [len(frame(train)), len(frame(validation)), len(frame(test))]
    assert sizes == [summary.train, summary.validation, summary.test] and sum(sizes) == 360
    assert summary.rule.method == "row-hash" and sum(map(sum, summary.class_counts.values())) == 360

    model = tasks.fit(train=train, validation=validation, profile=profile, hyperparameters=FAST)
    model_dir = Path(model.download())
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([MANIFEST_FILE, MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE])

    predictions = tasks.predict(model=model, table=test)
    assert len(frame(predictions)) == len(frame(test))

    metrics, report = tasks.score(model=model, test=test, predictions=predictions, profile=profile)
    assert metrics.labels == ["alpha", "beta", "gamma"] and metrics.rows == len(frame(test))
    assert 0.7 < metrics.accuracy <= 1.0
    html = Path(report.download()).read_text()
    assert "Model report" in html and "colour" in html


@pytest.mark.parametrize("raw,message", [
    ({"source": "x.csv", "targte": "y"}, "unknown key 'targte'; did you mean 'target'?"),
    ({"source": "x.csv", "target": "y", "has_header": "false"}, "has_header must be true or false, got 'false'"),
])  # fmt: skip
def test_a_console_or_flyteremote_launch_is_checked_like_the_cli(raw, message):
    """The console and FlyteRemote send a dataclass input as a msgpack literal; the pod decodes it with flytekit."""
    import msgpack
    from flytekit.models.literals import Binary, Literal, Scalar

    literal = Literal(scalar=Scalar(binary=Binary(value=msgpack.dumps(raw), tag="msgpack")))
    with pytest.raises(DataValidationError, match=message):
        TypeEngine.to_python_value(FlyteContextManager.current_context(), literal, DatasetSpec)


@pytest.mark.parametrize("source", ["ftp://example.com/x.csv", "sftp://host/x.csv", "memory://x.csv"])
def test_a_scheme_outside_the_allow_list_is_refused_before_any_read(source):
    with pytest.raises(DataValidationError, match=r"scheme '\w+' is not allowed; allowed: "):
        tasks.check_source_allowed(source)
    with pytest.raises(Exception, match="is not allowed"):
        tasks.fingerprint(dataset=DatasetSpec(source=source, target="y"))


def test_hosts_can_be_restricted_too(monkeypatch):
    monkeypatch.setattr(tasks.config, "ALLOWED_SOURCE_HOSTS", ("data.example.org",))
    tasks.check_source_allowed("https://data.example.org/x.csv")
    tasks.check_source_allowed("/local/x.csv")
    with pytest.raises(DataValidationError, match=r"host '169.254.169.254' is not in ALLOWED_SOURCE_HOSTS"):
        tasks.check_source_allowed("http://169.254.169.254/latest/meta-data")
