"""Tests for flyte.core.data.formats.csv_reader' messages about files that are not CSV text: short, printable, quiet."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import ECHO_CHARS, DataValidationError
from flyte.core.data.ingest import ingest_table


def spec_for(path) -> DatasetSpec:
    return DatasetSpec(source=str(path), has_header=True, target="y", min_rows_per_class=1)


def test_random_bytes_are_refused_as_not_text_without_echoing_them(tmp_path, capfd):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes([0x02, 0x82]) + random.Random(3).randbytes(3000))
    with pytest.raises(DataValidationError) as raised:
        ingest_table(path, spec_for(path), tmp_path / "table")
    message = str(raised.value)
    assert message.startswith(f"{path}: line 1 holds") and message.isprintable() and len(message) < 300
    # pyarrow used to print a UnicodeDecodeError from inside its bad-row handler; nothing reaches stderr now.
    assert capfd.readouterr().err == ""
    assert not (tmp_path / "table").exists()


def test_a_parquet_file_named_csv_gets_the_file_format_hint(tmp_path):
    path = tmp_path / "table.csv"
    pq.write_table(pa.table({"a": [1.0, 2.0], "y": [0, 1]}), path)
    with pytest.raises(DataValidationError, match=r"not a utf-8 text file, so not a CSV|not valid utf-8") as raised:
        ingest_table(path, spec_for(path), tmp_path / "table")
    assert "set file_format to parquet" in raised.value.hint


def test_a_long_bad_line_is_quoted_cut_short(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,y\n1,0\n" + ",".join(["9"] * 5000) + "\n")
    with pytest.raises(DataValidationError, match=r"line 3 has 5000 fields, expected 2") as raised:
        ingest_table(path, spec_for(path), tmp_path / "table")
    quoted = str(raised.value).split("expected 2: ", 1)[1]
    assert len(quoted) <= ECHO_CHARS + 10 and "(9999 characters)" in quoted


def test_a_long_non_numeric_value_is_quoted_cut_short(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,y\n1,0\n" + "x" * 10_000 + ",1\n")
    with pytest.raises(DataValidationError, match=r"column 'a' holds non-numeric value 'x{100}\.\.\.\(10000 characters\)' at line 3"):
        ingest_table(path, spec_for(path), tmp_path / "table")
