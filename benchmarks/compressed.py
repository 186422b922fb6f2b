"""Ingest of one CSV stored plain and with each codec Arrow streams, plus what naming an error's line costs.

Writes a --rows x 9 synthetic CSV (8 normal features rounded to 4 places, a 0/1 label) into --dir once,
compresses it with pyarrow's own codecs, and ingests each file (best of --repeats). Then puts a bad value
on the last line and times the failed ingest, whose message names the physical line; and times Arrow's
plain streaming read of the file with newlines_in_values off and on (the reader turns it on).

    .venv/bin/python -m benchmarks.compressed [--rows 1000000] [--repeats 2] [--dir /tmp/flyte-bench/compressed]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from flyte.core.common.errors import DataValidationError
from flyte.core.data.ingest import DatasetSpec, ingest_table

CODECS = (("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4"), ("bz2", "bz2"))


def ingest_seconds(path: Path, scratch: Path) -> float:
    shutil.rmtree(scratch, ignore_errors=True)
    started = time.perf_counter()
    ingest_table(path, DatasetSpec(source=str(path), target="y"), scratch)
    return time.perf_counter() - started


def arrow_read_seconds(path: Path, newlines_in_values: bool) -> float:
    started = time.perf_counter()
    reader = pacsv.open_csv(
        str(path), read_options=pacsv.ReadOptions(use_threads=False, block_size=4 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=newlines_in_values),
    )  # fmt: skip
    for _ in reader:
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/flyte-bench/compressed"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    plain = args.dir / f"data-{args.rows}.csv"
    if not plain.exists():
        rng = np.random.default_rng(0)
        frame = {f"f{i}": rng.normal(size=args.rows).round(4) for i in range(8)}
        pd.DataFrame({**frame, "y": rng.integers(0, 2, args.rows)}).to_csv(plain, index=False)
    files = {"plain": plain}
    for codec, suffix in CODECS:
        packed = plain.with_name(f"{plain.name}.{suffix}")
        if not packed.exists():
            with pa.CompressedOutputStream(str(packed), codec) as out:
                out.write(plain.read_bytes())
        files[codec] = packed
    scratch = args.dir / "table"
    print(f"{'file':6s} {'MB':>7s} {'ingest s':>9s}")
    for name, path in files.items():
        best = min(ingest_seconds(path, scratch) for _ in range(args.repeats))
        print(f"{name:6s} {path.stat().st_size / 1e6:7.1f} {best:9.2f}", flush=True)
    bad = args.dir / "bad.csv"
    text = plain.read_bytes()
    last = text.rstrip(b"\n").rfind(b"\n") + 1
    bad.write_bytes(text[:last] + b"oops" + text[text.index(b",", last) :])
    started = time.perf_counter()
    try:
        ingest_seconds(bad, scratch)
    except DataValidationError as exc:
        print(f"error on the last line, named in {time.perf_counter() - started:.2f} s: ...{exc.message[-90:]}")
    for setting in (False, True):
        runs = sorted(arrow_read_seconds(plain, setting) for _ in range(3))
        print(f"Arrow read, newlines_in_values={setting}: {', '.join(f'{r:.2f}' for r in runs)} s")


if __name__ == "__main__":
    main()
