"""Wide tables: ingest of a 10,000-column CSV against a plain typed Arrow read of the same file, in one run.

Each side runs in its own process (imports included), interleaved, ``repeats`` times; the report gives the
medians and their ratio. The plain side is `pyarrow.csv.read_csv` with every column typed (no validation,
no profile, no Parquet): the floor for reading the file at all.

    .venv/bin/python -m benchmarks.wide [--columns 10000] [--rows 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.synthetic import data_dir

log = logging.getLogger(__name__)

PLAIN = """
import sys, pyarrow as pa, pyarrow.csv as pacsv
names = open(sys.argv[1]).readline().strip().split(",")
types = {n: (pa.string() if n == "y" else pa.float64()) for n in names}
table = pacsv.read_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(column_types=types))
assert table.num_rows > 0
"""

INGEST = """
import sys
from pathlib import Path
from flyte.core.data.ingest import DatasetSpec, ingest_table
spec = DatasetSpec(source=sys.argv[1], has_header=True, column_names=[], target="y")
ingest_table(Path(sys.argv[1]), spec, Path(sys.argv[2]))
"""


def wide_csv(columns: int, rows: int, seed: int = 7) -> Path:
    """A CSV of ``rows`` x ``columns`` float features (4 decimals) plus a 0/1 target ``y``, cached by shape."""
    path = data_dir() / f"wide-{columns}x{rows}-seed{seed}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=(rows, columns)), 4)
    table = pa.table({**{f"c{i}": values[:, i] for i in range(columns)}, "y": (values[:, 0] > 0).astype(np.int64)})
    partial = path.with_suffix(".partial")
    pacsv.write_csv(table, partial)
    partial.rename(path)
    return path


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def run_wide(columns: int, rows: int, repeats: int) -> dict:
    csv = wide_csv(columns, rows)
    plain, ingest = [], []
    for rep in range(repeats):
        with tempfile.TemporaryDirectory(dir=data_dir()) as scratch:
            sides = [("plain", [sys.executable, "-c", PLAIN, str(csv)]),
                     ("ingest", [sys.executable, "-c", INGEST, str(csv), str(Path(scratch) / "table")])]  # fmt: skip
            for side, argv in sides if rep % 2 == 0 else sides[::-1]:
                (plain if side == "plain" else ingest).append(_timed(argv))
    result = {
        "columns": columns,
        "rows": rows,
        "csv_mb": round(csv.stat().st_size / 1e6, 1),
        "plain_s": [round(s, 2) for s in plain],
        "ingest_s": [round(s, 2) for s in ingest],
        "plain_median_s": round(statistics.median(plain), 2),
        "ingest_median_s": round(statistics.median(ingest), 2),
    }
    result["ratio"] = round(result["ingest_median_s"] / result["plain_median_s"], 2)
    return result


def render_wide(r: dict) -> str:
    return (
        f"Wide ingest: {r['columns']:,} columns x {r['rows']:,} rows ({r['csv_mb']} MB CSV), each side in its own process, "
        f"median of {len(r['plain_s'])}\n"
        f"  plain typed Arrow read {r['plain_median_s']:.2f}s   ingest (validate, profile, Parquet) "
        f"{r['ingest_median_s']:.2f}s   ratio {r['ratio']:.2f}x"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(render_wide(run_wide(args.columns, args.rows, args.repeats)))


if __name__ == "__main__":
    main()
