"""The workflow through its command line, as README shows it: defaults, cache, and another CSV."""

from __future__ import annotations

import json
import subprocess

import pytest

from flyte.core.registry.registry import Registry
from flyte.core.registry.names import entry_location
from tests.data_factory import write_mixed_csv
from tests.flyte_package import BIN, REPO, clean_env, pyflyte_run


def test_default_run_prints_metrics_and_report(cli_default_run):
    metrics = cli_default_run.metrics
    assert metrics["rows"] == 259  # each row in test with probability 0.33: 259 of 768 under the default seed
    assert 0.752 <= metrics["accuracy"] <= 1.0
    assert (cli_default_run.model / "model.ubj").is_file()
    html = cli_default_run.report.read_text()
    assert html.startswith("<!doctype html>") and "Confusion matrix" in html
    # The gate's outcome is printed with the other outputs: the first run into an empty registry promotes.
    assert "outcome='promoted: " in cli_default_run.stdout


def test_second_run_is_served_from_the_cache(cli_default_run, cli_home):
    """Same inputs, same HOME: every task hits the local cache, so the outputs point at the first run's files."""
    again = pyflyte_run(cli_home)
    assert again.model == cli_default_run.model
    assert again.report == cli_default_run.report
    assert again.metrics == cli_default_run.metrics
    # The first run promoted into its registry (a temp directory, never the repo); the second, the same model,
    # found it already the champion: one version, the pointer unchanged.
    assert "promote=True" in cli_default_run.stdout and "already the champion" in again.stdout
    registry = Registry(entry_location(str(cli_home / "registry"), "pima-indians-diabetes"))
    assert len(registry.versions()) == 1 and registry.champion().version == registry.versions()[0]


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
        [str(BIN / "pyflyte"), "run", "flyte/workflows/training/pipeline.py", "training_pipeline", "--dataset", json.dumps(spec)],
        cwd=REPO, env=clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "bad.csv: column 'b' holds non-numeric value 'oops' at line 3" in " ".join((proc.stdout + proc.stderr).split())


def run_cli(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "pyflyte"), "run", "flyte/workflows/training/pipeline.py", "training_pipeline", *args],
        cwd=REPO, env=clean_env(home), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--dataset", {"source": "{csv}", "has_header": True, "targte": "label"}, "unknown key 'targte'; did you mean 'target'?"),
        ("--dataset", {"source": "{csv}", "has_header": "false", "target": "label"}, "DatasetSpec.has_header must be true or false, got 'false'"),
        ("--dataset", {"source": "{csv}", "has_header": False, "target": "label"}, "column_names must list the columns when has_header is false"),
        ("--hyperparameters", {"n_estimators": 5}, "Hyperparameters: unknown key 'n_estimators'"),
        ("--split_params", {"test_ratio": 1.5}, "split test_ratio must be between 0 and 1 exclusive, got 1.5"),
    ],
)
def test_inputs_that_used_to_pass_silently_are_refused_before_anything_runs(tmp_path, option, value, message):
    write_mixed_csv(tmp_path / "mixed.csv")
    text = json.dumps(value).replace("{csv}", str(tmp_path / "mixed.csv"))
    proc = run_cli(tmp_path, option, text)
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0 and message in out
    assert "TrainingOutputs" not in out and not list(tmp_path.glob(".flyte/local-cache/*.db"))  # nothing ran, nothing cached


def test_a_stray_class_is_refused_naming_its_line(tmp_path):
    lines = ["a,y"] + [f"{i},{i % 2}" for i in range(60)] + ["60,7", "61,7", "62,7"]
    (tmp_path / "stray.csv").write_text("\n".join(lines) + "\n")
    proc = run_cli(tmp_path, "--dataset", json.dumps({"source": str(tmp_path / "stray.csv"), "target": "y"}))
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0
    assert "class '7' of target column 'y' has 3 row(s), first at line 62" in out and "TrainingOutputs" not in out
