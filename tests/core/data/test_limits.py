"""Runaway inputs are bounded: too many classes for the fit's memory, and wide tables read in linear time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data import tables
from flyte.core.common.errors import DataValidationError
from flyte.core.training.fit_memory import check_class_memory
from flyte.core.data.ingest import DatasetSpec, ingest_table
from flyte.core.data.profile import MAX_CLASSES


def test_a_target_with_more_classes_than_the_limit_is_refused_at_ingest(tmp_path):
    classes = MAX_CLASSES + 1
    path = tmp_path / "many.csv"
    path.write_text("x,label\n" + "".join(f"{i % 7},c{i % classes}\n" for i in range(classes * 10)))
    with pytest.raises(DataValidationError, match=f"has {classes} classes, more than the {MAX_CLASSES} a fit can take"):
        ingest_table(path, DatasetSpec(source=str(path), target="label"), tmp_path / "table")
    assert not (tmp_path / "table").exists()


def test_a_multiclass_fit_past_its_memory_is_refused_naming_the_counts():
    with pytest.raises(DataValidationError, match=r"5000 classes x 100000 training and validation rows need about \d+ MiB, over the fit's 2048 MiB"):
        check_class_memory(5000, 100_000, 2048 << 20)
    check_class_memory(50, 100_000, 2048 << 20)  # fits
    check_class_memory(2, 10**9, 2048 << 20)  # binary: one output per row, bounded by the matrix estimate instead


def test_reading_a_wide_table_builds_its_arrow_schema_once_per_part(tmp_path, monkeypatch):
    width = 300
    directory = tmp_path / "wide"
    directory.mkdir()
    pq.write_table(pa.table({f"f{i}": np.arange(5.0) for i in range(width)}), directory / "part-00000.parquet")
    built = []
    original = pq.ParquetFile.schema_arrow

    def counted(self):
        built.append(1)
        return original.fget(self)

    monkeypatch.setattr(pq.ParquetFile, "schema_arrow", property(counted))
    rows = sum(b.num_rows for b in tables.iter_batches(directory, columns=[f"f{i}" for i in range(width)]))
    assert rows == 5 and len(built) == 1
