"""Tests for flyte.core.data.split: by row hash, stratified in expectation, seeded, stable as the table grows, streamed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from flyte.core.data import tables
from flyte.core.common.errors import DataValidationError
from flyte.core.data.row_hash import HASH_VERSION
from flyte.core.data.split import (
    PART_NAMES, SplitParams, SplitRule, assign_parts, expected_shares, rule_of, split_table, unsplittable,
)
from tests.data_factory import MIXED_CATEGORICAL, binary_frame, ingest_frame, mixed_frame, read_frame


def split(tmp_path, df, target, params=SplitParams(), categorical=()):
    tmp_path.mkdir(parents=True, exist_ok=True)
    table, profile = ingest_frame(tmp_path, df, target, categorical)
    parts = {name: tmp_path / name for name in PART_NAMES}
    sizes = split_table(table, profile, params, parts)
    return {name: read_frame(parts[name]) for name in PART_NAMES}, sizes, table


def test_parts_partition_the_rows_near_the_requested_shares(tmp_path):
    df = binary_frame(rows=3000)
    parts, summary, _ = split(tmp_path, df, "y", SplitParams(test_ratio=0.2, validation_ratio=0.25, seed=3))
    sizes = (len(parts["train"]), len(parts["validation"]), len(parts["test"]))
    assert sizes == (summary.train, summary.validation, summary.test) and sum(sizes) == 3000
    # Binomial: expected 1800 / 600 / 600, standard deviations about 27, 22 and 22 rows.
    assert abs(sizes[0] - 1800) < 130 and abs(sizes[1] - 600) < 110 and abs(sizes[2] - 600) < 110
    together = pd.concat(parts.values()).sort_values(["a", "b"]).reset_index(drop=True)
    expected = df.sort_values(["a", "b"]).reset_index(drop=True)
    np.testing.assert_allclose(together[["a", "b"]].to_numpy(), expected[["a", "b"]].to_numpy())
    assert together["y"].astype(int).tolist() == expected["y"].tolist()  # every row once, with its own label


def test_every_class_is_stratified_in_expectation_and_its_realised_shares_are_reported(tmp_path):
    df = mixed_frame(rows=3000)
    params = SplitParams()
    parts, summary, _ = split(tmp_path, df, "label", params, categorical=MIXED_CATEGORICAL)
    expected = expected_shares(params)
    assert summary.rule == SplitRule("row-hash", HASH_VERSION, 7, 0.33, 0.2, "")
    for label, count in df["label"].value_counts().items():
        counts = summary.class_counts[label]
        assert counts == [int((parts[name]["label"] == label).sum()) for name in PART_NAMES]
        assert sum(counts) == count and math.isclose(sum(summary.class_shares[label]), 1.0, abs_tol=1e-5)
        for share, want in zip(summary.class_shares[label], expected):
            assert abs(share - want) < 4 * math.sqrt(want * (1 - want) / count), (label, share, want)


def test_same_seed_same_split_and_other_seed_other_split(tmp_path):
    table, profile = ingest_frame(tmp_path, binary_frame(rows=400), "y")
    batch = tables.read_columns(table, ["a", "b", "y"])
    first = assign_parts(batch, rule_of(SplitParams(seed=11)), "y", profile.label_kind)
    np.testing.assert_array_equal(first, assign_parts(batch, rule_of(SplitParams(seed=11)), "y", profile.label_kind))
    assert (first != assign_parts(batch, rule_of(SplitParams(seed=12)), "y", profile.label_kind)).mean() > 0.3


def test_appending_rows_never_moves_a_row(tmp_path):
    """The nightly case: the table grows, the split settings stay; every old row keeps its part."""
    df = mixed_frame(rows=1500, seed=4)
    small, _, _ = split(tmp_path / "small", df.iloc[:1000], "label", categorical=MIXED_CATEGORICAL)
    grown, _, _ = split(tmp_path / "grown", df, "label", categorical=MIXED_CATEGORICAL)
    for name in PART_NAMES:
        old = set(map(tuple, small[name][["x1", "label"]].astype(str).to_numpy()))
        new = set(map(tuple, grown[name][["x1", "label"]].astype(str).to_numpy()))
        assert old <= new, name


def test_the_part_depends_on_the_row_alone_not_its_position(tmp_path):
    df = binary_frame(rows=500)
    forward, _, _ = split(tmp_path / "forward", df, "y")
    backward, _, _ = split(tmp_path / "backward", df.iloc[::-1], "y")
    for name in PART_NAMES:
        assert sorted(forward[name]["a"]) == sorted(backward[name]["a"])


def test_duplicate_rows_share_a_part(tmp_path):
    df = binary_frame(rows=300)
    parts, _, _ = split(tmp_path, pd.concat([df, df, df]), "y")
    for name in PART_NAMES:
        assert (parts[name]["a"].value_counts() == 3).all()


def test_the_target_is_part_of_the_row(tmp_path):
    df = binary_frame(rows=2000)
    flipped = df.assign(y=1 - df["y"])
    a, _, _ = split(tmp_path / "a", df, "y")
    b, _, _ = split(tmp_path / "b", flipped, "y")
    assert set(a["test"]["a"]) != set(b["test"]["a"])


def test_a_key_column_keeps_rows_with_one_key_together(tmp_path):
    df = binary_frame(rows=900)
    df["visit"] = np.arange(900) // 3  # three rows per key, differing in every other column
    parts, summary, _ = split(tmp_path, df, "y", SplitParams(key_column="visit"))
    assert summary.rule.key_column == "visit"
    keys = [set(parts[name]["visit"]) for name in PART_NAMES]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert sum(len(k) for k in keys) == 300


def test_a_key_column_outside_the_table_is_refused_at_ingest(tmp_path):
    from flyte.core.data.ingest import DatasetSpec, ingest_table

    csv = tmp_path / "d.csv"
    binary_frame(rows=100).assign(id=range(100)).to_csv(csv, index=False)
    spec = DatasetSpec(source=str(csv), target="y", drop_columns=["id"])
    with pytest.raises(DataValidationError, match="split key_column 'id' is not among the columns read"):
        ingest_table(csv, spec, tmp_path / "t", split=SplitParams(key_column="id"))
    assert not (tmp_path / "t").exists()


def test_the_hash_ignores_formatting_the_ingest_already_normalised():
    """-0.0 and 0.0 are one value; every missing float is one value; a label's text, not its spelling, counts."""
    from flyte.core.data.row_hash import row_u

    a = pa.table({"x": pa.array([0.0, None, float("nan")]), "y": pa.array(["1", "0", "1"])})
    b = pa.table({"x": pa.array([-0.0, float("nan"), None]), "y": pa.array(["1.0", "0", "1"])})
    np.testing.assert_array_equal(row_u(a, ["x", "y"], 7, "y", "int"), row_u(b, ["x", "y"], 7, "y", "int"))
    assert row_u(a, ["x", "y"], 7, "y", "int")[0] != row_u(a, ["x", "y"], 8, "y", "int")[0]


