"""Seeded synthetic binary-classification CSVs of any size, written in blocks and cached by (rows, seed).

Eight float features ``x0``..``x7`` and an int target ``y`` (0/1), with a header row. ``y`` depends on
x0, x1, the product x2*x3 and a step in x4, through a logistic link: the label is drawn, not computed,
so even the true model errs on about a fifth of the rows and a fitted one is good but imperfect.
x5..x7 are pure noise features, as real tables have.

The file is generated block by block (``BLOCK_ROWS`` rows each, every block seeded from (seed, block
index)), so 100M rows never sit in memory and a file's bytes depend only on (rows, seed). Files are
cached as ``synthetic-<rows>-seed<seed>.csv`` under ``$BENCH_DATA`` (default ``/tmp/flyte-bench``).

    .venv/bin/python -m benchmarks.synthetic 1000000          # writes (or reuses) the file, prints its path
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

log = logging.getLogger(__name__)

FEATURES = [f"x{i}" for i in range(8)]
TARGET = "y"
#: Rows generated (and written) per step: small enough to keep memory flat, big enough that the CSV
#: writer's per-batch cost vanishes. Part of the file's definition: changing it changes every file.
BLOCK_ROWS = 1 << 16
#: Decimals kept per value. Full float64 precision would take ~20 characters a value; four decimals is
#: what a real export looks like and puts 100M rows at about 7 GB instead of 16.
DECIMALS = 4
SCHEMA = pa.schema([(name, pa.float64()) for name in FEATURES] + [(TARGET, pa.int8())])


def data_dir() -> Path:
    """Where generated files are cached: ``$BENCH_DATA``, else /tmp/flyte-bench (outside the repo)."""
    return Path(os.environ.get("BENCH_DATA", "/tmp/flyte-bench"))


def _block(rows: int, seed: int, index: int) -> pa.RecordBatch:
    rng = np.random.default_rng([seed, index])
    x = rng.standard_normal((rows, len(FEATURES)))
    # Different scales and shapes per column, so nothing relies on features being alike.
    x[:, 2] = rng.uniform(-2.0, 2.0, rows)
    x[:, 5] = rng.exponential(3.0, rows)
    x[:, 6] = 100.0 + 15.0 * x[:, 6]
    x = np.round(x, DECIMALS)
    logit = 1.8 * x[:, 0] - 1.4 * x[:, 1] + 1.0 * x[:, 2] * x[:, 3] + 1.2 * (x[:, 4] > 0.5) - 0.6
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    columns = [pa.array(x[:, i]) for i in range(len(FEATURES))] + [pa.array(y)]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def write_synthetic_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """Write ``rows`` rows to ``path`` (header included), one block at a time."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    path = Path(path)
    started, done = time.perf_counter(), 0
    with pacsv.CSVWriter(
        path, SCHEMA, write_options=pacsv.WriteOptions(include_header=True, quoting_style="none")
    ) as w:
        for index in range((rows + BLOCK_ROWS - 1) // BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - done)
            w.write_batch(_block(n, seed, index))
            done += n
            if index % 200 == 199:  # every ~13M rows: a 100M-row file takes minutes
                log.info("%s: %d / %d rows", path.name, done, rows)
    log.info(
        "wrote %s: %d rows, %.1f MB in %.1fs", path, rows, path.stat().st_size / 1e6, time.perf_counter() - started
    )
    return path


def synthetic_csv(rows: int, seed: int = 7, directory: Path | None = None) -> Path:
    """The cached file for (rows, seed), generated first if absent."""
    directory = Path(directory) if directory is not None else data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"synthetic-{rows}-seed{seed}.csv"
    if path.exists():
        log.info("reusing %s", path)
        return path
    # Write beside it and rename: an interrupted run must not leave a truncated file that looks cached.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write_synthetic_csv(partial, rows, seed)
        partial.replace(path)
        log.info("cached as %s", path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def dataset_spec(path: Path) -> dict:
    """The pipeline's ``DatasetSpec`` fields for a synthetic file, as given to `pyflyte run --dataset`."""
    return {"source": str(Path(path).resolve()), "has_header": True, "target": TARGET}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dir", type=Path, default=None, help="cache directory (default $BENCH_DATA or /tmp/flyte-bench)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    path = synthetic_csv(args.rows, args.seed, args.dir)
    print(path)
    print(json.dumps(dataset_spec(path)))


if __name__ == "__main__":
    main()
