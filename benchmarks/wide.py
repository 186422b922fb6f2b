"""Wide tables: ingest of a 10,000-column CSV against a plain typed Arrow read of the same file, in one run;
and (``--train``, `make bench BENCH_ARGS="--only wide-train"`) a cold training_pipeline on a 50,000-column x
200-row Parquet: wall and CPU seconds, peak RSS and each stage's seconds as the CLI logs them.

Each side runs in its own process (imports included), interleaved, ``repeats`` times; the report gives the
medians and their ratio. The plain side is `pyarrow.csv.read_csv` with every column typed (no validation,
no profile, no Parquet): the floor for reading the file at all.

    .venv/bin/python -m benchmarks.wide [--columns 10000] [--rows 1000] [--repeats 3]
    .venv/bin/python -m benchmarks.wide --train [--columns 50000] [--rows 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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


def wide_parquet(columns: int, rows: int, seed: int = 7) -> Path:
    """A Parquet of ``rows`` x ``columns`` float features and a 0/1 target ``y`` that c0 predicts noisily, cached by shape."""
    path = data_dir() / f"wide-{columns}x{rows}-seed{seed}.parquet"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=(rows, columns)), 4)
    target = (values[:, 0] + 0.5 * rng.normal(size=rows) > 0).astype(np.int64)
    partial = path.with_suffix(".partial")
    pq.write_table(pa.table({**{f"c{i}": values[:, i] for i in range(columns)}, "y": target}), partial)
    partial.rename(path)
    return path


def run_wide_train(columns: int = 50_000, rows: int = 200) -> dict:
    """One cold `python -m flyte.cli run ... training_pipeline` on ``wide_parquet`` (a fresh local directory, so an
    empty cache and registry): wall and CPU seconds (user + system, from wait4), peak RSS, and each stage's seconds."""
    from benchmarks.pods import runtime_bin
    from tests.flyte_package import REPO, clean_env

    source = wide_parquet(columns, rows)
    scratch = Path(tempfile.mkdtemp(prefix="wide-train-", dir=data_dir()))
    try:
        env = clean_env(scratch, OMP_WAIT_POLICY="PASSIVE", PIPELINE_LOCAL_DIR=str(scratch / "local"))
        argv = [str(runtime_bin() / "python"), "-m", "flyte.cli", "run", "flyte/workflows/training/pipeline.py", "training_pipeline",
                "--dataset", f'{{"source": "{source}", "target": "y"}}']  # fmt: skip
        started = time.perf_counter()
        with open(scratch / "stderr.txt", "wb") as err:
            proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = (scratch / "stderr.txt").read_text(encoding="utf-8", errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"wide training run exited {proc.returncode}:\n{text[-3000:]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stages = {m[1]: float(m[2]) for m in re.finditer(r"^\S+ (\w+): finished in ([\d.]+) s", text, flags=re.MULTILINE)}
    return {
        "columns": columns, "rows": rows, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024), "stages_s": stages, "load_average": os.getloadavg(),
    }  # fmt: skip


def render_wide_train(r: dict) -> str:
    stages = ", ".join(f"{name} {s:.1f}" for name, s in r["stages_s"].items())
    return (
        f"Wide training: {r['columns']:,} columns x {r['rows']:,} rows, cold training_pipeline: wall {r['wall_s']:.1f}s, "
        f"CPU {r['cpu_s']:.1f}s, peak RSS {r['peak_rss_mib']} MiB (load average {r['load_average'][0]:.1f})\n"
        f"  stages (s): {stages}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train", action="store_true", help="a cold training_pipeline instead (default 50,000 x 200)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.train:
        columns = args.columns if "--columns" in (argv or sys.argv) else 50_000
        rows = args.rows if "--rows" in (argv or sys.argv) else 200
        print(render_wide_train(run_wide_train(columns, rows)))
        return
    print(render_wide(run_wide(args.columns, args.rows, args.repeats)))


if __name__ == "__main__":
    main()
