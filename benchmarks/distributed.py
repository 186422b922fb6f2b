"""Benchmark: the Dask fit (2 local one-thread workers) against the single-pod fit, time and peak RSS per process.

For each size a seeded synthetic table (benchmarks/synthetic.py) is ingested and split once; then on the same split
  - the single-pod fit (fit.train_model, 2 threads, in memory) runs in a fresh process: wall time and its peak RSS;
  - the distributed fit (distributed_fit.train_distributed) runs on a fresh LocalCluster of 2 worker processes with
    1 thread each and DASK_WORKER's memory limit (what a worker pod gets): wall time, and each worker's peak RSS
    (getrusage in the worker), plus the driver's.
Both fits see the same 2 cores, so no speed-up is expected here: the point is the memory each worker needs.
Sizes that exceed a worker's limit show up as a failed (restarted) worker, which is the "largest table" sweep.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.distributed --rows 1000000 5000000 --json out.json

``--bisect LO HI`` finds the largest table that trains instead: each trial is one Dask-only run of this module in a
fresh process (so a hung or killed cluster costs a timeout, not the search), halving [LO, HI] down to
``--resolution`` rows. A trial fails when the fit raises, a worker is restarted (Dask's nanny kills a worker at 95%
of its memory limit), or it outlives ``--trial-timeout``. ``--worker-mib`` lowers the limit for a cheap run.
``--hyperparameters JSON`` sets fields of ``Hyperparameters`` for both fits (default: its defaults); a fixed number
of rounds bounds a large trial's time without changing what a worker holds per row.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python -m benchmarks.distributed --bisect 500000 4000000 --worker-mib 768
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
model = train_model(parts["train"], parts["validation"], profile, Hyperparameters(**json.loads(sys.argv[2])), n_threads=2)
hwm = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:")]
print(json.dumps({"seconds": time.perf_counter() - started, "best_iteration": model.schema.best_iteration,
                  "peak_rss_mib": int(hwm[0].split()[1]) / 1024}))
"""


def _peak_rss_mib() -> float:
    """This process's own peak resident set size so far, in MiB: VmHWM, the high-water mark of its address space.
    Not ru_maxrss: Linux carries that across fork and exec, so a worker (or the single fit's child) started by a
    driver that had ingested the table would report the driver's peak instead of its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
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


def single_pod(parts, profile, workdir: Path, hyperparameters: dict | None = None) -> dict:
    import pickle

    args = workdir / "single.pickle"
    args.write_bytes(pickle.dumps((parts, profile)))
    argv = [sys.executable, "-c", _SINGLE, str(args), json.dumps(hyperparameters or {})]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def distributed(parts, profile, workdir: Path, workers: int, worker_mib: int | None = None,
                hyperparameters: dict | None = None) -> dict:  # fmt: skip
    from distributed import Client, LocalCluster

    from flyte.core.training.distributed_fit import train_distributed
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.workflows import config

    limit_mib = worker_mib or config.DASK_WORKER.memory_mib
    memory = f"{limit_mib}MiB"
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory, dashboard_address=None,
        local_directory=str(workdir / "dask"),
    ) as cluster, Client(cluster) as client:  # fmt: skip
        started = time.perf_counter()
        params = Hyperparameters(**(hyperparameters or {}))
        model = train_distributed(client, parts["train"], parts["validation"], profile, params)
        seconds = time.perf_counter() - started
        peaks = client.run(_peak_rss_mib)
        restarted = [w for w, info in client.scheduler_info(n_workers=-1)["workers"].items() if w not in peaks]
    return {
        "seconds": seconds, "best_iteration": model.schema.best_iteration,
        "worker_peak_rss_mib": sorted(peaks.values()), "worker_limit_mib": limit_mib,
        "driver_peak_rss_mib": _peak_rss_mib(), "restarted_workers": restarted,
    }  # fmt: skip


def run(sizes: list[int], seed: int, workers: int, single: bool = True, worker_mib: int | None = None,
        hyperparameters: dict | None = None) -> list[dict]:  # fmt: skip
    results = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix=f"dask-bench-{rows}-") as tmp:
            workdir = Path(tmp)
            parts, profile = prepare(rows, seed, workdir)
            result = {"rows": rows, "single": single_pod(parts, profile, workdir, hyperparameters) if single else None}
            try:
                result["distributed"] = distributed(parts, profile, workdir, workers, worker_mib, hyperparameters)
            except Exception as exc:  # a worker past its limit is killed and the fit fails: that is a finding, not a crash
                result["distributed"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log.info("%d rows: %s", rows, json.dumps(result))
            results.append(result)
    return results


def trained(result: dict) -> bool:
    """Whether one size's Dask fit trained within the limit: no error and no worker restarted."""
    d = result["distributed"]
    return "error" not in d and not d["restarted_workers"]


