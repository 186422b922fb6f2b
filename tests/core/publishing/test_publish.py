"""Publishing: the fit's files copied verified, the card and the full manifest added, all or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from flyte.core.data.dataset import DatasetSpec
from flyte.core.artifact.drift import REFERENCE_FILE
from flyte.core.common.errors import DataValidationError
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.ingest import ingest_table
from flyte.core.artifact.manifest import MANIFEST_FILE, read_manifest, sha256, write_manifest
from flyte.core.data.leakage import LEAKAGE_FILE
from flyte.core.artifact.model import MODEL_FILE, SCHEMA_FILE, load_model, save_model
from flyte.core.evaluation.predict import predict_table
from flyte.core.publishing.publish import CARD_FILE, CardSettings, publish_model
from flyte.core.artifact.schema import read_schema
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from tests.data_factory import write_mixed_csv

FAST = Hyperparameters(max_rounds=30, early_stopping_rounds=10, learning_rate=0.3)
SETTINGS = CardSettings(replicates=200, seed=3, bins=10)
ENV = {"GIT_COMMIT": "a" * 40, "FLYTE_INTERNAL_IMAGE": "localhost:30000/flyte-xgboost:abc"}


class Trained(NamedTuple):
    spec: DatasetSpec
    split: SplitParams
    hyper: Hyperparameters
    fit_dir: Path
    test: Path
    predictions: Path
    metrics: object
    profile: object
    summary: object


def train(work: Path, rows: int = 360) -> Trained:
    """The core stages as the pipeline runs them, on the mixed three-class CSV."""
    spec = write_mixed_csv(work / "mixed.csv", rows=rows)
    split = SplitParams(seed=3)
    profile = ingest_table(work / "mixed.csv", spec, work / "table", split=split).profile
    parts = {name: work / name for name in PART_NAMES}
    summary = split_table(work / "table", profile, split, parts)
    fit_dir = save_model(train_model(parts["train"], parts["validation"], profile, FAST), work / "fit")
    predict_table(load_model(fit_dir), parts["test"], work / "predictions")
    metrics = evaluate(parts["test"], work / "predictions", read_schema(fit_dir), profile).metrics
    return Trained(spec, split, FAST, fit_dir, parts["test"], work / "predictions", metrics, profile, summary)


def publish(t: Trained, destination: Path, fit_dir: Path | None = None, **kw):
    args = dict(template="Use for $target.", execution_id="proj:dev:abc123", settings=SETTINGS, environ=ENV)
    args.update(kw)
    return publish_model(fit_dir or t.fit_dir, destination, t.test, t.predictions, t.metrics, t.profile,
                         t.spec, t.split, t.hyper, **args)  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train(tmp_path_factory.mktemp("publish"))


def test_published_dir_holds_the_fit_files_the_card_and_every_manifest_field(trained, tmp_path):
    out = publish(trained, tmp_path / "model")
    names = sorted(p.name for p in out.directory.iterdir())
    assert names == sorted([MANIFEST_FILE, MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE, CARD_FILE])
    for name in (MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE):
        assert (out.directory / name).read_bytes() == (trained.fit_dir / name).read_bytes()
    raw = json.loads((out.directory / MANIFEST_FILE).read_text())
    assert raw["files"] == {n: sha256((out.directory / n).read_bytes()) for n in (MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE, LEAKAGE_FILE, CARD_FILE)}
    assert raw["format"] == 1
    assert raw["data"]["source_sha256"] == trained.profile.sha256 and len(raw["data"]["table_sha256"]) == 64
    assert raw["data"]["rows"] == 360 and raw["data"]["class_counts"] == trained.profile.class_counts
    assert raw["data"]["missing"] == trained.profile.missing
    assert raw["dataset"]["source"] == trained.spec.source and raw["dataset"]["categorical_columns"] == ["colour", "size"]
    assert raw["split_params"] == {"test_ratio": 0.33, "validation_ratio": 0.2, "seed": 3, "key_column": ""}
    assert raw["hyperparameters"]["max_rounds"] == 30
    assert raw["best_iteration"] == read_schema(trained.fit_dir).best_iteration
    assert raw["metrics"]["accuracy"] == trained.metrics.accuracy and raw["metrics"]["rows"] == trained.metrics.rows
    prov = raw["provenance"]
    assert prov["git_commit"] == "a" * 40 and prov["git_dirty"] is False
    assert prov["image"] == ENV["FLYTE_INTERNAL_IMAGE"] and prov["execution_id"] == "proj:dev:abc123"
    assert set(prov["libraries"]) == {"flytekit", "xgboost", "pandas", "pyarrow", "numpy"} and all(prov["libraries"].values())
    assert prov["python"].count(".") == 2
    assert load_model(out.directory).schema == load_model(trained.fit_dir).schema
    assert out.card_html == (out.directory / CARD_FILE).read_text()
    assert "Leakage check" in out.card_html and "x1" in out.card_html and "allow_predictive_columns: none" in out.card_html


def test_the_manifest_and_card_record_the_split_rule_and_the_realised_class_shares(trained, tmp_path):
    out = publish(trained, tmp_path / "model", split=trained.summary)
    raw = json.loads((out.directory / MANIFEST_FILE).read_text())["split"]
    assert raw["rule"] == {"method": "row-hash", "hash_version": 1, "seed": 3, "test_ratio": 0.33, "validation_ratio": 0.2, "key_column": ""}
    assert raw["class_counts"] == trained.summary.class_counts and sum(map(sum, raw["class_counts"].values())) == 360
    assert set(raw["class_shares"]) == {"alpha", "beta", "gamma"}
    assert "row-hash v1, seed 3" in out.card_html and f"{raw['class_counts']['beta'][2]} (" in out.card_html
    assert read_manifest(out.directory, [MODEL_FILE]).split == raw
    # Without a summary nothing is recorded, and the card says what the gate will then do.
    bare = publish(trained, tmp_path / "bare")
    assert json.loads((bare.directory / MANIFEST_FILE).read_text())["split"] == {}
    assert "No split rule recorded" in bare.card_html


def test_every_file_the_fit_lists_is_copied_generically(trained, tmp_path):
    """An extra listed file (as batch's reference.json) travels with the model, verified."""
    fit = tmp_path / "fit"
    shutil.copytree(trained.fit_dir, fit)
    (fit / "reference.json").write_text('{"bins": [1, 2]}')
    write_manifest(fit, [MODEL_FILE, SCHEMA_FILE, "reference.json", LEAKAGE_FILE])
    out = publish(trained, tmp_path / "model", fit_dir=fit)
    assert (out.directory / "reference.json").read_text() == '{"bins": [1, 2]}'
    assert "reference.json" in read_manifest(out.directory, [MODEL_FILE]).files
    load_model(out.directory)


@pytest.mark.parametrize("name", [MODEL_FILE, SCHEMA_FILE, "reference.json"])
def test_a_tampered_fit_dir_is_refused_and_nothing_is_written(trained, tmp_path, name):
    fit = tmp_path / "fit"
    shutil.copytree(trained.fit_dir, fit)
    (fit / "reference.json").write_text("{}")
    write_manifest(fit, [MODEL_FILE, SCHEMA_FILE, "reference.json", LEAKAGE_FILE])
    with (fit / name).open("ab") as f:
        f.write(b" ")
    with pytest.raises(DataValidationError, match=f"{name}: sha256 .* does not match"):
        publish(trained, tmp_path / "out" / "model", fit_dir=fit)
    assert list((tmp_path / "out").iterdir()) == []  # no model, no staging left behind


def test_a_failure_after_copying_leaves_nothing(trained, tmp_path, monkeypatch):
    import flyte.core.publishing.publish as publish_module

    def boom(*a, **k):
        raise RuntimeError("card failed")

    monkeypatch.setattr(publish_module, "render_card", boom)
    with pytest.raises(RuntimeError, match="card failed"):
        publish(trained, tmp_path / "out" / "model")
    assert list((tmp_path / "out").iterdir()) == []


def test_metrics_of_other_rows_are_refused(trained, tmp_path):
    import dataclasses

    other = dataclasses.replace(trained.metrics, confusion_matrix=[[1, 0, 0], [0, 1, 0], [0, 0, 1]], rows=3)
    with pytest.raises(DataValidationError, match="not those of the test rows"):
        publish_model(trained.fit_dir, tmp_path / "model", trained.test, trained.predictions, other, trained.profile,
                      trained.spec, trained.split, trained.hyper, "t", "local", SETTINGS, ENV)  # fmt: skip
    assert not (tmp_path / "model").exists()


def test_an_existing_destination_or_a_published_source_is_refused(trained, tmp_path):
    out = publish(trained, tmp_path / "model")
    with pytest.raises(FileExistsError):
        publish(trained, tmp_path / "model")
    with pytest.raises(DataValidationError, match="already holds model_card.html"):
        publish(trained, tmp_path / "again", fit_dir=out.directory)


@pytest.mark.parametrize("name", [CARD_FILE, "reference.json"])
def test_load_model_refuses_a_tampered_published_file(trained, tmp_path, name):
    fit = tmp_path / "fit"
    shutil.copytree(trained.fit_dir, fit)
    (fit / "reference.json").write_text("{}")
    write_manifest(fit, [MODEL_FILE, SCHEMA_FILE, "reference.json", LEAKAGE_FILE])
    out = publish(trained, tmp_path / "model", fit_dir=fit)
    load_model(out.directory)
    path = out.directory / name
    path.write_bytes(path.read_bytes().replace(b"{", b"[", 1) if name != CARD_FILE else path.read_bytes() + b"<!-- -->")
    with pytest.raises(DataValidationError, match=f"{name}: sha256 .* does not match"):
        load_model(out.directory)


def test_replicates_are_bounded_by_the_row_budget():
    s = CardSettings(replicates=1000, row_budget=200_000_000, min_replicates=100)
    assert s.replicates_for(254) == 1000
    assert s.replicates_for(1_000_000) == 200
    assert s.replicates_for(100_000_000) == 100


def test_a_large_test_set_is_streamed_with_analytic_intervals_and_the_card_says_so(trained, tmp_path):
    small = publish(trained, tmp_path / "small")
    large = publish(trained, tmp_path / "large", settings=CardSettings(analytic_rows=1, bins=10))
    assert "percentile bootstrap" in small.card_html and "DeLong" not in small.card_html
    assert "Analytic intervals" in large.card_html and '<td class="ci">DeLong</td>' in large.card_html
    # The same rows, scored the same way: the per-class table and the calibration figure are identical.
    section = lambda html, start, end: html[html.index(start) : html.index(end)]  # noqa: E731
    for start, end in (("Per-class metrics", "Calibration"), ("Calibration", "Feature importance")):
        assert section(small.card_html, start, end) == section(large.card_html, start, end)
    assert large.manifest.metrics == small.manifest.metrics
