"""Tests for flyte.core.ingest: reading, validation errors and the profile."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from flyte.core.errors import DataValidationError
from flyte.core.ingest import (
    DATA_DIR,
    PIMA_COLUMNS,
    DatasetSpec,
    file_sha256,
    is_local,
    load_dataset,
    local_path,
)


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def spec_for(path: Path, **kwargs) -> DatasetSpec:
    defaults = dict(source=str(path), has_header=True, column_names=[], target="y")
    defaults.update(kwargs)
    return DatasetSpec(**defaults)


def load(path: Path, **kwargs):
    spec = spec_for(path, **kwargs)
    return load_dataset(local_path(spec.source), spec)


GOOD = "a,b,y\n1,2.5,0\n2,3.5,1\n3,,0\n"


# --- the bundled default -------------------------------------------------------------------------


def test_default_spec_reads_the_bundled_pima_data():
    spec = DatasetSpec()
    df, profile = load_dataset(local_path(spec.source), spec)
    assert df.shape == (768, 9)
    assert list(df.columns) == list(PIMA_COLUMNS)
    assert profile.class_counts == {"0": 500, "1": 268}  # as the .names file says
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
    assert profile.dtypes["a"] == "int64" and profile.dtypes["b"] == "float64"


def test_csv_without_header_takes_column_names(tmp_path):
    df, _ = load(write(tmp_path, "1,2,0\n3,4,1\n"), has_header=False, column_names=["a", "b", "y"])
    assert df.to_dict("list") == {"a": [1, 3], "b": [2, 4], "y": [0, 1]}


def test_parquet_by_extension(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"a": [1.0, None, 3.0], "c": ["x", "y", None], "y": ["no", "yes", "no"]}).to_parquet(path)
    df, profile = load(path, categorical_columns=["c"])
    assert df["a"].isna().tolist() == [False, True, False]
    assert df["c"].isna().tolist() == [False, False, True] and df["c"].tolist()[:2] == ["x", "y"]
    assert profile.class_counts == {"no": 2, "yes": 1}


def test_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "data.bin"
    pd.DataFrame({"a": [1, 2], "y": [0, 1]}).to_parquet(path)
    df, _ = load(path, file_format="parquet")
    assert len(df) == 2
    with pytest.raises(DataValidationError, match="unknown file_format 'xlsx'"):
        load(path, file_format="xlsx")


def test_categorical_columns_stay_text_even_when_numeric_looking(tmp_path):
    df, profile = load(write(tmp_path, "zip,y\n02139,a\n10001,b\n"), categorical_columns=["zip"])
    assert df["zip"].tolist() == ["02139", "10001"]
    assert profile.categorical_columns == ["zip"]


def test_float_labels_that_are_whole_numbers_become_integers(tmp_path):
    df, profile = load(write(tmp_path, "a,y\n1,0.0\n2,1.0\n"))
    assert df["y"].tolist() == [0, 1] and profile.class_counts == {"0": 1, "1": 1}


def test_raw_file_is_never_modified(tmp_path):
    path = write(tmp_path, GOOD)
    before = path.read_bytes()
    load(path)
    assert path.read_bytes() == before


# --- bad input: each fails with a message naming the file, column or value ---------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataValidationError, match=r"nope\.csv: file not found"):
        load(path)


def test_empty_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: file is empty"):
        load(write(tmp_path, ""))


def test_header_only_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: has no data rows"):
        load(write(tmp_path, "a,b,y\n"))


def test_row_with_too_many_fields_names_the_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"data\.csv: line 3 has 4 fields, expected 3: '2,3,1,9'"):
        load(write(tmp_path, "a,b,y\n1,2,0\n2,3,1,9\n4,5,0\n"))


def test_row_with_too_few_fields_names_the_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 1 has 2 fields, expected 3: .1,0. \(and 1 more such lines\)"):
        load(write(tmp_path, "1,0\n2,3,1\n4,0\n"), has_header=False, column_names=["a", "b", "y"])


def test_text_in_numeric_column_names_column_value_and_line(tmp_path):
    with pytest.raises(DataValidationError, match=r"column 'b' holds non-numeric value 'abc' at line 3"):
        load(write(tmp_path, "a,b,y\n1,2,0\n2,abc,1\n"))


def test_target_column_that_does_not_exist(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'label' not found; columns are \['a', 'b', 'y'\]"):
        load(write(tmp_path, GOOD), target="label")


@pytest.mark.parametrize("labels", ["0\n\n1", "0\nNaN\n1", "0\n   \n1"])
def test_missing_labels_are_refused(tmp_path, labels):
    rows = "\n".join(f"{i},{v}" if v.strip() else f"{i},{v}" for i, v in enumerate(labels.split("\n")))
    path = write(tmp_path, "a,y\n" + rows + "\n")
    with pytest.raises(DataValidationError, match=r"target column 'y' has 1 missing label\(s\), first at line\(s\) \[3\]"):
        load(path)


def test_missing_string_label_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'y' has 1 missing label"):
        load(write(tmp_path, "a,y\n1,cat\n2,\n3,dog\n"))


def test_single_class_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"target column 'y' has a single class 1"):
        load(write(tmp_path, "a,y\n1,1\n2,1\n"))


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_values_are_refused(tmp_path, value):
    with pytest.raises(DataValidationError, match=r"column 'b' holds infinite value .* at line 3"):
        load(write(tmp_path, f"a,b,y\n1,2,0\n2,{value},1\n"))


def test_unknown_categorical_column(tmp_path):
    with pytest.raises(DataValidationError, match=r"categorical column\(s\) \['colour'\] not found"):
        load(write(tmp_path, GOOD), categorical_columns=["colour"])


def test_duplicate_header_names(tmp_path):
    with pytest.raises(DataValidationError, match=r"header repeats column name\(s\) \['a'\]"):
        load(write(tmp_path, "a,a,y\n1,2,0\n3,4,1\n"))


def test_headerless_csv_needs_column_names(tmp_path):
    with pytest.raises(DataValidationError, match="column_names must list the columns"):
        load(write(tmp_path, "1,2,0\n"), has_header=False, column_names=[])


def test_column_names_that_do_not_match_the_field_count(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 1 has 3 fields, expected 2"):
        load(write(tmp_path, "1,2,0\n3,4,1\n"), has_header=False, column_names=["a", "y"])


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path, "not parquet at all", name="data.parquet")
    with pytest.raises(DataValidationError, match=r"data\.parquet: cannot read as Parquet"):
        load(path)
