"""batch_predict's pods on synthetic rows, each run as its pod runs it, with each pod's peak memory and time.

`python -m benchmarks.batch_memory --rows 100000 1000000`. A model is trained once (core functions, 100k synthetic
rows), then the workflow is packaged and run node by node (tests.flyte_package.run_as_pods) on each size's CSV, with
true labels (so the report task scores) and the CSV export on: the heaviest path. Peaks are RSS as in benchmarks.memory.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.memory import IMAGE, PodMeter, declared_limits, memory_table, to_literal
from benchmarks.pods import MIB, MemoryLimiter
from benchmarks.synthetic import dataset_spec, synthetic_csv
from tests.flyte_package import REPO, package, run_as_pods

WORKFLOW = "flyte.workflows.batch.pipeline.batch_predict"


def train(workdir: Path) -> Path:
    from flyte.core.data.dataset import DatasetSpec
    from flyte.core.training.fit import train_model
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.core.data.ingest import ingest_table
    from flyte.core.artifact.model import save_model
    from flyte.core.data.split import PART_NAMES, SplitParams, split_table

    csv = synthetic_csv(100_000, seed=3)
    spec = DatasetSpec(**dataset_spec(csv))
    result = ingest_table(csv, spec, workdir / "table", split=SplitParams())
    parts = {name: workdir / name for name in PART_NAMES}
    split_table(workdir / "table", result.profile, SplitParams(), parts)
    model = train_model(parts["train"], parts["validation"], result.profile, Hyperparameters(max_rounds=100), n_threads=2)
    return save_model(model, workdir / "model")


def run(sizes: list[int], workdir: Path) -> list[dict]:
    from flyte.core.data.dataset import DatasetSpec
    from flyte.core.batch.intake import BatchOptions

    pkg = package(IMAGE, workdir)
    # Trained in a child process: a pod's peak RSS from wait4 starts at this (forking) process's size, so this
    # process must not load XGBoost or hold a training table.
    (workdir / "train").mkdir()
    subprocess.run([sys.executable, "-m", "benchmarks.batch_memory", "--train-into", str(workdir / "train")], check=True, cwd=REPO)
    model = workdir / "train" / "model"
    declared = declared_limits(pkg)
    results = []
    for rows in sizes:
        csv = synthetic_csv(rows, seed=11)
        meter = PodMeter(workdir / f"rows-{rows}", MemoryLimiter("none"))
        inputs = {
            "model": to_literal(str(model), str),
            "dataset": to_literal(DatasetSpec(**dataset_spec(csv)), DatasetSpec),
            "options": to_literal(BatchOptions(export_csv=True), BatchOptions),
        }
        run_as_pods(pkg, WORKFLOW, WORKFLOW, workdir / f"rows-{rows}", meter, inputs=inputs)
        pods = []
        for pod in meter.pods:
            limit = declared.get(pod.name)
            share = pod.peak_rss_mib * MIB / limit if limit else None
            pods.append({**pod.as_dict(), "declared_limit_mib": round(limit / MIB, 1) if limit else None,
                         "peak_over_limit": round(share, 3) if share else None, "flagged": bool(share and share > 0.7)})  # fmt: skip
        results.append({"rows": rows, "pods": pods, "failure": None, "accuracy": None, "csv_mb": round(csv.stat().st_size / 1e6, 1)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--train-into", type=Path, help=argparse.SUPPRESS)  # the child process that trains the model
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.train_into:
        train(args.train_into)
        return
    workdir = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    try:
        print(memory_table(run(args.rows, workdir)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
