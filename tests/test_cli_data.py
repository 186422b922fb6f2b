"""The data path through the project command line: a compressed CSV trains, and inputs that once crashed with a
raw traceback are refused in one line."""

from __future__ import annotations

import gzip
import json

import pytest

from flyte import cli
from flyte.core.common.errors import DataValidationError
from flyte.core.common.validation import check_json_arguments
from tests.test_cli import TRACEBACK_HINT, dataset, project_run


def training_csv(rows: int = 200) -> str:
    """A header and ``rows`` rows whose label follows features a and b together (neither alone decides it, so the
    leakage check passes), ending in a blank line."""
    return "a,b,y\n" + "".join(f"{i % 17},{(i * 7) % 11},{int(i % 17 + (i * 7) % 11 > 13)}\n" for i in range(rows)) + "\n"


def assert_one_line_error(run, first_line_pattern: str) -> None:
    import re

    assert run.returncode == cli.EXIT_USER_ERROR, run.stderr[-2000:]
    assert re.fullmatch(first_line_pattern, run.err_lines[0]), run.err_lines[0]
    assert run.err_lines[-1] == TRACEBACK_HINT and len(run.err_lines) <= 3
    assert "Traceback" not in run.stdout + run.stderr
    assert all(len(line) <= 400 for line in run.err_lines)


def test_a_gzip_csv_ending_in_a_blank_line_trains(tmp_path):
    source = tmp_path / "data.csv.gz"
    source.write_bytes(gzip.compress(training_csv().encode()))
    run = project_run(tmp_path, *dataset(source, missing_values=["?"]), "--hyperparameters", '{"max_rounds": 5}')
    assert run.returncode == 0, run.stderr[-3000:]
    assert list((tmp_path / "local" / "outputs").rglob("model.ubj")), "no model was written"


def test_a_file_name_too_long(tmp_path):
    source = tmp_path / ("x" * 300 + ".csv")
    run = project_run(tmp_path, *dataset(source))
    assert_one_line_error(run, r"Error: fingerprint failed: .{1,120}\(\d+ characters\): cannot open: File name too long")
    assert run.err_lines[1].startswith("Hint: a file or folder name is limited to 255 bytes")


def test_skip_rows_past_the_end(tmp_path):
    source = tmp_path / "data.csv"
    source.write_text(training_csv(20))
    run = project_run(tmp_path, *dataset(source, skip_rows=500))
    assert_one_line_error(run, rf"Error: ingest failed: {source}: skip_rows is 500 but the file has only 22 line\(s\)")


def test_a_spec_nested_thirty_thousand_levels_deep(tmp_path):
    run = project_run(tmp_path, "--dataset", '{"source": ' + "[" * 30000 + "]" * 30000 + "}")
    assert run.returncode == cli.EXIT_USER_ERROR
    assert run.err_lines == ["Error: --dataset: JSON nested more than 32 levels deep",
                             "Hint: an input is a flat JSON object of values and lists"]  # fmt: skip
    assert "Traceback" not in run.stdout + run.stderr


def test_deep_json_arguments_are_found_in_both_option_spellings_and_not_in_strings():
    deep = "[" * 40 + "]" * 40
    with pytest.raises(DataValidationError, match=r"^--dataset: JSON nested more than 32 levels deep$"):
        check_json_arguments(["run", "f.py", "wf", "--dataset", deep])
    with pytest.raises(DataValidationError, match=r"^--hyperparameters: JSON nested"):
        check_json_arguments(["run", "f.py", "wf", f"--hyperparameters={deep}"])
    check_json_arguments(["run", "f.py", "wf", "--dataset", json.dumps({"source": deep})])  # brackets in a string
    check_json_arguments(["run", "f.py", "wf", "--dataset", '{"drop_columns": [["a"]]}'])


def test_a_list_target_in_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": list(range(40)), "y": [[i % 2] for i in range(40)]}), source)
    run = project_run(tmp_path, "--dataset", json.dumps({"source": str(source), "target": "y"}))
    assert_one_line_error(run, rf"Error: ingest failed: {source}: column 'y' is of Parquet type list<element: int64>, "
                               r"which cannot be the target: numbers, booleans or text only")  # fmt: skip
