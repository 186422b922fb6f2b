"""`make bench`: the pipeline's cost against a plain script, its cached rerun, and each pod's peak memory.

Parts, each selectable with --only (default: stages, cached, startup, wide, memory):

stages   Every workflow stage by stage against its plain script (benchmarks.workflows, benchmarks.stage_report):
         training_pipeline (publish and gate included) and batch_predict at each --sizes, a tuning trial
         and the Dask fit at the smallest; each task's seconds and peak RSS beside the plain stage's, ratios.
timing   At each --sizes (default 1M and 5M rows of benchmarks.synthetic), the plain script
         (benchmarks.plain_script) and a cold `pyflyte run` of training_pipeline (fresh empty HOME, so
         an empty local cache), interleaved, --repeats times each. Reports median wall seconds,
         pipeline/plain, and both accuracies (the same split and hyperparameters: they should agree).
cached   `pyflyte run` on the bundled Pima data once to fill a HOME's cache, then the rerun (median).
startup  `import flytekit`, then each workflow module beyond it, in fresh processes (median of --repeats, at
         least 5; benchmarks.overhead.startup).
overhead Where a cold run's time goes at 1M rows: imports, each stage's core call, flytekit's share
         (benchmarks.overhead), next to the plain script's stage times.
wide     Ingest of a 10,000-column x 1,000-row CSV against a plain typed Arrow read (benchmarks.wide).
wide-train  A cold training_pipeline on a 50,000-column x 200-row Parquet: wall, CPU, peak RSS, stage seconds
         (benchmarks.wide; not in the default parts).
memory   Every task as a pod (benchmarks.memory) at each --memory-rows: peak RSS and seconds per pod
         against the memory limit the task declares; peaks above 70% of it are flagged. With
         --enforce-limits each pod also runs under that limit (benchmarks.pods), so an overrun ends
         as the cluster would end it, in an OOM kill.

Every child runs with OMP_WAIT_POLICY=PASSIVE: on a shared machine XGBoost's OpenMP threads otherwise
spin-wait between rounds and timings swing with the neighbours' load. The report goes to stdout and,
with --json, to a file the figures of docs/scale-and-benchmarks.md can be regenerated from.

    .venv/bin/python -m benchmarks.bench [--only stages|timing|cached|startup|overhead|wide|wide-train|memory] [--sizes 1000000 5000000]
        [--memory-rows 100000 1000000 5000000 10000000] [--repeats 3] [--enforce-limits] [--json bench.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.memory import memory_table, run_memory
from benchmarks.pods import Measured, read_output, run_measured, runtime_bin
from benchmarks.quick import plan
from benchmarks.stage_report import as_json as stage_json
from benchmarks.stage_report import render as render_stages
from benchmarks.workflows import child_env, measure_all
from benchmarks.synthetic import data_dir, dataset_spec, synthetic_csv
from benchmarks.overhead import render_overhead, render_startup, run_overhead, startup
from benchmarks.wide import render_wide, render_wide_train, run_wide, run_wide_train
from tests.flyte_package import REPO, RUN

log = logging.getLogger(__name__)

SEED = 7  # of the synthetic data; the split and model seeds are the pipeline's defaults (7)


def parse_cli_metrics(stdout: str) -> dict[str, float]:
    """The numbers in the `metrics=Metrics(...)` that `pyflyte run` prints (as tests.flyte_package reads them)."""
    text = re.search(r"metrics=Metrics\((.*?)\)", stdout, flags=re.DOTALL)
    if not text:
        raise RuntimeError(f"no metrics in pyflyte output: {stdout[-2000:]}")
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+(?:e-?\d+)?)\b", text[1])}


def run_pipeline(home: Path, name: str, *args: str) -> tuple[Measured, dict[str, float]]:
    argv = [str(runtime_bin() / "pyflyte"), *RUN, *args]
    result = run_measured(name, argv, child_env(home), REPO, home / "logs" / name)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: pyflyte exited {result.returncode}:\n{read_output(result, 'stderr')[-3000:]}")
    return result, parse_cli_metrics(read_output(result))


def run_plain(csv: Path, home: Path, name: str, nthread: int) -> tuple[Measured, dict]:
    out = home / f"{name}.json"
    argv = [sys.executable, "-m", "benchmarks.plain_script", str(csv), "--nthread", str(nthread), "--json", str(out)]
    result = run_measured(name, argv, child_env(home), REPO, home / "logs" / name)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: plain script exited {result.returncode}:\n{read_output(result, 'stderr')[-3000:]}")
    return result, json.loads(out.read_text())


def fit_threads() -> int:
    """The fit task's cpu limit: the pipeline's XGBoost runs that many threads, so the plain script does too."""
    from flyte.workflows.training.tasks import fit

    cpu = str(fit.resources.limits.cpu)  # a Kubernetes quantity: "2" or "1500m"
    return max(1, int(float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)))


def timing(sizes: list[int], repeats: int, workdir: Path) -> list[dict]:
    threads = fit_threads()
    results = []
    for rows in sizes:
        csv = synthetic_csv(rows, SEED)
        runs = {"plain": [], "pipeline": []}
        for rep in range(repeats):
            # Alternate which side goes first, so a neighbour's burst or a warming page cache hits both alike.
            for side in ("plain", "pipeline") if rep % 2 == 0 else ("pipeline", "plain"):
                home = Path(tempfile.mkdtemp(prefix=f"{side}-", dir=workdir))  # fresh and empty: a cold cache
                name = f"{side}-{rows}-{rep}"
                if side == "plain":
                    measured, metrics = run_plain(csv, home, name, threads)
                else:
                    measured, metrics = run_pipeline(home, name, "--dataset", json.dumps(dataset_spec(csv)))
                log.info(
                    "%s: %.1fs, peak RSS %.0f MiB, accuracy %.4f",
                    name,
                    measured.seconds,
                    measured.peak_rss_mib,
                    metrics["accuracy"],
                )
                runs[side].append(
                    {
                        "seconds": measured.seconds,
                        "peak_rss_mib": measured.peak_rss_mib,
                        "accuracy": metrics["accuracy"],
                        "roc_auc": metrics["roc_auc"],
                        "log_loss": metrics["log_loss"],
                    }
                )
                shutil.rmtree(home, ignore_errors=True)
        plain, pipe = (statistics.median(r["seconds"] for r in runs[s]) for s in ("plain", "pipeline"))
        results.append(
            {
                "rows": rows,
                "csv_mb": round(csv.stat().st_size / 1e6, 1),
                "runs": runs,
                "plain_median_s": plain,
                "pipeline_median_s": pipe,
                "ratio": round(pipe / plain, 2),
            }
        )
    return results


def cached(repeats: int, workdir: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="cached-", dir=workdir))
    first, metrics = run_pipeline(home, "cached-warm")
    reruns = [run_pipeline(home, f"cached-rerun-{i}")[0].seconds for i in range(repeats)]
    shutil.rmtree(home, ignore_errors=True)
    return {
        "first_run_s": first.seconds,
        "rerun_s": reruns,
        "rerun_median_s": statistics.median(reruns),
        "accuracy": metrics["accuracy"],
    }


def machine() -> dict:
    import pyarrow
    import xgboost

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "flyte"], cwd=REPO, capture_output=True, text=True
    ).stdout
    commit = (commit or "unknown") + ("-dirty" if dirty else "")  # dirty: flyte/ differs from the commit
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30), 1),
        "python": platform.python_version(),
        "xgboost": xgboost.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def render(report: dict) -> str:
    m = report["machine"]
    out = [
        f"flyte-xgboost benchmark, {m['date']}, commit {m['commit']}",
        f"{m['cpus']} cpus, {m['memory_gib']} GiB, Python {m['python']}, "
        f"xgboost {m['xgboost']}, pyarrow {m['pyarrow']}",
        "",
    ]
    if "stages" in report:
        out += ["Each workflow, stage by stage, against its plain script", render_stages(report["stages"]), ""]
    if "timing" in report:
        out += [
            f"Cold run vs plain script (median of {report['repeats']}, wall seconds)",
            f"{'rows':>11} {'CSV MB':>8} {'plain':>8} {'pipeline':>9} {'ratio':>6}  "
            f"{'acc plain':>9} {'acc pipeline':>12}  {'peak MiB plain':>14} {'pipeline':>8}",
        ]
        for t in report["timing"]:
            acc, rss = (
                [
                    max(r[key] for r in t["runs"][s])
                    if key == "peak_rss_mib"
                    else statistics.median(r[key] for r in t["runs"][s])
                    for s in ("plain", "pipeline")
                ]
                for key in ("accuracy", "peak_rss_mib")
            )
            out.append(
                f"{t['rows']:>11,} {t['csv_mb']:>8} {t['plain_median_s']:>8.1f} {t['pipeline_median_s']:>9.1f} "
                f"{t['ratio']:>5.2f}x  {acc[0]:>9.4f} {acc[1]:>12.4f}  {rss[0]:>14.0f} {rss[1]:>8.0f}"
            )
        out.append("")
    if "cached" in report:
        c = report["cached"]
        out += [
            f"Cached rerun (bundled Pima data): first run {c['first_run_s']:.1f}s, "
            f"rerun median {c['rerun_median_s']:.1f}s "
            f"(runs {', '.join(f'{s:.1f}' for s in c['rerun_s'])})",
            "",
        ]
    if "startup" in report:
        out += [render_startup(report["startup"]), ""]
    if "overhead" in report:
        out += [render_overhead(report["overhead"]), ""]
    if "wide" in report:
        out += [render_wide(report["wide"]), ""]
    if "wide_train" in report:
        out += [render_wide_train(report["wide_train"]), ""]
    if "memory" in report:
        out += [
            "Peak memory per task, each run as its pod (peak RSS of the pod process; limit = declared container limit)",
            memory_table(report["memory"]),
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=["stages", "timing", "cached", "startup", "overhead", "wide", "memory", "wide-train"], action="append",
        help="repeatable; default: stages, cached, startup, wide, memory",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000], help="rows for the timing part")
    parser.add_argument("--memory-rows", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--enforce-limits", action="store_true", help="run each pod under its declared memory limit")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: a new directory under $BENCH_DATA)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    parts = args.only or ["stages", "cached", "startup", "wide", "memory"]
    data_dir().mkdir(parents=True, exist_ok=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="work-", dir=data_dir()))
    workdir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "repeats": args.repeats}
    try:
        if "stages" in parts:
            report["stages"] = stage_json(measure_all(plan(args.sizes), args.repeats, workdir))
        if "timing" in parts:
            report["timing"] = timing(args.sizes, args.repeats, workdir)
        if "cached" in parts:
            report["cached"] = cached(args.repeats, workdir)
        if "startup" in parts:
            report["startup"] = startup(max(5, args.repeats), workdir)
        if "overhead" in parts:
            report["overhead"] = run_overhead(rows=1_000_000)
        if "wide" in parts:
            report["wide"] = run_wide(columns=10_000, rows=1_000, repeats=args.repeats)
        if "wide-train" in parts:
            report["wide_train"] = run_wide_train(columns=50_000, rows=200)
        if "memory" in parts:
            report["memory"] = run_memory(args.memory_rows, SEED, workdir / "memory", enforce=args.enforce_limits)
    finally:  # the scratch space holds Parquet copies of every table: never leave it behind
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        log.info("wrote %s", args.json)


if __name__ == "__main__":
    main()
