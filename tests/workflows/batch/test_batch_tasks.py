"""Tests for flyte.workflows.batch.tasks: the model's fingerprint and fetch (local, http, refusals), each task locally."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flytekit.exceptions.user import FlyteRecoverableException

from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.batch.intake import BatchOptions
from flyte.core.artifact.manifest import MANIFEST_FILE, sha256
from flyte.core.artifact.model import save_model
from flyte.workflows.batch import tasks as batch_tasks
from flyte.workflows.training import tasks
from tests.data_factory import MIXED_CATEGORICAL, mixed_frame, split_frame, write_mixed_csv
from tests.http_servers import Routes, answering_server

AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model directory as fit writes it (three classes, two categorical features), never modified: copy it first."""
    work = tmp_path_factory.mktemp("batch-model")
    parts, profile = split_frame(work, mixed_frame(), "label", MIXED_CATEGORICAL)
    model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=30))
    return save_model(model, work / "model")


def serve(routes: Routes, directory: Path, prefix: str = "/model") -> None:
    for p in directory.iterdir():
        routes.add(f"{prefix}/{p.name}", (200, p.read_bytes()))


def test_fingerprint_reads_only_the_manifest_and_fetch_checks_every_file_over_http(model_dir):
    routes = Routes()
    serve(routes, model_dir)
    with answering_server(routes) as base:
        found = batch_tasks.model_fingerprint(model=f"{base}/model")
        assert found.manifest_sha256 == sha256((model_dir / MANIFEST_FILE).read_bytes())
        assert {p: r.hits for p, r in routes.by_path.items() if r.hits} == {f"/model/{MANIFEST_FILE}": 1}
        fetched = Path(batch_tasks.fetch_model(model=found.uri, manifest_sha256=found.manifest_sha256).download())
    assert sorted(p.name for p in fetched.iterdir()) == sorted(p.name for p in model_dir.iterdir())
    assert all(r.hits >= 1 for r in routes.by_path.values())


def test_a_file_that_does_not_match_its_digest_is_refused(model_dir):
    routes = Routes()
    serve(routes, model_dir)
    routes.add(f"/model/{REFERENCE_FILE}", (200, b"{}"))
    with answering_server(routes) as base:
        found = batch_tasks.model_fingerprint(model=f"{base}/model")
        with pytest.raises(DataValidationError, match=f"{REFERENCE_FILE}: sha256 .* does not match"):
            batch_tasks.fetch_model(model=found.uri, manifest_sha256=found.manifest_sha256)


def test_a_busy_server_is_recoverable_and_a_missing_model_is_not(model_dir):
    routes = Routes()
    routes.add(f"/busy/{MANIFEST_FILE}", (503, b"busy"))
    with answering_server(routes) as base:
        with pytest.raises(FlyteRecoverableException, match="503"):
            batch_tasks.model_fingerprint(model=f"{base}/busy")
        with pytest.raises(DataValidationError, match="404"):
            batch_tasks.model_fingerprint(model=f"{base}/nothing")


def test_a_model_without_a_drift_reference_is_refused_with_a_hint_to_refit(model_dir, tmp_path):
    old = Path(shutil.copytree(model_dir, tmp_path / "old"))
    (old / REFERENCE_FILE).unlink()
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    del manifest["files"][REFERENCE_FILE]
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(DataValidationError, match="does not hold reference.json") as info:
        batch_tasks.model_fingerprint(model=str(old))
    assert "fit the model again" in info.value.hint
    with pytest.raises(DataValidationError, match="manifest.json: file not found"):
        batch_tasks.model_fingerprint(model=str(tmp_path / "nowhere"))


def test_a_model_changed_after_its_fingerprint_is_refused(model_dir, tmp_path):
    copy = Path(shutil.copytree(model_dir, tmp_path / "m"))
    found = batch_tasks.model_fingerprint(model=f"file://{copy}")
    (copy / MANIFEST_FILE).write_text((copy / MANIFEST_FILE).read_text() + " ")
    with pytest.raises(DataValidationError, match="changed while this run was reading it"):
        batch_tasks.fetch_model(model=found.uri, manifest_sha256=found.manifest_sha256)
    assert not list((tmp_path).glob("**/.model-*"))


