"""Tests for inputs that once crashed or misread: blank lines, marker lists, headerless files, long names,
skip_rows past the end, nested Parquet columns, deeply nested specs, look-alike labels, multi-line fields."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data import labels as lbl
from flyte.core.data.formats import csv_reader as readers
from flyte.core.data import tables
from flyte.core.data.dataset import DEFAULT_MISSING_VALUES
from flyte.core.common.errors import DataValidationError
from flyte.core.data.ingest import DatasetSpec, ingest_table
from flyte.core.common.validation import MAX_JSON_DEPTH
from tests.data_factory import read_frame


def ingest(path: Path, **options):
    spec = DatasetSpec(**{"source": str(path), "target": "y", "min_rows_per_class": 1, **options})
    out = table_of(path)
    result = ingest_table(path, spec, out)
    return read_frame(out), result.profile


def table_of(path: Path) -> Path:
    return path.parent / f"{path.name[:60]}-table"


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path: Path, pattern: str, **options) -> DataValidationError:
    with pytest.raises(DataValidationError, match=pattern) as info:
        ingest(path, **options)
    assert "\n" not in info.value.message and not table_of(path).exists()
    return info.value


ROWS = "a,age,y\n" + "".join(f"{i},{20 + i},{i % 2}\n" for i in range(12))


# --- blank lines and missing-value markers ---------------------------------------------------------


@pytest.mark.parametrize("where", ["end", "middle", "spaces", "several"])
def test_a_blank_line_is_never_a_record_whatever_the_markers(tmp_path, where):
    text = {
        "end": ROWS + "\n",
        "middle": ROWS.replace("3,23,1\n", "3,23,1\n\n"),
        "spaces": ROWS.replace("3,23,1\n", "3,23,1\n   \n"),
        "several": "\n" + ROWS.replace("3,23,1\n", "3,23,1\n\n\r\n") + "\n\n",
    }[where]
    frame, profile = ingest(write(tmp_path, text), missing_values=["?"])
    assert profile.rows == 12 and frame["age"].tolist() == [20.0 + i for i in range(12)]


def test_lines_after_blank_ones_keep_their_numbers(tmp_path):
    text = ROWS.replace("3,23,1\n", "3,23,1\n\n  \n\n").replace("9,29,1", "9,old,1")
    refused(write(tmp_path, text), r"column 'age' holds non-numeric value 'old' at line 14;", missing_values=["?"])


def test_extra_missing_values_extend_the_defaults(tmp_path):
    path = write(tmp_path, "a,age,y\n1,?,0\n2,,1\n3,NA,0\n4,7,1\n")
    frame, profile = ingest(path, extra_missing_values=["?"])
    assert frame["age"].isna().tolist() == [True, True, True, False] and profile.missing["age"] == 3


def test_missing_values_replace_the_defaults(tmp_path):
    """Setting missing_values is the way to stop reading "NA" as missing (North America, say)."""
    path = write(tmp_path, "a,region,y\n1,NA,0\n2,EU,1\n3,,0\n")
    frame, _ = ingest(path, missing_values=[""], categorical_columns=["region"])
    assert frame["region"].tolist()[:2] == ["NA", "EU"] and frame["region"].isna().tolist() == [False, False, True]
    spec = DatasetSpec(source="x.csv", missing_values=["", "?"], extra_missing_values=["?", "-"])
    assert spec.missing_markers() == ["", "?", "-"]
    assert DatasetSpec(source="x.csv", extra_missing_values=["?"]).missing_markers() == [*DEFAULT_MISSING_VALUES, "?"]


def test_an_empty_field_without_the_empty_marker_is_still_refused(tmp_path):
    """Only whole blank lines are skipped: an empty field in a record is a value, refused unless "" means missing."""
    path = write(tmp_path, "a,age,y\n1,5,0\n2,,1\n")
    refused(path, r"column 'age' holds non-numeric value '' at line 3", missing_values=["?"])


# --- a header that reads like data ----------------------------------------------------------------


def test_a_headerless_file_read_with_a_header_is_hinted(tmp_path):
    path = write(tmp_path, "5.22,3.1,1\n" + "".join(f"{i}.5,{i},{i % 2}\n" for i in range(12)))
    error = refused(path, r"target column 'y' not found; columns are \['5\.22', '3\.1', '1'\]")
    assert '"has_header": false' in error.hint and "column_names" in error.hint
    named = write(tmp_path, "x,z,label\n1,2,0\n", "named.csv")
    assert refused(named, "target column 'y' not found").hint == ""  # a real header gets no such hint


def test_a_headerless_file_with_text_labels_is_hinted(tmp_path):
    path = write(tmp_path, "".join(f"5.{i},3.{i},1.4,0.2,Iris-setosa\n" for i in range(12)), "iris.csv")
    error = refused(path, r"target column 'y' not found; columns are \['5\.0', '3\.0', '1\.4', '0\.2', 'Iris-setosa'\]")
    assert '"has_header": false' in error.hint


def test_a_headerless_file_whose_first_line_repeats_a_value_is_hinted(tmp_path):
    path = write(tmp_path, "1,1,0\n2,2,1\n")
    assert '"has_header": false' in refused(path, r"header repeats column name\(s\) \['1'\]").hint


# --- files that cannot be opened or hold nothing to read -------------------------------------------


def test_a_file_name_too_long_is_a_one_line_error(tmp_path):
    path = tmp_path / ("x" * 300 + ".csv")
    error = refused(path, r"cannot open: File name too long")
    assert len(error.message) < 200 and "255" in error.hint


def test_skip_rows_past_the_end_of_the_file(tmp_path):
    refused(write(tmp_path, ROWS), r"data\.csv: skip_rows is 100 but the file has only 13 line\(s\)", skip_rows=100)


def test_only_blank_and_comment_lines_after_skip_rows(tmp_path):
    refused(write(tmp_path, "title\n\n# note\n\n"), r"holds no header or data after the 1 skipped by skip_rows",
            skip_rows=1, comment_prefix="#")  # fmt: skip


# --- Parquet columns that cannot be features or labels --------------------------------------------


def parquet(tmp_path: Path, **columns) -> Path:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_an_all_null_list_column_names_itself(tmp_path):
    path = parquet(tmp_path, a=pa.array([None] * 4, pa.list_(pa.float64())), b=[1.0, 2, 3, 4], y=[0, 1, 0, 1])
    error = refused(path, r"column 'a' is of Parquet type list<element: double>, which cannot be a feature")
    assert "drop_columns" in error.hint
    frame, _ = ingest(path, drop_columns=["a"])  # the hint works
    assert list(frame.columns) == ["b", "y"]


@pytest.mark.parametrize("target", [pa.array([[0], [1], [0], [1]]), pa.array([{"k": 0}, {"k": 1}, {"k": 0}, {"k": 1}])],
                         ids=["list", "struct"])  # fmt: skip
def test_a_nested_target_is_refused(tmp_path, target):
    path = parquet(tmp_path, a=[1.0, 2, 3, 4], y=target)
    refused(path, r"column 'y' is of Parquet type (list|struct)<.*>, which cannot be the target")


# --- a spec nested far too deep -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["[" * 30000 + "]" * 30000, '{"source": ' + "[" * 30000 + "]" * 30000 + "}"])
def test_a_deeply_nested_spec_is_refused_before_parsing(text):
    with pytest.raises(DataValidationError, match=f"nested more than {MAX_JSON_DEPTH} levels deep"):
        DatasetSpec.from_json(text)


def test_a_refused_value_is_echoed_short():
    text = json.dumps({"source": "x.csv", "target": [[["deep"] * 50] * 5]})
    with pytest.raises(DataValidationError, match=r"DatasetSpec.target must be text, got ") as info:
        DatasetSpec.from_json(text)
    assert len(info.value.message) < 200


# --- labels compare as written --------------------------------------------------------------------


def test_labels_with_underscores_are_text_not_numbers(tmp_path):
    assert lbl.infer_kind(["10", "1_0"]) == lbl.STR and lbl.infer_kind(["10", "1.0e1"]) == lbl.INT
    assert lbl.infer_kind(["\u0661", "1"]) == lbl.STR  # an Arabic-Indic digit is not a number a file writes
    path = write(tmp_path, "a,y\n" + "".join(f"{i},{'1_0' if i % 2 else '10'}\n" for i in range(10)))
    _, profile = ingest(path)
    assert profile.class_counts == {"10": 5, "1_0": 5} and profile.label_kind == "str"


# --- quoted fields spanning lines -----------------------------------------------------------------


MULTI = 'a,b,y\n1,2,"x\ny"\n' + "".join(f"{i},{i},{i % 2}\n" for i in range(5))


def test_an_error_after_a_multi_line_field_names_the_physical_line(tmp_path):
    refused(write(tmp_path, MULTI + "7,oops,1\n"), r"column 'b' holds non-numeric value 'oops' at line 9;")


def test_a_wrong_field_count_after_multi_line_fields_names_the_physical_line(tmp_path):
    text = 'a,c,y\n1,"one\ntwo\nthree",0\n\n2,"a ""quoted"" word",1\n3,4\n'
    refused(write(tmp_path, text), r"line 7 has 2 fields, expected 3", categorical_columns=["c"])


def test_a_missing_label_after_multi_line_fields_in_many_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK_MIN", 4096)
    monkeypatch.setattr(readers, "CSV_BLOCK_MAX", 4096)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 100)
    lines = ["a,note,y"]
    for i in range(2000):
        lines.append(f'{i},"first\nsecond",{i % 2}' if i % 10 == 0 else f"{i},plain,{i % 2}")
    lines[1500] = "1499,plain,"  # data row 1499 (no note): physical line 1 + 1500 + 150 spanning rows before it
    path = write(tmp_path, "\n".join(lines) + "\n")
    refused(path, r"target column 'y' has missing label\(s\) at line 1651$", categorical_columns=["note"])


def test_a_quote_inside_a_comment_does_not_shift_the_lines_after_it(tmp_path):
    text = 'a,c,y\n# a 5" pipe, "unbalanced\n1,x,0\n\n2,"multi\nline",1\nbad,z,0\n'
    refused(write(tmp_path, text), r"column 'a' holds non-numeric value 'bad' at line 7;", comment_prefix="#", categorical_columns=["c"])
