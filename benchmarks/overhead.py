"""Where the pipeline's time goes: each stage's core call, the imports, and flytekit's own share of a local run.

One fresh process (its own HOME, so a cold task cache) imports flytekit, then the workflow, then runs
training_pipeline in-process on a synthetic CSV with every core call timed. What is left of the run's
wall time once the core calls are taken out is flytekit's part: compiling the workflow, converting
literals, writing the local cache and copying each output to its raw-data location. The plain script's
own stage times (benchmarks.plain_script) are printed beside them, measured in the same run.

Start-up is measured on its own: fresh processes that import flytekit, then one workflow module, each
workflow module --startup-repeats times (median). The pipeline side runs from the runtime venv ($RUN_VENV, as
pods and `make run` do) with the literal-type cache filled (as a second run and every pod of the image find it).

    RUN_VENV=.venv-run .venv/bin/python -m benchmarks.overhead [--rows 1000000] [--startup-repeats 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.pods import runtime_bin
from benchmarks.synthetic import data_dir, synthetic_csv
from benchmarks.workflows import ENTRY, child_env, warm_type_cache
from tests.flyte_package import REPO

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


#: One start-up sample: seconds to import flytekit, then the given workflow module, in a fresh process.
STARTUP_CHILD = """
import importlib, json, sys, time
start = time.perf_counter()
import flytekit  # noqa: F401
t_flytekit = time.perf_counter()
importlib.import_module(sys.argv[1])
print(json.dumps({"flytekit": t_flytekit - start, "workflow": time.perf_counter() - t_flytekit}))
"""

#: The module of each workflow (benchmarks.workflows.ENTRY), as a user's `pyflyte run` and a pod import it.
WORKFLOW_MODULES = {name: file.removesuffix(".py").replace("/", ".") for name, (file, _) in ENTRY.items()}


def startup(repeats: int, workdir: Path) -> dict:
    """Median seconds of ``import flytekit`` and, beyond it, of each workflow module's import, over ``repeats``
    fresh processes each (interleaved, so a slow moment of the machine is shared out)."""
    home = workdir / "startup-home"
    env = child_env(home, warm_type_cache(workdir))
    samples: dict[str, list[dict]] = {name: [] for name in WORKFLOW_MODULES}
    for _ in range(repeats):
        for name, module in WORKFLOW_MODULES.items():
            out = subprocess.run([str(runtime_bin() / "python"), "-c", STARTUP_CHILD, module], cwd=REPO, env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            samples[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    flytekit = statistics.median(s["flytekit"] for runs in samples.values() for s in runs)
    return {"repeats": repeats, "flytekit_s": round(flytekit, 3),
            "beyond_flytekit_s": {n: round(statistics.median(s["workflow"] for s in runs), 3) for n, runs in samples.items()}}  # fmt: skip


def render_startup(r: dict) -> str:
    beyond = ", ".join(f"{name} {s:.2f}" for name, s in r["beyond_flytekit_s"].items())
    return (f"Start-up (median of {r['repeats']} fresh processes each, literal-type cache warm): import flytekit "
            f"{r['flytekit_s']:.2f} s; each workflow module beyond it: {beyond} s (target ~0.3)")


def run_overhead(rows: int) -> dict:
    csv = synthetic_csv(rows, 7)
    with tempfile.TemporaryDirectory(dir=data_dir()) as home:
        env = child_env(Path(home), warm_type_cache(Path(home)))
        pipeline = subprocess.run(
            [str(runtime_bin() / "python"), "-c", CHILD, str(csv), json.dumps(STAGES)], cwd=REPO, env=env,
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
    parser.add_argument("--startup-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(dir=data_dir()) as work:
        print(render_startup(startup(args.startup_repeats, Path(work))))
    print(render_overhead(run_overhead(args.rows)))


if __name__ == "__main__":
    main()
