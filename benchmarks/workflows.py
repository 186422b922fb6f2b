"""Every workflow run through `pyflyte run`, stage by stage, interleaved with its plain script, in one process tree.

For each workflow and size, the two sides alternate (A B, then B A, ...) ``repeats`` times, each in a fresh
process with an empty HOME (so a cold local cache) and OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep
instead of spinning, so neither side's timing swings with the neighbours' load):

training  training_pipeline, publish and gate included          vs benchmarks.plain_script
batch     batch_predict with labels and the CSV export           vs benchmarks.plain_batch
tuning    tuning_pipeline with one trial (``TUNING_FOLDS`` folds) vs benchmarks.plain_script --folds
dask      training_pipeline_distributed (a local Dask cluster)   vs benchmarks.plain_script

The pipeline side is benchmarks.stage_timer (pyflyte run with each task timed and its peak RSS read), run from the
runtime venv ($RUN_VENV, set by the Makefile: the image's packages, as `make run` uses) with the literal-type cache
filled once beforehand, as a user's second run and every pod of the image find it; the plain side times its own
stages. Both processes' wall time and peak RSS (os.wait4) come from benchmarks.pods.
Hyperparameters are equal on both sides (``HYPERPARAMETERS``) and the fit threads match the fit task's cpu limit.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.pods import read_output, run_measured, runtime_bin
from benchmarks.synthetic import dataset_spec, synthetic_csv
from tests.flyte_package import REPO, clean_env

log = logging.getLogger(__name__)

#: Both sides train with these (the rest of Hyperparameters keeps its defaults): 100 rounds, depth 6, eta 0.3,
#: early stopping after 50 rounds without gain on the validation rows.
HYPERPARAMETERS = {"max_rounds": 100, "max_depth": 6, "learning_rate": 0.3, "early_stopping_rounds": 50}
#: Folds of the one tuning trial on both sides (the search's default).
TUNING_FOLDS = 5
DATA_SEED = 7  # of the training tables; batch rows are drawn with another seed, as new rows would be
BATCH_SEED = 11
FIT_THREADS = 2  # the fit task's cpu limit (the TRAIN preset); benchmarks.bench checks it against the task

ENTRY = {
    "training": ("flyte/workflows/training/pipeline.py", "training_pipeline"),
    "batch": ("flyte/workflows/batch/pipeline.py", "batch_predict"),
    "tuning": ("flyte/workflows/tuning/pipeline.py", "tuning_pipeline"),
    "dask": ("flyte/workflows/distributed/training_pipeline.py", "training_pipeline_distributed"),
}


def child_env(home: Path, type_cache: Path | None = None) -> dict[str, str]:
    """A fresh process's environment: its own HOME and TMPDIR (flytekit's local outputs land there), and the
    literal-type cache ``type_cache`` (flyte/workflows/shared/literal_type_cache.py) when given."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    extra = {"PIPELINE_TYPE_CACHE": str(type_cache)} if type_cache else {}
    return clean_env(home, OMP_WAIT_POLICY="PASSIVE", TMPDIR=str(home / "tmp"), **extra)


def warm_type_cache(workdir: Path) -> Path:
    """A literal-type cache filled once by `python -m flyte.workflows` (as the image is built), for all pipeline runs
    to share.

    A user's second run, and every pod of the image (which is built with the cache filled), finds the interface
    types there, as it finds the .pyc files; the first run ever pays about 0.7 s to build them. The task cache
    stays empty for every measured run: each has a fresh HOME."""
    cache = workdir / "literal-types"
    subprocess.run([str(runtime_bin() / "python"), "-m", "flyte.workflows"], cwd=REPO, check=True,
                   env=child_env(workdir / "warm-home", cache), stdout=subprocess.DEVNULL)  # fmt: skip
    return cache


def pipeline_args(workflow: str, csv: Path, home: Path, model: Path | None) -> list[str]:
    """pyflyte's arguments for one cold run of ``workflow`` on ``csv``."""
    file, name = ENTRY[workflow]
    args = ["run", file, name, "--dataset", json.dumps(dataset_spec(csv))]
    if workflow == "batch":
        return [*args, "--model", str(model), "--options", json.dumps({"export_csv": True})]
    args += ["--hyperparameters", json.dumps(HYPERPARAMETERS), "--registry", str(home / "registry")]
    if workflow == "tuning":
        args += ["--search", json.dumps({"trials": 1, "folds": TUNING_FOLDS})]
    return args


