"""End-to-end local runs of training_pipeline: results, the local cache, and the accuracy floor."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from benchmarks.seed_baseline import seed_example_accuracy
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.model import load_model
from flyte.core.data.split import SplitParams
from flyte.workflows.training.pipeline import nightly_training_lp, training_pipeline, training_pipeline_lp
from tests.spies import CallCounter

FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10, learning_rate=0.3)
#: The one core function each task calls, by module: tasks import them when they run.
CORE_CALLS = (
    "flyte.core.data.ingest.ingest_table",
    "flyte.core.data.split.split_table",
    "flyte.core.training.fit.train_model",
    "flyte.core.evaluation.predict.predict_table",
    "flyte.core.evaluation.evaluate.evaluate",
)


@pytest.fixture
def registry(tmp_path) -> str:
    """A model registry of the test's own: a run never promotes into the repo."""
    return str(tmp_path / "registry")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One run of the workflow with every default but the registry: the bundled Pima data."""
    return training_pipeline(registry=str(tmp_path_factory.mktemp("registry")))


def test_default_run_beats_the_seed_example(default_run):
    """README's accuracy claim: the default split never falls below the seed example's."""
    baseline = seed_example_accuracy()
    assert baseline == pytest.approx(0.752, abs=0.0005)  # the seed's figure, reproduced here
    assert default_run.metrics.accuracy >= baseline
    # Each row lands in test with probability 0.33 (the seed example's share): 259 of 768 under the default seed.
    assert default_run.metrics.rows == 259
    assert default_run.metrics.roc_auc > 0.8


def test_default_run_outputs(default_run):
    model = load_model(Path(default_run.model.download()))
    assert model.schema.labels == [0, 1] and model.schema.target == "class"
    assert len(model.schema.features) == 8
    assert "ROC curve" in Path(default_run.report.download()).read_text()
    decision = default_run.decision
    assert default_run.outcome == f"promoted: {decision.promoted_version} is the champion: " + "; ".join(decision.reasons)


def test_second_dataset_shape_end_to_end(mixed_csv, registry):
    """String labels, categorical and missing features, three classes: the whole pipeline."""
    _, spec = mixed_csv
    out = training_pipeline(registry=registry, dataset=spec, split_params=SplitParams(seed=3), hyperparameters=FAST)
    assert out.metrics.labels == ["alpha", "beta", "gamma"] and out.metrics.average == "macro"
    assert len(out.metrics.confusion_matrix) == 3
    assert sum(map(sum, out.metrics.confusion_matrix)) == out.metrics.rows
    assert out.metrics.accuracy > 0.7 and out.metrics.roc_auc > 0.85
    schema = load_model(Path(out.model.download())).schema
    assert set(schema.categories) == {"colour", "size"}


def test_second_run_is_served_from_the_local_cache(mixed_csv, registry):
    _, spec = mixed_csv
    calls = CallCounter(CORE_CALLS).start()
    spies = calls.spies
    try:
        first = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
        second = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
    finally:
        calls.stop()
    assert {name: spy.call_count for name, spy in spies.items()} == dict.fromkeys((p.rsplit('.', 1)[1] for p in CORE_CALLS), 1)
    assert second.metrics == first.metrics
    assert second.model.path == first.model.path  # the cached output, not a new model


def test_new_snapshot_time_rereads_data_but_reuses_downstream_results(mixed_csv, registry):
    """A scheduled run re-reads its source; unchanged data hashes the same, so fit is not repeated."""
    path, spec = mixed_csv
    calls = CallCounter(CORE_CALLS).start()
    spies = calls.spies
    try:
        training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, data_as_of=datetime(2026, 1, 1, tzinfo=timezone.utc))
        training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, data_as_of=datetime(2026, 1, 2, tzinfo=timezone.utc))
        assert spies["ingest_table"].call_count == 2 and spies["train_model"].call_count == 1
        path.write_text(path.read_text().replace("alpha", "beta", 5))  # the source changes overnight
        training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST, data_as_of=datetime(2026, 1, 3, tzinfo=timezone.utc))
        assert spies["ingest_table"].call_count == 3 and spies["train_model"].call_count == 2
    finally:
        calls.stop()


def test_launch_plans_are_defined():
    assert training_pipeline_lp.name == "flyte.workflows.training.pipeline.training_pipeline"
    assert nightly_training_lp.name == "training_pipeline_nightly"
    assert nightly_training_lp.schedule.kickoff_time_input_arg == "data_as_of"


def test_an_edited_file_retrains_and_the_same_bytes_elsewhere_hit_the_cache(mixed_csv, registry, tmp_path):
    """Ingest's key is the source's fingerprint: an edit in place is read again with no flag, and a copy of the
    same bytes at another path is served from the cache at every step, ingest included."""
    path, spec = mixed_csv
    calls = CallCounter(CORE_CALLS).start()
    spies = calls.spies
    try:
        first = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
        path.write_text(path.read_text().replace("alpha", "beta", 5))  # edited in place, same path
        edited = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
        assert spies["ingest_table"].call_count == 2 and spies["train_model"].call_count == 2
        assert edited.metrics != first.metrics
        copy = tmp_path / "elsewhere" / "copy.csv"
        copy.parent.mkdir()
        copy.write_bytes(path.read_bytes())
        moved = training_pipeline(registry=registry, dataset=dataclasses.replace(spec, source=str(copy)), hyperparameters=FAST)
        assert {name: spy.call_count for name, spy in spies.items()} == {
            "ingest_table": 2, "split_table": 2, "train_model": 2, "predict_table": 2, "evaluate": 2,
        }  # fmt: skip
        assert moved.metrics == edited.metrics
    finally:
        calls.stop()


# --- the published model directory and reproducing it ---------------------------------------------------------------


def test_the_model_output_is_the_published_directory(default_run):
    import json

    directory = Path(default_run.model.download())
    assert sorted(p.name for p in directory.iterdir()) == ["leakage.json", "manifest.json", "model.ubj", "model_card.html", "reference.json", "schema.json"]
    manifest = json.loads((directory / "manifest.json").read_text())
    assert sorted(manifest) == sorted(["files", "format", "data", "dataset", "split_params", "split", "hyperparameters",
                                       "best_iteration", "metrics", "provenance", "problem_type", "objective"])  # fmt: skip
    assert (manifest["problem_type"], manifest["objective"]) == ("classification", "binary:logistic")
    assert sorted(manifest["files"]) == ["leakage.json", "model.ubj", "model_card.html", "reference.json", "schema.json"]
    assert manifest["data"]["rows"] == 768 and len(manifest["data"]["table_sha256"]) == 64
    assert manifest["dataset"]["source"] == "bundled://pima-indians-diabetes.data.csv"
    assert manifest["metrics"]["accuracy"] == default_run.metrics.accuracy
    assert manifest["provenance"]["execution_id"] == "local"
    assert manifest["best_iteration"] == load_model(directory).schema.best_iteration
    card = (directory / "model_card.html").read_text()
    assert "Model card" in card and "95% intervals" in card and '<td class="ci">percentile bootstrap</td>' in card
    assert "Leakage check" in card and "glucose" in card and "threshold" in card


def test_retraining_from_the_manifest_with_an_empty_cache_gives_the_same_booster(mixed_csv, monkeypatch, tmp_path):
    """Reproducibility as a test: the manifest's recorded inputs, run again with nothing cached, give the same bytes."""
    from diskcache import Cache

    from flyte.core.publishing.reproduce import recorded_inputs
    from flyte.workflows.shared.flytekit_compat import use_local_cache_store

    _, spec = mixed_csv
    registry = str(tmp_path / "registry")  # never the repo's
    first = Path(training_pipeline(registry=registry, dataset=spec, split_params=SplitParams(seed=5), hyperparameters=FAST).model.download())
    recorded = recorded_inputs(first)
    calls = CallCounter(CORE_CALLS).start()
    spies = calls.spies
    try:
        with use_local_cache_store(Cache(str(tmp_path / "empty-cache"))):  # nothing may be served
            again = training_pipeline(
                registry=registry, dataset=recorded.dataset, split_params=recorded.split_params,
                hyperparameters=recorded.hyperparameters,
            )  # fmt: skip
    finally:
        calls.stop()
    assert spies["train_model"].call_count == 1  # really trained again
    second = Path(again.model.download())
    assert second != first
    assert (second / "model.ubj").read_bytes() == (first / "model.ubj").read_bytes()
    assert recorded_inputs(second).manifest.data == recorded.manifest.data  # same data hashes and profile
