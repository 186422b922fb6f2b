"""`make bench-large`: 100M rows x 8 features (about 6-7 GB of CSV), every task as a pod, the fit pod held to 4 GiB.

Not for CI: generating the file takes minutes and ~7 GB of disk under $BENCH_DATA (default
/tmp/flyte-bench, reused on later runs), and the pods write several times that in Parquet under the
work directory, deleted afterwards unless --keep.

What it does, in order:
1. benchmarks.synthetic writes (or reuses) synthetic-100000000-seed7.csv.
2. The workflow is packaged with `pyflyte package` and each node runs as a pod would
   (tests.flyte_package.run_as_pods with the ``dataset`` input overridden), one child process each.
3. The fit pod runs under a hard 4 GiB memory limit (--fit-memory). The mechanism is the first that
   works here (benchmarks.pods.MemoryLimiter): `systemd-run --scope -p MemoryMax=4G` where systemd is
   init; else a cgroup v2 directory with memory.max; else a cgroup v1 directory with
   memory.limit_in_bytes. On the Firecracker VM this was written on, systemd is not PID 1 and the v2
   hierarchy has no memory controller, so it is cgroup v1: a child directory of this process's own
   memory cgroup, the pod's pid written to cgroup.procs before it execs; going over the limit ends
   in the kernel's OOM kill (exit 137), as a pod is OOMKilled. Where none works, the pod runs
   unlimited and its peak RSS is reported against 4 GiB. The report says which mechanism was used.
4. The other pods run unlimited by their declared limits (their peaks are reported against them) but
   under a safety cap (--safety-share of this machine's memory): the machine is shared, and a runaway
   ingest must be killed rather than push the neighbours into swapless OOM.
5. At this size the fit must stream from disk: the run passes ``external_memory="always"``, with the
   hyperparameters every other benchmark fixes (benchmarks.workflows.HYPERPARAMETERS: at most 100 rounds),
   so the fit's time is bounded; the defaults' up to 2,000 rounds would run it for hours. --hyperparameters
   sets others (JSON, fields of ``Hyperparameters``).

    .venv/bin/python -m benchmarks.large [--rows 100000000] [--fit-memory 4Gi] [--hyperparameters JSON]
        [--json bench-large.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from benchmarks.bench import machine
from benchmarks.memory import IMAGE, declared_limits, memory_table, run_size
from benchmarks.pods import MIB, MemoryLimiter, parse_quantity
from benchmarks.synthetic import data_dir, synthetic_csv
from benchmarks.workflows import HYPERPARAMETERS
from tests.flyte_package import package

log = logging.getLogger(__name__)

SEED = 7
#: Disk the run needs beyond the CSV: ingest's Parquet copy, the three split parts, the predictions
#: and flytekit's staged downloads. A rough bound, checked up front so the run fails fast, not at hour one.
SCRATCH_PER_CSV_BYTE = 3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--fit-memory", default="4Gi", help="hard memory limit of the fit pod (Kubernetes quantity)")
    parser.add_argument("--safety-share", type=float, default=0.75, help="cap on every other pod, as a share of RAM")
    parser.add_argument("--hyperparameters", type=json.loads, default=HYPERPARAMETERS,
                        help="JSON fields of Hyperparameters for the fit (default: the other benchmarks' fixed set)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--workdir", type=Path, help="scratch space (default: a new directory under $BENCH_DATA)")
    parser.add_argument("--keep", action="store_true", help="keep the pods' inputs, outputs and logs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    csv = synthetic_csv(args.rows, SEED)
    data_dir().mkdir(parents=True, exist_ok=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="large-", dir=data_dir()))
    workdir.mkdir(parents=True, exist_ok=True)
    free, needed = shutil.disk_usage(workdir).free, SCRATCH_PER_CSV_BYTE * csv.stat().st_size
    if free < needed:
        raise SystemExit(
            f"{workdir}: {free / 1e9:.0f} GB free, the pods need about {needed / 1e9:.0f} GB; use --workdir"
        )

    limiter = MemoryLimiter.detect()
    log.info("memory limits via %s", limiter.kind)
    pkg = package(IMAGE, workdir)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    hard = {task: int(ram * args.safety_share) for task in declared_limits(pkg)}
    hard["fit"] = parse_quantity(args.fit_memory)
    result = run_size(
        pkg,
        args.rows,
        SEED,
        workdir / f"rows-{args.rows}",
        limiter,
        hard,
        hyperparameters={**args.hyperparameters, "external_memory": "always"},
        keep=args.keep,
    )
    if args.workdir is None and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)

    fit = next((p for p in result["pods"] if p["name"] == "fit"), None)
    report = {
        "machine": machine(),
        "limiter": limiter.kind,
        "fit_limit_mib": round(hard["fit"] / MIB, 1),
        "external_memory": "always",
        "hyperparameters": args.hyperparameters,
        "memory": [result],
    }
    lines = [
        f"bench-large: {args.rows:,} rows, {result['csv_mb']:,} MB CSV; "
        f"fit pod limited to {report['fit_limit_mib']:.0f} MiB "
        f"via {limiter.kind}; external_memory: {report['external_memory']}; "
        f"hyperparameters {json.dumps(args.hyperparameters)}",
        memory_table([result]),
    ]
    if fit is None:
        lines.append("fit never ran: an earlier pod failed")
    else:
        verdict = "OOM-killed" if fit["oom_killed"] else ("failed" if fit["returncode"] else "fit within the limit")
        lines.append(
            f"fit: peak RSS {fit['peak_rss_mib']:.0f} MiB of {report['fit_limit_mib']:.0f} MiB "
            f"({fit['peak_rss_mib'] / report['fit_limit_mib']:.0%}); cgroup peak "
            f"{fit['cgroup_peak_mib'] if fit['cgroup_peak_mib'] is not None else '-'} MiB; {verdict}"
        )
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
