"""`make bench-quick`: every workflow stage by stage against its plain script, at 100k and 1M rows, in minutes.

training_pipeline and batch_predict at every --sizes; a tuning trial and the Dask fit at the smallest size only
(each is several fits: at 1M rows they would take longer than the rest together). Two interleaved runs a side
by default (A B, then B A). The ratios are printed, with the targets they are read against, and never fail the
run: the exit status is 0 whatever they are, and non-zero only if the benchmark itself fails (a run that crashes,
a missing tool). CI runs it after the tests, so every landing's log records where it stands.

    .venv/bin/python -m benchmarks.quick [--sizes 100000 1000000] [--repeats 2] [--json quick.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

from benchmarks.stage_report import as_json, render
from benchmarks.synthetic import data_dir

log = logging.getLogger(__name__)


def plan(sizes: list[int]) -> list[tuple[str, int]]:
    """(workflow, rows) in the order they run: training and batch at every size, tuning and Dask at the smallest."""
    sizes = sorted(set(sizes))
    return [("training", n) for n in sizes] + [("batch", n) for n in sizes] + [("tuning", sizes[0]), ("dask", sizes[0])]


def main(argv: list[str] | None = None, measure_all: Callable | None = None) -> int:
    """Measure, print, optionally write JSON; returns the exit status (0 unless measuring raised)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", choices=["training", "batch", "tuning", "dask"], action="append",
                        help="repeatable; default: all four")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the measurements and their tables here")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sizes) or args.repeats < 1:
        parser.error("--sizes and --repeats must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if measure_all is None:
        from benchmarks.workflows import measure_all
    todo = [(w, n) for w, n in plan(args.sizes) if not args.only or w in args.only]
    data_dir().mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="quick-", dir=data_dir()))
    try:
        measurements = measure_all(todo, args.repeats, workdir)
    finally:  # the scratch space holds each run's outputs: never leave it behind
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(measurements), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(as_json(measurements), indent=2), encoding="utf-8")
        log.info("wrote %s", args.json)
    return 0  # ratios over their targets are a finding to read, not a failure


if __name__ == "__main__":
    sys.exit(main())
