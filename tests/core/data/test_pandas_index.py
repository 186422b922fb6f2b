"""A Parquet file's pandas index is row labels, not data: ingest leaves it out and says so."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flyte.core.data.ingest import DatasetSpec, ingest_table


def sorted_filtered_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Sorted by the label, then filtered: the surviving index numbers predict the label."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x": rng.normal(size=rows), "label": rng.integers(0, 2, size=rows)})
    df = df.sort_values("label").reset_index(drop=True)
    return df[df["x"] > -1.0]


def test_the_index_pandas_keeps_after_a_filter_is_not_a_feature(tmp_path, caplog):
    path = tmp_path / "filtered.parquet"
    sorted_filtered_frame().to_parquet(path)  # pandas stores the non-range index as __index_level_0__
    spec = DatasetSpec(source=str(path), target="label")
    with caplog.at_level(logging.INFO):
        profile = ingest_table(path, spec, tmp_path / "table").profile
    assert profile.feature_columns == ["x"]
    assert profile.dropped_index_columns == ["__index_level_0__"]
    assert "__index_level_0__" not in profile.dtypes
    assert any("__index_level_0__" in r.getMessage() and "index" in r.getMessage() for r in caplog.records)


def test_a_named_index_is_dropped_unless_the_spec_names_it(tmp_path):
    df = sorted_filtered_frame()
    df.insert(0, "patient", [f"p{i}" for i in range(len(df))])
    path = tmp_path / "named.parquet"
    df.set_index("patient").to_parquet(path)
    profile = ingest_table(path, DatasetSpec(source=str(path), target="label"), tmp_path / "a").profile
    assert (profile.feature_columns, profile.dropped_index_columns) == (["x"], ["patient"])
    spec = DatasetSpec(source=str(path), target="label", categorical_columns=["patient"])
    kept = ingest_table(path, spec, tmp_path / "b").profile
    assert kept.feature_columns == ["x", "patient"] and kept.dropped_index_columns == []


def test_a_range_index_and_a_file_not_written_by_pandas_lose_nothing(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "range.parquet"
    pd.DataFrame({"x": [1.0, 2.0] * 20, "__index_level_0__": [0.0, 1.0] * 20, "label": [0, 1] * 20}).to_parquet(path)
    profile = ingest_table(path, DatasetSpec(source=str(path), target="label"), tmp_path / "a").profile
    assert profile.feature_columns == ["x", "__index_level_0__"] and profile.dropped_index_columns == []
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0] * 20, "label": [0, 1] * 20}), plain)
    assert ingest_table(plain, DatasetSpec(source=str(plain), target="label"), tmp_path / "b").profile.feature_columns == ["x"]