def test_a_scheme_outside_the_allow_list_is_refused():
    with pytest.raises(DataValidationError, match="scheme 'ftp' is not allowed"):
        batch_tasks.model_fingerprint(model="ftp://host/model")


def test_tasks_chain_with_a_target_and_without(model_dir, tmp_path):
    spec = write_mixed_csv(tmp_path / "rows.csv")
    found = batch_tasks.model_fingerprint(model=str(model_dir))
    model = batch_tasks.fetch_model(model=found.uri, manifest_sha256=found.manifest_sha256)
    options = BatchOptions(passthrough_columns=["x2"], export_csv=True)
    checked = batch_tasks.check_rows(dataset=spec, source=tasks.fingerprint(dataset=spec), model=model, options=options, data_as_of=AS_OF)
    assert checked.checks.rows == 360 and checked.checks.has_target and checked.drift.rows == 360
    predicted = batch_tasks.predict_rows(model=model, table=checked.table, options=options)
    out = predicted.predictions.open(__import__("pandas").DataFrame).all()
    assert list(out.columns[:2]) == ["x2", "predicted_label"] and len(out) == 360
    assert Path(predicted.csv.download()).read_text().splitlines()[0].startswith('"x2","predicted_label"')
    reported = batch_tasks.batch_report(model=model, table=checked.table, predictions=predicted.predictions,
                                        checks=checked.checks, drift=checked.drift)  # fmt: skip
    assert reported.metrics.rows == 360 and reported.metrics.accuracy > 0.7
    assert "Confusion matrix" in Path(reported.report.download()).read_text()

    unlabelled = write_mixed_csv(tmp_path / "unlabelled.csv")
    unlabelled.target = ""
    checked = batch_tasks.check_rows(dataset=unlabelled, source=tasks.fingerprint(dataset=unlabelled), model=model,
                                     options=BatchOptions(), data_as_of=AS_OF)  # fmt: skip
    assert not checked.checks.has_target and checked.checks.extra_columns == ["label"]
    predicted = batch_tasks.predict_rows(model=model, table=checked.table, options=BatchOptions())
    assert predicted.csv is None
    reported = batch_tasks.batch_report(model=model, table=checked.table, predictions=predicted.predictions,
                                        checks=checked.checks, drift=checked.drift)  # fmt: skip
    html = Path(reported.report.download()).read_text()
    assert reported.metrics is None and "Drift against the training rows" in html and "Confusion matrix" not in html


def test_a_registry_and_a_model_name_mean_that_names_champion_and_its_pointer_is_held_to(model_dir, tmp_path):
    """batch_predict's model may be a registry with a model name (the nightly's is): the fingerprint follows the
    name's champion.json to the version it names, and refuses a version whose manifest is not the one the pointer
    recorded. The name's entry itself (<registry>/<name>) means the same without a name."""
    import json
    from datetime import datetime, timezone

    from flyte.core.registry.registry import POINTER, Registry
    from flyte.core.registry.names import entry_location

    registry = tmp_path / "registry"
    entry = Registry(entry_location(str(registry), "churned"))
    pointer = entry.promote(model_dir, ["test"], datetime(2026, 1, 1, tzinfo=timezone.utc), expected_champion="")
    found = batch_tasks.model_fingerprint(model=str(registry), model_name="churned")
    assert found.uri == f"{registry}/churned/versions/{pointer.version}"
    assert found.manifest_sha256 == pointer.manifest_sha256 == sha256((model_dir / MANIFEST_FILE).read_bytes())
    assert batch_tasks.model_fingerprint(model=entry.location) == found
    fetched = Path(batch_tasks.fetch_model(model=found.uri, manifest_sha256=found.manifest_sha256).download())
    assert sorted(p.name for p in fetched.iterdir()) == sorted(p.name for p in model_dir.iterdir())
    with pytest.raises(DataValidationError, match="no champion for the model name 'pima'"):
        batch_tasks.model_fingerprint(model=str(registry), model_name="pima")

    raw = json.loads((registry / "churned" / POINTER).read_text())
    (registry / "churned" / POINTER).write_text(json.dumps({**raw, "manifest_sha256": "0" * 64}))
    with pytest.raises(DataValidationError, match="is not the 000000000000... its registry's champion pointer names"):
        batch_tasks.model_fingerprint(model=str(registry), model_name="churned")
