"""Benchmark: the Dask fit (2 local one-thread workers) against the single-pod fit, time and peak RSS per process.

For each size a seeded synthetic table (benchmarks/synthetic.py) is ingested and split once; then on the same split
  - the single-pod fit (fit.train_model, 2 threads, in memory) runs in a fresh process: wall time and its peak RSS;
  - the distributed fit (distributed_fit.train_distributed) runs on a fresh LocalCluster of 2 worker processes with
    1 thread each and DASK_WORKER's memory limit (what a worker pod gets): wall time, and each worker's peak RSS
    (getrusage in the worker), plus the driver's.
Both fits see the same 2 cores, so no speed-up is expected here: the point is the memory each worker needs.
Sizes that exceed a worker's limit show up as a failed (restarted) worker, which is the "largest table" sweep.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.distributed --rows 1000000 5000000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import dataset_spec, synthetic_csv

log = logging.getLogger(__name__)

MIB = 1024 * 1024
_SINGLE = """
import json, resource, sys, time
from pathlib import Path
from flyte.core.training.fit import train_model
from flyte.core.data.dataset import DataProfile
from flyte.core.training.hyperparameters import Hyperparameters
import pickle
parts, profile = pickle.loads(Path(sys.argv[1]).read_bytes())
started = time.perf_counter()
model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(), n_threads=2)
print(json.dumps({"seconds": time.perf_counter() - started, "best_iteration": model.schema.best_iteration,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(rows: int, seed: int, workdir: Path):
    """Ingest and split the synthetic table of ``rows`` rows: ({part: directory}, profile)."""
    from flyte.core.data.dataset import DatasetSpec
    from flyte.core.data.ingest import ingest_table
    from flyte.core.data.split import PART_NAMES, SplitParams, split_table

    csv = synthetic_csv(rows, seed)
    spec = DatasetSpec(**dataset_spec(csv))
    profile = ingest_table(csv, spec, workdir / "table").profile
    parts = {name: workdir / name for name in PART_NAMES}
    split_table(workdir / "table", profile, SplitParams(), parts)
    return parts, profile


def single_pod(parts, profile, workdir: Path) -> dict:
    import pickle

    args = workdir / "single.pickle"
    args.write_bytes(pickle.dumps((parts, profile)))
    proc = subprocess.run([sys.executable, "-c", _SINGLE, str(args)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def distributed(parts, profile, workdir: Path, workers: int) -> dict:
    from distributed import Client, LocalCluster

    from flyte.core.training.distributed_fit import train_distributed
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.workflows import config
    memory = f"{config.DASK_WORKER.memory_mib}MiB"
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory, dashboard_address=None,
        local_directory=str(workdir / "dask"),
    ) as cluster, Client(cluster) as client:  # fmt: skip
        started = time.perf_counter()
        model = train_distributed(client, parts["train"], parts["validation"], profile, Hyperparameters())
        seconds = time.perf_counter() - started
        peaks = client.run(_peak_rss_mib)
        restarted = [w for w, info in client.scheduler_info(n_workers=-1)["workers"].items() if w not in peaks]
    return {
        "seconds": seconds, "best_iteration": model.schema.best_iteration,
        "worker_peak_rss_mib": sorted(peaks.values()), "worker_limit_mib": config.DASK_WORKER.memory_mib,
        "driver_peak_rss_mib": _peak_rss_mib(), "restarted_workers": restarted,
    }  # fmt: skip


def run(sizes: list[int], seed: int, workers: int, single: bool = True) -> list[dict]:
    results = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix=f"dask-bench-{rows}-") as tmp:
            workdir = Path(tmp)
            parts, profile = prepare(rows, seed, workdir)
            result = {"rows": rows, "single": single_pod(parts, profile, workdir) if single else None}
            try:
                result["distributed"] = distributed(parts, profile, workdir, workers)
            except Exception as exc:  # a worker past its limit is killed and the fit fails: that is a finding, not a crash
                result["distributed"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log.info("%d rows: %s", rows, json.dumps(result))
            results.append(result)
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| rows | single-pod fit: s, peak RSS MiB | Dask fit (2 workers x 1 thread): s | peak RSS per worker MiB | driver MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s, d = r["single"], r["distributed"]
        single = f"{s['seconds']:.1f} s, {s['peak_rss_mib']:.0f}" if s else "not run"
        if "error" in d:
            lines.append(f"| {r['rows']:,} | {single} | failed: {d['error'][:80]} | | |")
            continue
        workers = " / ".join(f"{m:.0f}" for m in d["worker_peak_rss_mib"])
        restarted = f", {len(d['restarted_workers'])} restarted" if d["restarted_workers"] else ""
        lines.append(
            f"| {r['rows']:,} | {single} | {d['seconds']:.1f} s | {workers} (limit {d['worker_limit_mib']}{restarted}) "
            f"| {d['driver_peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--dask-only", action="store_true", help="skip the single-pod fit (for the largest-table runs)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("distributed", "flyte.core"):
        logging.getLogger(name).setLevel(logging.WARNING)
    results = run(args.rows, args.seed, args.workers, single=not args.dask_only)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
