"""Tests for flyte.core.split: exact, stratified, seeded, three-way, streamed, input untouched."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flyte.core import tables
from flyte.core.errors import DataValidationError
from flyte.core.split import PART_NAMES, TEST, TRAIN, VALIDATION, SplitParams, assign_parts, split_table
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, ingest_frame, mixed_frame, read_frame


def split(tmp_path, df, target, params=SplitParams(), categorical=()):
    table, profile = ingest_frame(tmp_path, df, target, categorical)
    parts = {name: tmp_path / name for name in PART_NAMES}
    sizes = split_table(table, profile, params, parts)
    return {name: read_frame(parts[name]) for name in PART_NAMES}, sizes, table


def test_parts_partition_the_rows_with_the_requested_sizes(tmp_path):
    df = binary_frame(rows=300)
    parts, sizes, _ = split(tmp_path, df, "y", SplitParams(test_ratio=0.2, validation_ratio=0.25, seed=3))
    assert (len(parts["test"]), len(parts["validation"]), len(parts["train"])) == (60, 60, 180) == (sizes.test, sizes.validation, sizes.train)
    together = pd.concat(parts.values()).sort_values(["a", "b"]).reset_index(drop=True)
    expected = df.sort_values(["a", "b"]).reset_index(drop=True)
    np.testing.assert_allclose(together[["a", "b"]].to_numpy(), expected[["a", "b"]].to_numpy())
    assert together["y"].astype(int).tolist() == expected["y"].tolist()  # every row once, with its own label


def test_every_part_keeps_the_class_balance_exactly(tmp_path):
    df = mixed_frame(rows=600)
    parts, _, _ = split(tmp_path, df, "label", categorical=MIXED_CATEGORICAL)
    overall = df["label"].value_counts()
    for name, part in parts.items():
        share = part["label"].value_counts()
        expected = overall * len(part) / len(df)
        assert ((share - expected).abs() < 1.0).all(), name  # within one row of the exact proportion


def test_same_seed_same_split_and_other_seed_other_split():
    y = np.arange(200) % 2
    first = assign_parts(y, SplitParams(seed=11))
    np.testing.assert_array_equal(first, assign_parts(y, SplitParams(seed=11)))
    assert not np.array_equal(first, assign_parts(y, SplitParams(seed=12)))


def test_assignment_sizes_follow_the_ratios():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    parts = assign_parts(y, SplitParams(test_ratio=0.33, validation_ratio=0.2))
    n_test = math.ceil(0.33 * 1000)
    assert (parts == TEST).sum() == n_test
    assert (parts == VALIDATION).sum() == math.ceil(0.2 * (1000 - n_test))
    assert np.bincount(y[parts == TEST]).tolist() == [165, 99, 66]  # 330 shared 5:3:2
    assert (parts == TRAIN).sum() == 1000 - n_test - math.ceil(0.2 * (1000 - n_test))


def test_rows_keep_file_order_inside_each_part(tmp_path):
    df = binary_frame(rows=150)
    df["a"] = np.arange(150, dtype=float)
    parts, _, _ = split(tmp_path, df, "y")
    for part in parts.values():
        assert part["a"].is_monotonic_increasing


def test_input_table_is_not_modified(tmp_path):
    df = binary_frame(rows=90)
    table, profile = ingest_frame(tmp_path, df, "y")
    before = {p.name: p.read_bytes() for p in tables.part_files(table)}
    split_table(table, profile, SplitParams(), {name: tmp_path / name for name in PART_NAMES})
    assert {p.name: p.read_bytes() for p in tables.part_files(table)} == before


def test_streams_through_many_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 64)
    df = binary_frame(rows=1000)
    parts, sizes, table = split(tmp_path, df, "y")
    assert sum(sizes) == 1000 and len(list(tables.iter_batches(table, rows=64))) >= 15


def test_a_class_too_rare_for_every_part_is_named():
    y = np.array([0] * 8 + [1] * 2)
    with pytest.raises(DataValidationError, match=r"class code\(s\) \[1\] \(counts \[2\]\) would leave a part without"):
        assign_parts(y, SplitParams())


def test_parts_too_small_for_every_class_are_reported():
    y = np.arange(12) % 4
    with pytest.raises(DataValidationError, match="cannot split 12 rows at test_ratio=0.1"):
        assign_parts(y, SplitParams(test_ratio=0.1))


def test_a_failed_split_leaves_no_part_behind(tmp_path, monkeypatch):
    table, profile = ingest_frame(tmp_path, binary_frame(rows=200), "y")
    calls = {"n": 0}
    real_commit = tables.TableWriter.commit

    def fail_on_second(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_commit(self)

    monkeypatch.setattr(tables.TableWriter, "commit", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        split_table(table, profile, SplitParams(), {name: tmp_path / name for name in PART_NAMES})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-table", "data.csv"]
