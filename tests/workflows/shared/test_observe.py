"""What runs print: a line per stage locally (the project CLI) and in pods (pyflyte-execute), cache hits, quiet, the summary."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.flyte_package import REPO, WORKFLOW, clean_env, local_executor, package, run_as_pods, string_literal

TRAINING = ["run", "flyte/workflows/training/pipeline.py", "training_pipeline"]
BATCH = ["run", "flyte/workflows/batch/pipeline.py", "batch_predict"]
TRAINING_STAGES = ["fingerprint", "ingest", "split", "fit", "predict", "score", "publish", "champion_fingerprint", "judge"]
CACHED_STAGES = ["ingest", "split", "fit", "predict", "score", "publish"]
BATCH_STAGES = ["model_fingerprint", "fetch_model", "fingerprint", "check_rows", "predict_rows", "batch_report"]
STAGE_LINE = re.compile(r"^\d\d:\d\d:\d\d (\w+): (started|finished in|cache hit)\b(.*)$")
FINISHED = re.compile(r"^ \d+\.\d s; rows in (\S+), out (\S+) \((cache miss|not cached)\)$")


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m flyte.cli *args` in a fresh process with its own HOME and local directory; must succeed."""
    env = clean_env(home, PIPELINE_LOCAL_DIR=str(home / "local"), **env)
    proc = subprocess.run([sys.executable, "-m", "flyte.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def stage_lines(stderr: str) -> list[tuple[str, str, str]]:
    return [m.groups() for line in stderr.splitlines() if (m := STAGE_LINE.match(line))]


def summary_path(stdout: str, label: str) -> Path:
    found = re.search(rf"^{label}:\s+(/\S+)", stdout, flags=re.MULTILINE)
    assert found, stdout
    return Path(found[1])


def all_lines_short(proc: subprocess.CompletedProcess) -> None:
    longest = max((proc.stdout + proc.stderr).splitlines(), key=len)
    assert len(longest) <= 300, longest


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("observe")


@pytest.fixture(scope="module")
def first_run(home):
    return cli(home, *TRAINING, "--registry", str(home / "registry"))


def test_each_stage_logs_one_start_and_one_end_line_with_rows_seconds_and_cache(first_run):
    lines = stage_lines(first_run.stderr)
    events = Counter((stage, event) for stage, event, _ in lines)
    for stage in [*TRAINING_STAGES, "promote"]:
        assert events[(stage, "started")] == 1 and events[(stage, "finished in")] == 1, (stage, first_run.stderr)
    finished = {stage: FINISHED.match(rest) for stage, event, rest in lines if event == "finished in"}
    assert all(finished.values()), first_run.stderr
    assert finished["ingest"].groups() == ("-", "768", "cache miss")
    split_in, split_out, _ = finished["split"].groups()
    assert split_in == "768" and sum(int(n) for n in split_out.split("+")) == 768
    assert finished["fingerprint"][3] == "not cached"


def test_the_summary_names_what_the_run_made_in_short_lines(first_run):
    out = first_run.stdout
    model, report = summary_path(out, "Model"), summary_path(out, "Report")
    assert (model / "model.ubj").is_file() and report.read_text().startswith("<!doctype html>")
    assert re.search(r"^  rows +accuracy +balanced_accuracy +roc_auc +log_loss +f1$", out, flags=re.MULTILINE), out
    assert re.search(r"^  259 +0\.\d{4} ", out, flags=re.MULTILINE), out
    assert re.search(r"^Gate: +promoted as \S+: ", out, flags=re.MULTILINE), out
    decks = re.findall(r"^  ([^:]+): (/\S+/deck\.html)$", out, flags=re.MULTILINE)
    assert {"Model report", "Model card", "Quality gate"} <= {tabs for tabs, _ in decks} and all(Path(p).is_file() for _, p in decks)
    assert f"Next: python -m flyte.cli run flyte/workflows/batch/pipeline.py batch_predict --model {model} " in out
    assert "TrainingOutputs(" not in out
    all_lines_short(first_run)


def test_a_rerun_shows_one_cache_hit_line_per_cached_stage(first_run, home):
    again = cli(home, *TRAINING, "--registry", str(home / "registry"))
    events = Counter((stage, event) for stage, event, _ in stage_lines(again.stderr))
    for stage in CACHED_STAGES:
        assert events[(stage, "cache hit")] == 1 and not events[(stage, "started")], (stage, again.stderr)
    assert re.search(r"^\d\d:\d\d:\d\d split: cache hit; rows out \d+\+\d+\+\d+$", again.stderr, flags=re.MULTILINE)
    assert summary_path(again.stdout, "Model") == summary_path(first_run.stdout, "Model")
    assert "Decks: none written this run" in again.stdout or "Decks written this run" in again.stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_quiet_silences_the_stage_lines_but_keeps_the_summary(first_run, home, how):
    args, env = (["--quiet", *TRAINING], {}) if how == "flag" else (TRAINING, {"PIPELINE_QUIET": "1"})
    quiet = cli(home, *args, "--registry", str(home / "registry"), **env)
    assert stage_lines(quiet.stderr) == [] and "rows so far" not in quiet.stderr
    assert summary_path(quiet.stdout, "Model") == summary_path(first_run.stdout, "Model")


def test_the_raw_outputs_stay_behind_a_flag(first_run, home):
    raw = cli(home, "--raw-outputs", "--quiet", *TRAINING, "--registry", str(home / "registry"))
    assert raw.stdout.splitlines()[-1].startswith("TrainingOutputs(model=") and "Model:" not in raw.stdout


def test_batch_predict_summary_names_predictions_csv_and_flagged_drift_only(first_run, home):
    model = summary_path(first_run.stdout, "Model")
    run = cli(home, *BATCH, "--model", str(model), "--options", json.dumps({"export_csv": True}))
    events = Counter((stage, event) for stage, event, _ in stage_lines(run.stderr))
    for stage in BATCH_STAGES:
        assert events[(stage, "started")] == 1 and events[(stage, "finished in")] == 1, (stage, run.stderr)
    predictions, csv = summary_path(run.stdout, "Predictions"), summary_path(run.stdout, "CSV")
    assert any(predictions.glob("*.parquet")) and csv.read_text().count("\n") == 101  # a header and the 100 rows
    drift = next(line for line in run.stdout.splitlines() if line.startswith("Drift:"))
    assert re.match(r"Drift: +100 rows against 400 training rows; (no feature past PSI|\d+ of 8 features past PSI)", drift), drift
    assert "uri=None" not in run.stdout and "reference_share" not in run.stdout and "bins=" not in run.stdout
    assert summary_path(run.stdout, "Report").is_file()
    all_lines_short(run)


def test_each_pod_logs_its_stage_once(tmp_path):
    """pyflyte-execute imports the task's module and runs it: the logging is set up there too, each line once."""
    tmp_path.chmod(0o777)
    pkg = package("localhost:30000/flyte-xgboost:observe", tmp_path)
    procs: list[tuple[list[str], subprocess.CompletedProcess]] = []
    run = local_executor(tmp_path)

    def recording(argv, env):
        proc = run(argv, env)
        procs.append((argv, proc))
        return proc

    run_as_pods(pkg, WORKFLOW, WORKFLOW, tmp_path, recording, inputs={"registry": string_literal(str(tmp_path / "registry"))})
    seen = []
    for argv, proc in procs:
        task = argv[argv.index("task-name") + 1] if "task-name" in argv else ""
        lines = stage_lines(proc.stderr)
        events = Counter(event for _, event, _ in lines)
        assert events == Counter({"started": 1, "finished in": 1}), (task, proc.stderr[-2000:])
        assert {stage for stage, _, _ in lines} == {task}, (task, lines)
        seen.append(task)
    assert [s for s in seen if s in TRAINING_STAGES] == TRAINING_STAGES