def test_the_hash_of_version_1_is_pinned():
    """A model's manifest records HASH_VERSION 1 with its split rule: these values must never change under that
    version, or a recorded rule would no longer tell which rows a model trained on."""
    from flyte.core.data.row_hash import HASH_VERSION, row_u

    batch = pa.record_batch({"b": pa.array([0.5, -0.0, None, float("nan"), 1e300]),
                             "a": pa.array(["x", None, "y", "x", "z"]), "y": pa.array([1, 0, 1, 1, 0])})  # fmt: skip
    expected = ["0x1.851d85604308bp-1", "0x1.48a57fbbfe788p-2", "0x1.7b96a61b16662p-1", "0x1.fa5c5159d81b8p-3",
                "0x1.b60fb8fc01f81p-1"]  # fmt: skip
    assert HASH_VERSION == 1
    assert [float(u).hex() for u in row_u(batch, batch.schema.names, 7, "y", "int")] == expected


def test_the_hash_is_the_same_whatever_the_block_size(monkeypatch):
    """Rows are hashed in blocks for speed; a row's u must not depend on which block it fell in."""
    from flyte.core.data import row_hash

    rng = np.random.default_rng(4)
    batch = pa.record_batch({"x": rng.normal(size=1000), "k": pa.array([f"v{i % 7}" for i in range(1000)]),
                             "y": pa.array(rng.integers(0, 2, 1000))})  # fmt: skip
    whole = row_hash.row_u(batch, batch.schema.names, 7, "y", "int")
    monkeypatch.setattr(row_hash, "BLOCK_ROWS", 3)
    np.testing.assert_array_equal(row_hash.row_u(batch, batch.schema.names, 7, "y", "int"), whole)
    table = pa.Table.from_batches([batch.slice(0, 400), batch.slice(400)])  # a chunked table, blocks across chunks
    np.testing.assert_array_equal(row_hash.row_u(table, table.schema.names, 7, "y", "int"), whole)


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
    parts, summary, table = split(tmp_path, df, "y")
    assert summary.train + summary.validation + summary.test == 1000 and len(list(tables.iter_batches(table, rows=64))) >= 15


def test_a_class_too_rare_for_every_part_is_named_at_ingest():
    assert unsplittable(np.array([8, 2]), SplitParams()) == [1]
    assert unsplittable(np.array([3, 3, 3, 3]), SplitParams(test_ratio=0.1)) == [0, 1, 2, 3]
    assert unsplittable(np.array([50, 50]), SplitParams()) == []


def test_a_class_the_hash_left_out_of_a_part_is_refused_and_nothing_is_left(tmp_path):
    df = binary_frame(rows=200)
    df.loc[:9, "y"] = 2  # ten rows of a third class: under seed 4 none of them draws validation
    with pytest.raises(DataValidationError, match=r"cannot split: class '2' \(10 rows\) got no row in validation \(train 5, "):
        split(tmp_path, df, "y", SplitParams(seed=4))
    split(tmp_path / "other-seed", df, "y", SplitParams(seed=5))  # another draw gives it a row in every part
    assert not any((tmp_path / name).exists() for name in PART_NAMES)


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
