"""The gate's nightly cases at full size, judged on the rows the champion never saw and (for contrast) on every row.

Champion: the first 70k rows of a synthetic table. Challengers, same settings: the table grown by 30k rows, and
the full table under another split seed. Each is judged twice: as the gate does (rows the champion neither trained
nor early-stopped on) and on every challenger test row (what the gate did before it knew the champion's split).
Also times the split itself at 1M rows (and --split-rows).

    .venv/bin/python -m benchmarks.gate_unseen [--split-rows 1000000 5000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import numpy as np

from flyte.core.gate import gate_rows
from flyte.core.gate.gate import GateRules, judge
from flyte.core.registry.registry import Registry
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from tests.core.gate.test_gate_unseen import table, trained

RULES = GateRules(min_accuracy=0.0, min_roc_auc=0.0, max_log_loss=10.0, alpha=0.05, bootstrap_replicates=1000,
                  bootstrap_seed=7, require_better=False, replace_incompatible=False, min_unseen_rows=100)  # fmt: skip


def case(work: Path, name: str, champion_df, champion_split, challenger_df, challenger_split) -> None:
    registry = Registry(str(work / name / "registry"))
    champion, _, _ = trained(work / name / "champion", champion_df, champion_split)
    registry.promote(champion, ["first"], datetime.now(timezone.utc), expected_champion="")
    challenger, parts, metrics = trained(work / name / "challenger", challenger_df, challenger_split)
    args = (challenger, parts["test"], work / name / "challenger" / "predictions", metrics, str(registry.location),
            registry.champion_identity(), RULES)  # fmt: skip
    unseen = judge(*args, work / name / "scratch").decision
    everything = gate_rows.Unseen(np.ones(unseen.comparison.test_rows, dtype=bool), "")
    with mock.patch("flyte.core.gate.gate_rows.unseen_rows", return_value=everything):
        flattered = judge(*args, work / name / "scratch-all").decision
    for label, d in (("unseen rows", unseen), ("every row", flattered)):
        print(f"{name}, {label}: promote={d.promote}; {d.reasons[-2] if len(d.reasons) > 1 else d.reasons[-1]}")


def time_split(work: Path, rows: int) -> None:
    from flyte.core.data.ingest import DatasetSpec, ingest_table

    df = table(rows, seed=9)
    df.to_parquet(work / f"big-{rows}.parquet", index=False)
    spec = DatasetSpec(source=str(work / f"big-{rows}.parquet"), target="y")
    profile = ingest_table(work / f"big-{rows}.parquet", spec, work / f"big-{rows}").profile
    started = time.perf_counter()
    summary = split_table(work / f"big-{rows}", profile, SplitParams(), {n: work / f"{n}-{rows}" for n in PART_NAMES})
    print(f"split of {rows} rows x 5 columns: {time.perf_counter() - started:.2f} s; class shares {summary.class_shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split-rows", type=int, nargs="*", default=[1_000_000])
    args = parser.parse_args()
    df = table(100_000)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        case(work, "grown table", df.iloc[:70_000], SplitParams(), df, SplitParams())
        case(work, "seed 7 -> 8", df, SplitParams(seed=7), df, SplitParams(seed=8))
        case(work, "seed 8 -> 7", df, SplitParams(seed=8), df, SplitParams(seed=7))
        for rows in args.split_rows:
            time_split(work, rows)


if __name__ == "__main__":
    main()
