"""Where the pipeline's time goes: each stage's core call, the imports, and flytekit's own share of a local run.

One fresh process (its own HOME, so a cold cache) imports flytekit, then the workflow, then runs
training_pipeline in-process on a synthetic CSV with every core call timed. What is left of the run's
wall time once the core calls are taken out is flytekit's part: compiling the workflow, converting
literals, writing the local cache and copying each output to its raw-data location. The plain script's
own stage times (benchmarks.plain_script) are printed beside them, measured in the same run.

    .venv/bin/python -m benchmarks.overhead [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.synthetic import data_dir, synthetic_csv
from tests.flyte_package import REPO, clean_env

log = logging.getLogger(__name__)

#: The core call of each task, by module; the child wraps each with a timer before the run.
STAGES = {
    "ingest": ("flyte.core.data.ingest", "ingest_table"),
    "split": ("flyte.core.data.split", "split_table"),
    "fit": ("flyte.core.training.fit", "train_model"),
    "predict": ("flyte.core.evaluation.predict", "predict_table"),
    "score": ("flyte.core.evaluation.evaluate", "evaluate"),
}

CHILD = """
import importlib, json, sys, time
start = time.perf_counter()
import flytekit  # noqa: F401
t_flytekit = time.perf_counter()
from flyte.workflows.training.pipeline import training_pipeline
from flyte.core.data.dataset import DatasetSpec
t_workflow = time.perf_counter()
stages, spent = json.loads(sys.argv[2]), {}
for stage, (module, name) in stages.items():
    mod = importlib.import_module(module)
    real = getattr(mod, name)
    def timed(*a, _real=real, _stage=stage, **k):
        s = time.perf_counter()
        try:
            return _real(*a, **k)
        finally:
            spent[_stage] = time.perf_counter() - s
    setattr(mod, name, timed)
t_core = time.perf_counter()  # the stage modules (XGBoost among them) are loaded by now
run_start = time.perf_counter()
training_pipeline(dataset=DatasetSpec(source=sys.argv[1], has_header=True, column_names=[], target="y"))
run = time.perf_counter() - run_start
print(json.dumps({"import_flytekit": t_flytekit - start, "import_workflow": t_workflow - t_flytekit,
                  "import_stages": t_core - t_workflow, "stages": spent, "run": run,
                  "flytekit_in_run": run - sum(spent.values()), "total": time.perf_counter() - start}))
"""


def run_overhead(rows: int) -> dict:
    csv = synthetic_csv(rows, 7)
    with tempfile.TemporaryDirectory(dir=data_dir()) as home:
        env = clean_env(Path(home), OMP_WAIT_POLICY="PASSIVE", TMPDIR=home)
        pipeline = subprocess.run(
            [sys.executable, "-c", CHILD, str(csv), json.dumps(STAGES)], cwd=REPO, env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out = Path(home) / "plain.json"
        subprocess.run(
            [sys.executable, "-m", "benchmarks.plain_script", str(csv), "--json", str(out)], cwd=REPO, env=env,
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        plain = json.loads(out.read_text())
    result = json.loads(pipeline.stdout.strip().splitlines()[-1])
    result.update(rows=rows, plain_stages=plain["seconds"])
    return result


def render_overhead(r: dict) -> str:
    plain = r["plain_stages"]
    pairs = [("ingest", "read"), ("split", "split"), ("fit", "fit"), ("predict", "predict"), ("score", "score")]
    lines = [
        f"Where a cold local run's time goes ({r['rows']:,} rows, seconds, one process each)",
        f"  imports: flytekit {r['import_flytekit']:.2f}, workflow {r['import_workflow']:.2f}, "
        f"stage modules (XGBoost) {r['import_stages']:.2f}",
        "  stage      pipeline core   plain script",
    ]
    lines += [f"  {ours:<10} {r['stages'].get(ours, 0):>13.2f}   {plain.get(theirs, 0):>12.2f}" for ours, theirs in pairs]
    lines.append(f"  flytekit's share of the run (compile, literals, cache, output copies): {r['flytekit_in_run']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(render_overhead(run_overhead(args.rows)))


if __name__ == "__main__":
    main()