def trial(rows: int, seed: int, workers: int, worker_mib: int | None, timeout_s: float, workdir: Path,
          hyperparameters: dict | None = None) -> dict:  # fmt: skip
    """One bisection step: a Dask-only run of ``rows`` rows in a fresh process; its result row, or an error one."""
    out = workdir / f"trial-{rows}.json"
    argv = [sys.executable, "-m", "benchmarks.distributed", "--dask-only", "--rows", str(rows), "--seed", str(seed),
            "--workers", str(workers), "--json", str(out), "--hyperparameters", json.dumps(hyperparameters or {})]
    argv += ["--worker-mib", str(worker_mib)] if worker_mib else []
    try:
        subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:  # a cluster that lost a worker mid-training can wait forever
        return {"rows": rows, "single": None, "distributed": {"error": f"no result within {timeout_s:.0f} s"}}
    if not out.exists():
        return {"rows": rows, "single": None, "distributed": {"error": "the run wrote no result"}}
    return json.loads(out.read_text())[0]


def bisect(lo: int, hi: int, resolution: int, run_trial) -> tuple[int | None, int | None, list[dict]]:
    """(largest rows that trained, smallest rows that failed, every trial), halving [lo, hi] with ``run_trial(rows)``
    until the two are at most ``resolution`` apart; trial sizes are multiples of ``resolution``. ``lo`` and ``hi``
    are tried first: (None, lo, ...) when even lo fails, (hi, None, ...) when even hi trains."""
    trials = []

    def ok(rows: int) -> bool:
        trials.append(run_trial(rows))
        log.info("bisect: %d rows %s", rows, "trained" if trained(trials[-1]) else "failed")
        return trained(trials[-1])

    if not ok(lo):
        return None, lo, trials
    if ok(hi):
        return hi, None, trials
    while hi - lo > resolution:
        mid = max(lo + resolution, (lo + hi) // 2 // resolution * resolution)
        if mid >= hi:
            break
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo, hi, trials


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
    parser.add_argument("--worker-mib", type=int, help="each worker's memory limit (default: DASK_WORKER's)")
    parser.add_argument("--bisect", type=int, nargs=2, metavar=("LO", "HI"), help="find the largest table that trains")
    parser.add_argument("--resolution", type=int, default=250_000, help="--bisect stops at this many rows apart")
    parser.add_argument("--trial-timeout", type=float, default=1800, help="seconds a --bisect trial may take")
    parser.add_argument("--hyperparameters", type=json.loads, default={}, help="JSON fields of Hyperparameters for both fits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("distributed", "flyte.core"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.bisect:
        with tempfile.TemporaryDirectory(prefix="dask-bisect-") as tmp:
            run_trial = lambda rows: trial(  # noqa: E731
                rows, args.seed, args.workers, args.worker_mib, args.trial_timeout, Path(tmp), args.hyperparameters
            )
            largest, failed, results = bisect(*args.bisect, args.resolution, run_trial)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"largest_trained": largest, "smallest_failed": failed, "trials": results}, indent=2))
        print(table(sorted(results, key=lambda r: r["rows"])))
        trained_text, failed_text = (f"{n:,} rows" if n else "none" for n in (largest, failed))
        print(f"largest table trained: {trained_text}; smallest that failed: {failed_text}"
              f" ({args.workers} workers, {args.worker_mib or 'the default'} MiB each)")  # fmt: skip
        return
    results = run(args.rows, args.seed, args.workers, single=not args.dask_only, worker_mib=args.worker_mib,
                  hyperparameters=args.hyperparameters)  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