def plain_args(workflow: str, csv: Path, home: Path, model: Path | None, out: Path) -> list[str]:
    """The plain script's command line for the same work."""
    if workflow == "batch":
        return [sys.executable, "-m", "benchmarks.plain_batch", str(model), str(csv), str(home / "predictions.csv"),
                "--nthread", str(FIT_THREADS), "--json", str(out)]  # fmt: skip
    argv = [sys.executable, "-m", "benchmarks.plain_script", str(csv), "--nthread", str(FIT_THREADS),
            "--hyperparameters", json.dumps(HYPERPARAMETERS), "--json", str(out)]  # fmt: skip
    return [*argv, "--folds", str(TUNING_FOLDS)] if workflow == "tuning" else argv


def _failed(name: str, result, what: str) -> RuntimeError:
    return RuntimeError(f"{name}: {what} exited {result.returncode}:\n{read_output(result, 'stderr')[-3000:]}")


def run_pipeline(workflow: str, csv: Path, home: Path, name: str, model: Path | None, type_cache: Path | None = None) -> dict:
    out = home / "tasks.json"
    argv = [str(runtime_bin() / "python"), "-m", "benchmarks.stage_timer", str(out), *pipeline_args(workflow, csv, home, model)]
    result = run_measured(name, argv, child_env(home, type_cache), REPO, home / "logs")
    if result.returncode != 0:
        raise _failed(name, result, "pyflyte run")
    tasks = json.loads(out.read_text())["tasks"]
    return {"wall_s": result.seconds, "peak_rss_mib": result.peak_rss_mib, "tasks": tasks}


def run_plain(workflow: str, csv: Path, home: Path, name: str, model: Path | None) -> dict:
    out = home / "plain.json"
    result = run_measured(name, plain_args(workflow, csv, home, model, out), child_env(home), REPO, home / "logs")
    if result.returncode != 0:
        raise _failed(name, result, "plain script")
    metrics = json.loads(out.read_text())
    return {"wall_s": result.seconds, "peak_rss_mib": result.peak_rss_mib, "stages": metrics["seconds"],
            "stage_peak_rss_mib": metrics["peak_rss_mib"], "accuracy": metrics.get("accuracy")}  # fmt: skip


def batch_model(workdir: Path) -> Path:
    """A model directory to score with: trained by the core functions in a child process (benchmarks.batch_memory)."""
    target = workdir / "batch-model"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "benchmarks.batch_memory", "--train-into", str(target)], cwd=REPO, check=True,
        env=child_env(target), capture_output=True,
    )  # fmt: skip
    return target / "model"


def measure(workflow: str, rows: int, repeats: int, workdir: Path, model: Path | None = None,
            type_cache: Path | None = None) -> dict:  # fmt: skip
    """Both sides of one workflow at one size, interleaved, ``repeats`` times each."""
    csv = synthetic_csv(rows, BATCH_SEED if workflow == "batch" else DATA_SEED)
    runs: dict[str, list[dict]] = {"pipeline": [], "plain": []}
    for rep in range(repeats):
        # Alternate which side goes first, so a neighbour's burst or a warming page cache hits both alike.
        for side in ("plain", "pipeline") if rep % 2 == 0 else ("pipeline", "plain"):
            home = Path(tempfile.mkdtemp(prefix=f"{workflow}-{side}-", dir=workdir))  # fresh: a cold cache
            name = f"{workflow}-{side}-{rows}-{rep}"
            try:
                if side == "plain":
                    run = run_plain(workflow, csv, home, name, model)
                else:
                    run = run_pipeline(workflow, csv, home, name, model, type_cache)
            finally:
                shutil.rmtree(home, ignore_errors=True)
            log.info("%s: %.1fs, peak RSS %.0f MiB", name, run["wall_s"], run["peak_rss_mib"])
            runs[side].append(run)
    file, entry = ENTRY[workflow]
    return {"workflow": workflow, "entry": entry, "rows": rows, "repeats": repeats,
            "pipeline_runs": runs["pipeline"], "plain_runs": runs["plain"]}  # fmt: skip


def measure_all(plan: list[tuple[str, int]], repeats: int, workdir: Path) -> list[dict]:
    """Every (workflow, rows) of ``plan``, in order; the batch model is trained once, if any batch is planned."""
    model = batch_model(workdir) if any(w == "batch" for w, _ in plan) else None
    type_cache = warm_type_cache(workdir)
    return [measure(workflow, rows, repeats, workdir, model, type_cache) for workflow, rows in plan]
