"""The benchmark's own tools: the synthetic CSV generator and the plain-script baseline it is measured against."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.csv as pacsv
import pytest

from benchmarks.pods import parse_quantity
from benchmarks.synthetic import BLOCK_ROWS, FEATURES, TARGET, dataset_spec, synthetic_csv, write_synthetic_csv
from tests.flyte_package import REPO, clean_env

#: More than two generation blocks and not a multiple of one: the last block is partial.
ROWS = 2 * BLOCK_ROWS + 1234


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return synthetic_csv(ROWS, seed=7, directory=tmp_path_factory.mktemp("bench-data"))


def test_file_has_a_header_and_every_row(generated):
    with open(generated, encoding="utf-8") as fh:
        header = fh.readline().strip().replace('"', "").split(",")
        lines = sum(1 for _ in fh)
    assert header == [*FEATURES, TARGET]
    assert lines == ROWS
    table = pacsv.read_csv(generated)
    assert table.num_rows == ROWS
    assert set(table.column(TARGET).to_pylist()) == {0, 1}
    share = sum(table.column(TARGET).to_pylist()) / ROWS
    assert 0.3 < share < 0.7  # both classes well represented, so a stratified split has rows of each


def test_same_seed_same_bytes_other_seed_other_bytes(generated, tmp_path):
    again = write_synthetic_csv(tmp_path / "again.csv", ROWS, seed=7)
    other = write_synthetic_csv(tmp_path / "other.csv", ROWS, seed=8)
    assert again.read_bytes() == generated.read_bytes()
    assert other.read_bytes() != generated.read_bytes()


def test_cached_file_is_reused_not_rewritten(generated):
    before = generated.stat().st_mtime_ns
    assert synthetic_csv(ROWS, seed=7, directory=generated.parent) == generated
    assert generated.stat().st_mtime_ns == before
    assert not [p for p in generated.parent.iterdir() if p.name.startswith(".")]  # no partial file left behind


def test_dataset_spec_is_what_the_pipeline_reads(generated):
    assert dataset_spec(generated) == {"source": str(generated.resolve()), "has_header": True, "target": "y"}


def test_plain_script_learns_the_synthetic_target(tmp_path):
    csv = synthetic_csv(2000, seed=7, directory=tmp_path)
    out = tmp_path / "metrics.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.plain_script", str(csv), "--json", str(out)],
        cwd=REPO,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(out.read_text())
    assert "accuracy" in proc.stderr  # it logs its metrics
    assert metrics["rows"] == 2000 and metrics["test_rows"] == 660  # 0.33 of the rows, as the pipeline holds out
    assert metrics["accuracy"] > 0.7
    assert metrics["roc_auc"] > 0.8
    # A model that learned nothing would sit at log(2) = 0.693.
    assert metrics["log_loss"] < 0.6


@pytest.mark.parametrize(("text", "expected"), [("2Gi", 2 << 30), ("512Mi", 512 << 20), ("1G", 10**9), ("1500", 1500)])
def test_memory_quantities(text, expected):
    assert parse_quantity(text) == expected


def test_plain_script_times_each_stage_and_cross_validates_a_trial(tmp_path):
    from benchmarks.plain_script import run

    csv = synthetic_csv(2000, seed=7, directory=tmp_path)
    metrics = run(csv, folds=3, hyperparameters={"max_rounds": 20, "max_depth": 6, "learning_rate": 0.3})
    assert list(metrics["seconds"]) == ["read", "split", "trial", "fit", "predict", "score"]
    assert list(metrics["peak_rss_mib"]) == list(metrics["seconds"])
    assert metrics["hyperparameters"]["max_depth"] == 6 and metrics["best_iteration"] < 20
    assert 0 < metrics["cv_log_loss"] < 0.6  # one trial's cross-validated log loss, better than a coin's 0.693
    assert "trial" not in run(csv, hyperparameters={"max_rounds": 5})["seconds"]  # no folds, no trial


def test_the_memory_bench_runs_every_pod_of_the_training_workflow(tmp_path, monkeypatch):
    """`make bench --only memory` on a small table: every task of training_pipeline, gate included, as a pod (the
    registry it passes must be one a pod may write), each with its peak read."""
    from benchmarks.memory import IMAGE, run_size
    from benchmarks.pods import MemoryLimiter
    from tests.flyte_package import package

    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "data"))
    result = run_size(package(IMAGE, tmp_path), 2000, 7, tmp_path / "run", MemoryLimiter.detect())
    assert result["failure"] is None
    assert [p["name"] for p in result["pods"]] == [
        "fingerprint", "ingest", "split", "fit", "predict", "score", "publish", "champion_fingerprint", "judge",
        "promote", "announce",
    ]  # fmt: skip
    assert all(p["returncode"] == 0 and p["peak_rss_mib"] > 0 for p in result["pods"])
    assert result["accuracy"] > 0.6


def test_the_startup_figure_imports_every_workflow_module_in_fresh_processes(tmp_path):
    """`make bench --only startup`: flytekit's import and, beyond it, each workflow module's, from the median of
    fresh processes; a workflow module that fails to import fails the measurement instead of reading as fast."""
    from benchmarks.overhead import WORKFLOW_MODULES, render_startup, startup

    assert set(WORKFLOW_MODULES.values()) == {
        "flyte.workflows.training.pipeline", "flyte.workflows.batch.pipeline", "flyte.workflows.tuning.pipeline",
        "flyte.workflows.distributed.training_pipeline",
    }  # fmt: skip
    result = startup(1, tmp_path)
    assert result["flytekit_s"] > 0 and set(result["beyond_flytekit_s"]) == set(WORKFLOW_MODULES)
    assert all(s > 0 for s in result["beyond_flytekit_s"].values())
    assert "training" in render_startup(result) and "median of 1" in render_startup(result)
    broken = {"training": "flyte.workflows.no_such_module"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("benchmarks.overhead.WORKFLOW_MODULES", broken)
        with pytest.raises(subprocess.CalledProcessError):
            startup(1, tmp_path / "broken")
