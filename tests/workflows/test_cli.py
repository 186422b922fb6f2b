"""The workflow through its command line, as README shows it: defaults, cache, and another CSV."""

from __future__ import annotations

import json
import subprocess

from tests.data_factory import write_mixed_csv
from tests.flyte_package import BIN, REPO, clean_env, pyflyte_run


def test_default_run_prints_metrics_and_report(cli_default_run):
    metrics = cli_default_run.metrics
    assert metrics["rows"] == 254
    assert 0.752 <= metrics["accuracy"] <= 1.0
    assert (cli_default_run.model / "model.ubj").is_file()
    html = cli_default_run.report.read_text()
    assert html.startswith("<!doctype html>") and "Confusion matrix" in html


def test_second_run_is_served_from_the_cache(cli_default_run, cli_home):
    """Same inputs, same HOME: every task hits the local cache, so the outputs point at the first run's files."""
    again = pyflyte_run(cli_home)
    assert again.model == cli_default_run.model
    assert again.report == cli_default_run.report
    assert again.metrics == cli_default_run.metrics


def test_another_csv_from_the_command_line(tmp_path):
    write_mixed_csv(tmp_path / "mixed.csv")
    spec = {"source": str(tmp_path / "mixed.csv"), "has_header": True, "target": "label", "categorical_columns": ["colour", "size"]}
    run = pyflyte_run(tmp_path, "--dataset", json.dumps(spec), "--hyperparameters", json.dumps({"max_depth": 3}))
    assert "labels=['alpha', 'beta', 'gamma']" in run.stdout and "average='macro'" in run.stdout
    assert run.metrics["accuracy"] > 0.7


def test_bad_input_fails_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,y\n1,2,0\n3,oops,1\n")
    spec = {"source": str(bad), "has_header": True, "target": "y"}
    proc = subprocess.run(
        [str(BIN / "pyflyte"), "run", "flyte/workflows/training.py", "training_pipeline", "--dataset", json.dumps(spec)],
        cwd=REPO, env=clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "bad.csv: column 'b' holds non-numeric value 'oops' at line 3" in " ".join((proc.stdout + proc.stderr).split())
