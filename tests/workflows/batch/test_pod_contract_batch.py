"""batch_predict's tasks run exactly as pods run them: pyflyte-execute with the serialized arguments, one fresh process each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import pytest
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models.literals import Literal
from flyteidl.core import literals_pb2

from flyte.core.data.dataset import DatasetSpec
from flyte.core.artifact.drift import DriftSummary
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.batch.intake import BatchOptions
from flyte.core.artifact.model import save_model
from flyte.core.evaluation.score import Metrics
from tests.data_factory import MIXED_CATEGORICAL, mixed_frame, split_frame, write_mixed_csv
from tests.flyte_package import local_executor, package, run_as_pods, string_literal

WORKFLOW = "flyte.workflows.batch.pipeline.batch_predict"
IMAGE = "localhost:30000/flyte-xgboost:pod-contract"
TASKS = ["model_fingerprint", "fetch_model", "fingerprint", "check_rows", "predict_rows", "batch_report"]


def literal(value, python_type) -> literals_pb2.Literal:
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()


def python(outputs: literals_pb2.LiteralMap, name: str, python_type):
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(outputs.literals[name]), python_type)


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return package(IMAGE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    work = tmp_path_factory.mktemp("pod-model")
    parts, profile = split_frame(work, mixed_frame(), "label", MIXED_CATEGORICAL)
    return save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=20)), work / "model")


def test_every_batch_task_runs_as_a_pod_with_a_target_and_optional_outputs(tmp_path, pkg, model_dir):
    spec = write_mixed_csv(tmp_path / "rows.csv")
    inputs = {
        "model": literal(str(model_dir), str),
        "dataset": literal(spec, DatasetSpec),
        "options": literal(BatchOptions(passthrough_columns=["size"], export_csv=True), BatchOptions),
    }
    outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, local_executor(tmp_path), inputs=inputs)
    assert sorted(p.name for p in (tmp_path / "pods").iterdir()) == sorted(f"n{i}" for i in range(len(TASKS)))
    assert python(outputs, "metrics", Optional[Metrics]).rows == 360  # an Optional output through a pod
    csv = Path(outputs.literals["csv"].scalar.union.value.scalar.blob.uri)
    assert pd.read_csv(csv)["size"].tolist() == pd.read_csv(tmp_path / "rows.csv")["size"].tolist()
    assert python(outputs, "drift", DriftSummary).rows == 360
    assert Path(outputs.literals["report"].scalar.blob.uri).read_text().startswith("<!doctype html>")
    decks = [d.read_text() for d in tmp_path.glob("pods/**/deck.html")]
    assert len(decks) == 1 and "Batch prediction report" in decks[0] and "Confusion matrix" in decks[0]  # the Deck tab


def test_the_default_launch_plan_runs_as_pods_without_a_target(tmp_path, pkg):
    """The launch plan's defaults alone (the bundled model and rows): metrics and csv come back as None."""
    outputs = run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, local_executor(tmp_path))
    for name in ("metrics", "csv"):
        value = outputs.literals[name]
        assert value.scalar.union.value.scalar.HasField("none_type"), name
    assert python(outputs, "metrics", Optional[Metrics]) is None
    assert python(outputs, "drift", DriftSummary).rows == 100


def test_the_nightly_plan_scores_with_a_registrys_champion_as_pods(tmp_path, pkg):
    """The nightly's model is a registry: its pods follow champion.json to the promoted version and score with it."""
    from datetime import datetime, timezone

    from flyte.core.data.dataset import PIMA_MODEL, local_path
    from flyte.core.registry.registry import Registry
    from flyte.core.registry.names import entry_location
    from flyte.workflows import config
    registry = tmp_path / "registry"
    entry = Registry(entry_location(str(registry), config.NIGHTLY_MODEL_NAME))
    pointer = entry.promote(local_path(PIMA_MODEL), ["test"], datetime(2026, 1, 1, tzinfo=timezone.utc), "")
    inputs = {"model": string_literal(str(registry))}  # the nightly's own default is the sandbox's object store
    outputs = run_as_pods(pkg, WORKFLOW, "batch_predict_nightly", tmp_path, local_executor(tmp_path), inputs=inputs)
    assert python(outputs, "drift", DriftSummary).rows == 100
    found = literals_pb2.LiteralMap()
    found.ParseFromString((tmp_path / "pods" / "n0" / "out" / "outputs.pb").read_bytes())  # model_fingerprint's pod
    assert found.literals["uri"].scalar.primitive.string_value == f"{entry.location}/versions/{pointer.version}"
    assert found.literals["manifest_sha256"].scalar.primitive.string_value == pointer.manifest_sha256
