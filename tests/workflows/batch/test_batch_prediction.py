"""End-to-end local runs of batch_predict: outputs, the cache at every step, launch plans and the bundled defaults."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flyte.core.data.dataset import PIMA_COLUMNS, PIMA_MODEL, local_path, pima_new_rows_spec
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.batch.intake import BatchOptions
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.artifact.model import load_model, save_model
from flyte.core.batch.model_source import read_model_files
from flyte.core.evaluation.predict import PREDICTED_COLUMN
from flyte.workflows.batch.pipeline import batch_predict, batch_predict_lp, batch_predict_nightly_lp
from flyte.workflows import config
from tests.data_factory import MIXED_CATEGORICAL, mixed_frame, split_frame, write_mixed_csv
from tests.spies import CallCounter

CORE_CALLS = [
    "flyte.core.batch.model_source.fetch_model", "flyte.core.batch.intake.check_rows_for_model",
    "flyte.core.batch.batch.predict_rows", "flyte.core.batch.batch_report.report_batch",
]  # fmt: skip


def trained(work: Path, max_rounds: int = 30) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    parts, profile = split_frame(work, mixed_frame(), "label", MIXED_CATEGORICAL)
    return save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=max_rounds)), work / "model")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return trained(tmp_path_factory.mktemp("batch-model"))


def test_same_rows_and_model_twice_hit_the_cache_at_every_step_and_another_uri_too(model_dir, tmp_path):
    spec = write_mixed_csv(tmp_path / "rows.csv")
    with CallCounter(CORE_CALLS) as calls:
        first = batch_predict(model=str(model_dir), dataset=spec)
        second = batch_predict(model=str(model_dir), dataset=spec)
        assert calls.counts() == dict.fromkeys(calls.spies, 1)
        elsewhere = Path(shutil.copytree(model_dir, tmp_path / "elsewhere" / "model"))
        third = batch_predict(model=f"file://{elsewhere}", dataset=spec)  # the same manifest at another URI
        assert calls.counts() == dict.fromkeys(calls.spies, 1)
    assert second.metrics == first.metrics == third.metrics and first.metrics.rows == 360


def test_a_changed_model_misses_the_cache(model_dir, tmp_path):
    spec = write_mixed_csv(tmp_path / "rows.csv")
    other = trained(tmp_path / "other", max_rounds=5)
    with CallCounter(CORE_CALLS) as calls:
        batch_predict(model=str(model_dir), dataset=spec)
        batch_predict(model=str(other), dataset=spec)
        assert calls.counts() == dict.fromkeys(calls.spies, 2)


def test_without_a_target_there_are_no_metrics_and_predictions_keep_the_id(model_dir, tmp_path):
    frame = mixed_frame(rows=50, seed=3).drop(columns=["label"])
    frame.insert(0, "row_id", [f"r{i:03d}" for i in range(50)])
    frame.to_csv(tmp_path / "new.csv", index=False)
    spec = pima_new_rows_spec()
    spec = dataclasses.replace(spec, source=str(tmp_path / "new.csv"))
    out = batch_predict(model=str(model_dir), dataset=spec, options=BatchOptions(passthrough_columns=["row_id"], export_csv=True))
    assert out.metrics is None
    predictions = out.predictions.open(pd.DataFrame).all()
    assert predictions["row_id"].tolist() == frame["row_id"].tolist()
    proba = predictions.filter(like="probability_").to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert pd.read_csv(out.csv.download())["row_id"].tolist() == frame["row_id"].tolist()
    assert out.drift.rows == 50


def test_launch_plans_are_defined():
    assert batch_predict_lp.name == "flyte.workflows.batch.pipeline.batch_predict"
    assert batch_predict_nightly_lp.name == "batch_predict_nightly"
    assert batch_predict_nightly_lp.schedule.kickoff_time_input_arg == "data_as_of"
    assert batch_predict_nightly_lp.schedule.cron_schedule.schedule == config.BATCH_NIGHTLY_CRON


def test_the_bundled_model_loads_and_matches_the_pima_schema():
    directory = local_path(PIMA_MODEL)
    model = load_model(directory)
    assert model.schema.target == PIMA_COLUMNS[-1] and model.schema.features == list(PIMA_COLUMNS[:-1])
    assert model.schema.labels == [0, 1] and model.schema.categories == {}
    schema, reference = read_model_files(directory)
    assert list(reference.features) == schema.features and reference.rows > 0
    assert sorted(json.loads((directory / MANIFEST_FILE).read_text())["files"]) == ["leakage.json", "model.ubj", "reference.json", "schema.json"]
    rows = pd.read_csv(local_path(pima_new_rows_spec().source))
    assert list(rows.columns) == ["patient_id", *PIMA_COLUMNS[:-1]] and len(rows) == 100 and rows.patient_id.is_unique


def test_the_defaults_score_the_bundled_rows():
    out = batch_predict()
    predictions = out.predictions.open(pd.DataFrame).all()
    assert len(predictions) == 100 and out.metrics is None and out.csv is None
    assert set(predictions[PREDICTED_COLUMN]) <= {0, 1}
    assert [f.feature for f in out.drift.features] == list(PIMA_COLUMNS[:-1])


def test_docs_snippet_launches_batch_predict_on_a_training_executions_model():
    """The FlyteRemote lines of docs/batch-prediction.md (found through README's links), run against a stand-in
    remote: the model output's URI becomes the model input."""
    from datetime import timedelta

    from tests.docs_pages import one_block

    from flytekit.models.literals import Blob, BlobMetadata, Literal, Scalar
    from flytekit.models.core.types import BlobType

    page, snippet = one_block("python", "batch_predict")
    uri = "s3://my-s3-bucket/metadata/run/model"
    blob = Blob(metadata=BlobMetadata(type=BlobType(format="", dimensionality=BlobType.BlobDimensionality.MULTIPART)), uri=uri)
    calls = []

    class Outputs:
        literals = {"model": Literal(scalar=Scalar(blob=blob))}

    class Remote:
        def fetch_execution(self, name):
            calls.append(("fetch", name))
            return "running"

        def wait(self, execution, timeout=None):
            assert execution == "running" and isinstance(timeout, timedelta)
            return type("Done", (), {"outputs": Outputs()})()

        def fetch_launch_plan(self, name):
            calls.append(("launch plan", name))
            return name

        def execute(self, lp, inputs):
            calls.append(("execute", lp, inputs))

    exec(compile(snippet, page, "exec"), {"remote": Remote(), "timedelta": timedelta})
    assert calls == [("fetch", "<training execution id>"), ("launch plan", batch_predict_lp.name), ("execute", batch_predict_lp.name, {"model": uri})]


def test_the_drift_settings_are_a_workflow_input_that_reaches_the_check():
    """The thresholds travel as the `drift` input, and the summary records the values the check used."""
    from flyte.core.artifact.drift import DriftSettings

    default = batch_predict()
    assert (default.drift.threshold, default.drift.min_rows, default.drift.alpha) == (0.25, 30, 0.01)
    loose = batch_predict(drift=DriftSettings(psi_threshold=0.0, min_rows=1, alpha=0.999))
    assert (loose.drift.threshold, loose.drift.min_rows, loose.drift.alpha) == (0.0, 1, 0.999)
