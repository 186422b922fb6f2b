"""Tests for flyte.core.data.ingest: streaming a file into a validated Parquet table, its errors and its profile."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data.formats import csv_reader as readers

from flyte.core.data import tables
from flyte.core.common.errors import DataValidationError
from flyte.core.data.dataset import pima_spec
from flyte.core.data.dataset import DATA_DIR, PIMA_COLUMNS, DatasetSpec, is_local, local_path
from flyte.core.data.ingest import ingest_table
from flyte.core.common.files import file_sha256
from flyte.core.data.tables import part_files
from tests.data_factory import read_frame


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def spec_for(path: Path, **kwargs) -> DatasetSpec:
    defaults = dict(source=str(path), has_header=True, column_names=[], target="y", min_rows_per_class=1)
    defaults.update(kwargs)
    return DatasetSpec(**defaults)


def load(path: Path, out: Path | None = None, **kwargs):
    """Ingest ``path``; return the table as a frame and the profile."""
    spec = spec_for(path, **kwargs)
    out = out or path.parent / "table"
    result = ingest_table(local_path(spec.source), spec, out)
    return read_frame(out), result.profile


GOOD = "a,b,y\n1,2.5,0\n2,3.5,1\n3,,0\n"


@pytest.fixture
def small_blocks(monkeypatch):
    """CSV blocks of about 4 KiB and row groups of 100 rows, so small files stream in many batches."""
    monkeypatch.setattr(readers, "CSV_BLOCK_MIN", 4096)
    monkeypatch.setattr(readers, "CSV_BLOCK_MAX", 4096)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 100)


def numbered_csv(rows: int, bad_line: int | None = None, bad_text: str = "") -> str:
    """A header and ``rows`` rows ``i,2i,i%2``; the row on file line ``bad_line`` is replaced by ``bad_text``."""
    lines = ["a,b,y"] + [f"{i},{2 * i},{i % 2}" for i in range(rows)]
    if bad_line:
        lines[bad_line - 1] = bad_text
    return "\n".join(lines) + "\n"


# --- the bundled default -------------------------------------------------------------------------


def test_default_spec_reads_the_bundled_pima_data(tmp_path):
    spec = pima_spec()
    result = ingest_table(local_path(spec.source), spec, tmp_path / "table")
    df, profile = read_frame(tmp_path / "table"), result.profile
    assert df.shape == (768, 9)
    assert list(df.columns) == list(PIMA_COLUMNS)
    assert profile.class_counts == {"0": 500, "1": 268}  # as the .names file says
    assert profile.labels == ["0", "1"] and profile.label_kind == "int"
    assert profile.target == "class" and "class" not in profile.feature_columns
    assert profile.sha256 == file_sha256(DATA_DIR / "pima-indians-diabetes.data.csv")


def test_pima_column_names_match_the_names_file():
    names = (DATA_DIR / "pima-indians-diabetes.names").read_text()
    section = names.split("7. For Each Attribute")[1].split("8. Missing")[0]
    attributes = re.findall(r"^\s+(\d+)\. ", section, flags=re.MULTILINE)
    assert len(attributes) == len(PIMA_COLUMNS) == 9
    assert "Class variable" in section and PIMA_COLUMNS[-1] == "class"


# --- sources and formats ---------------------------------------------------------------------------


def test_local_sources_resolve_without_fetching(tmp_path):
    path = write(tmp_path, GOOD)
    assert local_path(f"file://{path}") == path
    assert local_path(str(path)) == path
    assert local_path("bundled://pima-indians-diabetes.data.csv") == DATA_DIR / "pima-indians-diabetes.data.csv"
    assert all(is_local(s) for s in (str(path), f"file://{path}", "bundled://x.csv", "relative/x.csv"))
    assert not any(is_local(s) for s in ("https://example.com/x.csv", "s3://bucket/x.csv", "gs://b/x.csv"))
    with pytest.raises(DataValidationError, match="s3://bucket/x.csv: not a local path"):
        local_path("s3://bucket/x.csv")


def test_csv_with_header(tmp_path):
    df, profile = load(write(tmp_path, GOOD))
    assert list(df.columns) == ["a", "b", "y"]
    assert profile.rows == 3 and profile.columns == 3
    assert profile.missing == {"a": 0, "b": 1, "y": 0}
    assert profile.class_counts == {"0": 2, "1": 1}
    # Features are numbers, labels keep their text until a stage codes them.
    assert profile.dtypes == {"a": "double", "b": "double", "y": "string"}


def test_csv_without_header_takes_column_names(tmp_path):
    df, _ = load(write(tmp_path, "1,2,0\n3,4,1\n"), has_header=False, column_names=["a", "b", "y"])
    assert df.to_dict("list") == {"a": [1.0, 3.0], "b": [2.0, 4.0], "y": ["0", "1"]}


def test_parquet_by_extension(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"a": [1.0, None, 3.0], "c": ["x", "y", None], "y": ["no", "yes", "no"]}).to_parquet(path)
    df, profile = load(path, categorical_columns=["c"])
    assert df["a"].isna().tolist() == [False, True, False]
    assert df["c"].isna().tolist() == [False, False, True] and df["c"].tolist()[:2] == ["x", "y"]
    assert profile.class_counts == {"no": 2, "yes": 1} and profile.label_kind == "str"


def test_parquet_numbers_of_any_type_become_float_and_nan_counts_as_missing(tmp_path):
    path = tmp_path / "data.parquet"
    table = pa.table({
        "i": pa.array([1, 2, 3, 4], pa.int32()), "f": [0.5, float("nan"), 1.5, None],
        "t": ["1.5", "2", None, "4"], "y": pa.array([0, 1, 0, 1], pa.int64()),
    })  # fmt: skip
    pq.write_table(table, path)
    df, profile = load(path)
    assert df["i"].tolist() == [1.0, 2.0, 3.0, 4.0] and df["t"].tolist()[:2] == [1.5, 2.0]
    assert profile.missing["f"] == 2 and profile.missing["t"] == 1
    assert profile.labels == ["0", "1"] and profile.label_kind == "int"


def test_parquet_text_in_a_numeric_column_names_the_row(tmp_path):
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"t": ["1", "2", "abc"], "y": [0, 1, 0]}), path)
    with pytest.raises(DataValidationError, match=r"column 't' holds non-numeric value 'abc' at row 3"):
        load(path)


def test_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "data.bin"
    pd.DataFrame({"a": [1, 2], "y": [0, 1]}).to_parquet(path)
    df, _ = load(path, file_format="parquet")
    assert len(df) == 2
    with pytest.raises(DataValidationError, match="file_format must be auto, csv or parquet, got 'xlsx'"):
        load(path, out=tmp_path / "other", file_format="xlsx")


def test_categorical_columns_stay_text_even_when_numeric_looking(tmp_path):
    df, profile = load(write(tmp_path, "zip,y\n02139,a\n10001,b\n"), categorical_columns=["zip"])
    assert df["zip"].tolist() == ["02139", "10001"]
    assert profile.categorical_columns == ["zip"] and profile.dtypes["zip"] == "string"


def test_whole_number_labels_are_one_class_however_written(tmp_path):
    _, profile = load(write(tmp_path, "a,y\n1,0.0\n2,1.0\n3,1\n4,0\n"))
    assert profile.class_counts == {"0": 2, "1": 2} and profile.label_kind == "int"


def test_fractional_and_text_labels_keep_their_kind(tmp_path):
    _, floats = load(write(tmp_path, "a,y\n1,0.5\n2,1.5\n3,10\n"), out=tmp_path / "f")
    assert floats.labels == ["0.5", "1.5", "10.0"] and floats.label_kind == "float"
    _, text = load(write(tmp_path, "a,y\n1,10\n2,9\n3,x\n", name="t.csv"), out=tmp_path / "t")
    assert text.labels == ["10", "9", "x"] and text.label_kind == "str"  # text sorts as text


def test_raw_file_is_never_modified(tmp_path):
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    load(path)
    assert path.read_bytes() == before


# --- streaming ---------------------------------------------------------------------------------------


def test_a_file_streams_in_many_batches_into_bounded_row_groups(tmp_path, small_blocks):
    df, profile = load(write(tmp_path, numbered_csv(2000)))
    assert profile.rows == 2000 and profile.class_counts == {"0": 1000, "1": 1000}
    assert df["a"].tolist() == [float(i) for i in range(2000)]  # every row, in file order
    metadata = pq.ParquetFile(part_files(tmp_path / "table")[0]).metadata
    assert metadata.num_row_groups >= 10
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) <= 200


def test_an_error_in_a_late_batch_names_its_line_and_leaves_no_output(tmp_path, small_blocks):
    path = write(tmp_path, numbered_csv(3000, bad_line=2901, bad_text="2899,abc,1"))
    with pytest.raises(DataValidationError, match=r"column 'b' holds non-numeric value 'abc' at line 2901"):
        load(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]  # no table, no staging directory


def test_a_short_row_in_a_late_batch_names_its_line(tmp_path, small_blocks):
    path = write(tmp_path, numbered_csv(3000, bad_line=2500, bad_text="1,2"))
    with pytest.raises(DataValidationError, match=r"line 2500 has 2 fields, expected 3: '1,2'"):
        load(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_a_missing_label_in_a_late_batch_names_its_line(tmp_path, small_blocks):
    path = write(tmp_path, numbered_csv(3000, bad_line=2222, bad_text="5,6,"))
    with pytest.raises(DataValidationError, match=r"target column 'y' has missing label\(s\) at line 2222"):
        load(path)


def test_wide_tables_ingest_column_for_column(tmp_path):
    width = 2000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, width)), columns=[f"c{i}" for i in range(width)])
    df["y"] = np.arange(50) % 2
    path = tmp_path / "wide.csv"
    df.to_csv(path, index=False)
    back, profile = load(path)
    assert profile.columns == width + 1 and len(profile.feature_columns) == width
    np.testing.assert_allclose(back[df.columns[:-1]].to_numpy(), df[df.columns[:-1]].to_numpy())


def test_the_content_hash_follows_the_data_not_the_path(tmp_path):
    first = ingest_table(write(tmp_path, GOOD, "one.csv"), spec_for(tmp_path / "one.csv"), tmp_path / "t1")
    second = ingest_table(write(tmp_path, GOOD, "two.csv"), spec_for(tmp_path / "two.csv"), tmp_path / "t2")
    changed = ingest_table(write(tmp_path, GOOD + "4,1,1\n", "three.csv"), spec_for(tmp_path / "three.csv"), tmp_path / "t3")
    assert first.content_sha256 == second.content_sha256
    assert changed.content_sha256 != first.content_sha256


# --- bad input: each fails with a message naming the file, column or value ---------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"nope\.csv: file not found"):
        load(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: file is empty"):
        load(write(tmp_path, ""))


def test_header_only_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: has no data rows"):
        load(write(tmp_path, "a,b,y\n"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_row_with_too_many_fields_names_the_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: line 3 has 4 fields, expected 3: '2,3,1,9'"):
        load(write(tmp_path, "a,b,y\n1,2,0\n2,3,1,9\n4,5,0\n"))


def test_row_with_too_few_fields_names_the_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 1 has 2 fields, expected 3: .1,0. \(and 1 more such lines\)"):
        load(write(tmp_path, "1,0\n2,3,1\n4,0\n"), has_header=False, column_names=["a", "b", "y"])


def test_text_in_numeric_column_names_column_value_and_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"column 'b' holds non-numeric value 'abc' at line 3"):
        load(write(tmp_path, "a,b,y\n1,2,0\n2,abc,1\n"))


def test_text_in_a_headerless_file_names_the_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"column 'a' holds non-numeric value 'x' at line 2"):
        load(write(tmp_path, "1,2,0\nx,3,1\n"), has_header=False, column_names=["a", "b", "y"])


def test_target_column_that_does_not_exist(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'label' not found; columns are \['a', 'b', 'y'\]"):
        load(write(tmp_path, GOOD), target="label")


@pytest.mark.parametrize("labels", ["0\n\n1", "0\nNaN\n1", "0\n   \n1"])
def test_missing_labels_are_refused(tmp_path, labels):
    rows = "\n".join(f"{i},{v}" for i, v in enumerate(labels.split("\n")))
    path = write(tmp_path, "a,y\n" + rows + "\n")
    with pytest.raises(DataValidationError, match=r"target column 'y' has missing label\(s\) at line 3"):
        load(path)


def test_missing_string_label_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'y' has missing label\(s\) at line 3"):
        load(write(tmp_path, "a,y\n1,cat\n2,\n3,dog\n"))


def test_single_class_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'y' has a single class '1'"):
        load(write(tmp_path, "a,y\n1,1\n2,1.0\n"))


def test_infinite_label_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'y': label value 'inf' is not a finite number"):
        load(write(tmp_path, "a,y\n1,1\n2,inf\n3,0\n"))


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_values_are_refused(tmp_path, value):
    with pytest.raises(DataValidationError, match=r"column 'b' holds infinite value .* at line 3"):
        load(write(tmp_path, f"a,b,y\n1,2,0\n2,{value},1\n"))


def test_unknown_categorical_column(tmp_path):
    with pytest.raises(DataValidationError, match=r"categorical_columns names column\(s\) \['colour'\] not found"):
        load(write(tmp_path, GOOD), categorical_columns=["colour"])


def test_duplicate_header_names(tmp_path):
    with pytest.raises(DataValidationError, match=r"header repeats column name\(s\) \['a'\]"):
        load(write(tmp_path, "a,a,y\n1,2,0\n3,4,1\n"))


def test_headerless_csv_needs_column_names(tmp_path):
    with pytest.raises(DataValidationError, match="column_names must list the columns when has_header is false"):
        load(write(tmp_path, "1,2,0\n"), has_header=False, column_names=[])


def test_column_names_that_do_not_match_the_field_count(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 1 has 3 fields, expected 2"):
        load(write(tmp_path, "1,2,0\n3,4,1\n"), has_header=False, column_names=["a", "y"])


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path, "not parquet at all", name="data.parquet")
    with pytest.raises(DataValidationError, match=r"data\.parquet: cannot read as Parquet"):
        load(path)


def test_refuses_to_write_over_an_existing_table(tmp_path):
    (tmp_path / "table").mkdir()
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        load(write(tmp_path, GOOD))


def test_training_refuses_a_spec_without_a_target_and_writes_nothing(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataValidationError, match="target is required for training") as info:
        ingest_table(path, DatasetSpec(source=str(path)), tmp_path / "out")
    assert "batch prediction" in info.value.hint
    assert not (tmp_path / "out").exists()
