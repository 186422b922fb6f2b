"""batch_predict through its command line, as docs/batch-prediction.md shows it, on a model `pyflyte run` trained in the same test."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from flyte.core.artifact.model import load_model
from flyte.core.evaluation.predict import predict_table
from flyte.core.data.tables import TableWriter
from tests.data_factory import mixed_frame, read_frame, write_mixed_csv
from tests.flyte_package import BIN, REPO, clean_env, pyflyte_run

BATCH = ["run", "flyte/workflows/batch/pipeline.py", "batch_predict"]


def batch_run(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "pyflyte"), *BATCH, *args], cwd=REPO, env=clean_env(home), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model trained by `pyflyte run training_pipeline` on the mixed data, and that run's HOME."""
    home = tmp_path_factory.mktemp("batch-cli")
    spec = write_mixed_csv(home / "train.csv")
    run = pyflyte_run(home, "--dataset", json.dumps({"source": spec.source, "target": "label", "categorical_columns": spec.categorical_columns}),
                      "--hyperparameters", json.dumps({"max_rounds": 40}))  # fmt: skip
    return run.model, home


def expected_predictions(model: Path, rows: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """What predict_table gives for ``rows`` (typed as the readers type them: numbers float, categories text)."""
    table = pa.Table.from_pandas(rows[["x1", "x2", "colour", "size"]].astype({"x1": float, "x2": float}), preserve_index=False)
    with TableWriter(tmp_path / "expected-in", table.schema) as writer:
        writer.write(table.combine_chunks().to_batches()[0])
        writer.commit()
    predict_table(load_model(model), tmp_path / "expected-in", tmp_path / "expected")
    return read_frame(tmp_path / "expected")


def test_rows_without_a_target_get_predictions_with_their_id_in_order_and_a_csv(trained, tmp_path):
    model, home = trained
    rows = mixed_frame(rows=80, seed=5).drop(columns=["label"])
    rows.insert(0, "patient_id", [f"P{i:04d}" for i in range(80)][::-1])  # not sorted: order must follow the file
    rows.to_csv(tmp_path / "new.csv", index=False)
    options = {"passthrough_columns": ["patient_id"], "export_csv": True}
    proc = batch_run(home, "--model", str(model), "--dataset", json.dumps({"source": str(tmp_path / "new.csv")}), "--options", json.dumps(options))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "metrics=None" in proc.stdout and "flagged=" in proc.stdout
    csv = Path(re.search(r"csv=(\S+?)\)\s*$", proc.stdout.strip())[1])
    predictions = read_frame(csv.parent / "predictions")  # the Parquet table beside the CSV, in the task's directory
    assert predictions["patient_id"].tolist() == rows["patient_id"].tolist()
    proba = predictions.filter(like="probability_")
    assert list(proba.columns) == ["probability_alpha", "probability_beta", "probability_gamma"]
    np.testing.assert_allclose(proba.to_numpy().sum(axis=1), 1.0)
    expected = expected_predictions(model, rows, tmp_path)
    pd.testing.assert_frame_equal(predictions.drop(columns=["patient_id"]), expected)
    exported = pd.read_csv(csv)
    assert exported["patient_id"].tolist() == rows["patient_id"].tolist()
    assert exported["predicted_label"].tolist() == expected["predicted_label"].tolist()
    report = Path(re.search(r"report=(\S+?),", proc.stdout)[1]).read_text()
    assert "Batch prediction report" in report and "Confusion matrix" not in report


def test_rows_with_a_target_are_scored(trained, tmp_path):
    model, home = trained
    spec = write_mixed_csv(tmp_path / "labelled.csv", rows=120, seed=9)
    dataset = {"source": spec.source, "target": "label"}
    proc = batch_run(home, "--model", f"file://{model}", "--dataset", json.dumps(dataset))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = re.search(r"metrics=Metrics\((.*?)\)", proc.stdout, flags=re.DOTALL)
    assert metrics and "rows=120" in metrics[1] and "csv=None" in proc.stdout
    accuracy = float(re.search(r"accuracy=([\d.]+)", metrics[1])[1])
    assert accuracy > 0.7
    report = Path(re.search(r"report=(\S+?),", proc.stdout)[1]).read_text()
    assert "Confusion matrix" in report and "Drift against the training rows" in report


def test_a_missing_feature_fails_naming_it(trained, tmp_path):
    model, home = trained
    mixed_frame(rows=20).drop(columns=["x2", "label"]).to_csv(tmp_path / "short.csv", index=False)
    proc = batch_run(home, "--model", str(model), "--dataset", json.dumps({"source": str(tmp_path / "short.csv")}))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0 and "lacks feature column(s) ['x2'] that the model was trained on" in out
