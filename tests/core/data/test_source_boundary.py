"""A source stays inside its boundary: bundled:// names only the bundled data directory, and no error message
quotes more than about ECHO_CHARS characters of data, however large the value, header or URL."""

from __future__ import annotations

import pytest

from flyte.core.data import dataset
from flyte.core.data.dataset import DatasetSpec, local_path
from flyte.core.common.errors import ECHO_CHARS, MAX_MESSAGE_CHARS, DataValidationError, shorten_names
from flyte.core.data.ingest import ingest_table


@pytest.mark.parametrize("source", [
    "bundled://../../../../etc/passwd",
    "bundled://..%2f..%2fetc/passwd".replace("%2f", "/"),
    "bundled:///etc/passwd",
    "bundled://models/../../cli.py",
])  # fmt: skip
def test_bundled_refuses_a_name_outside_the_data_directory(source):
    with pytest.raises(DataValidationError, match="bundled:// names a file inside the bundled data directory only") as raised:
        local_path(source)
    assert "\n" not in str(raised.value) and "root:" not in str(raised.value)


def test_bundled_refuses_a_symlink_leading_out(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "inside.csv").write_text("a,y\n1,0\n")
    (data / "escape.csv").symlink_to(tmp_path / "secret.csv")
    (tmp_path / "secret.csv").write_text("secret\n")
    monkeypatch.setattr(dataset, "DATA_DIR", data)
    assert local_path("bundled://inside.csv") == (data / "inside.csv").resolve()
    with pytest.raises(DataValidationError, match="inside the bundled data directory only"):
        local_path("bundled://escape.csv")


def test_bundled_still_reads_the_shipped_files():
    assert local_path("bundled://pima-indians-diabetes.data.csv").is_file()
    assert local_path("bundled://models/pima").is_dir()


def test_a_huge_header_is_quoted_in_a_few_names_only(tmp_path):
    """A 1.4 MB header line: the error names the missing target and shows a few columns and the count."""
    names = [f"column_{i:06d}_" + "x" * 100 for i in range(12_000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    assert path.stat().st_size > 1_400_000
    spec = DatasetSpec(source=str(path), target="label")
    with pytest.raises(DataValidationError, match="target column 'label' not found; columns are") as raised:
        ingest_table(path, spec, tmp_path / "out")
    message = str(raised.value)
    assert len(message) < len(str(path)) + 100 + ECHO_CHARS and "(12000 in all)" in message
    assert not (tmp_path / "out").exists()


def test_a_huge_value_in_a_message_is_cut():
    error = DataValidationError("x: " + "y" * 1_400_000, hint="z" * 10_000)
    assert len(str(error)) <= MAX_MESSAGE_CHARS and len(error.message) <= MAX_MESSAGE_CHARS
    assert len(error.hint) <= MAX_MESSAGE_CHARS and "cut from" in error.message


def test_shorten_names_keeps_short_lists_whole_and_counts_long_ones():
    assert shorten_names(["a", "b"]) == "['a', 'b']"
    long = shorten_names([f"name{i}" for i in range(1000)])
    assert len(long) <= ECHO_CHARS + 10 and long.startswith("['name0', 'name1'") and long.endswith("(1000 in all)]")
    assert len(shorten_names(["x" * 10_000])) <= ECHO_CHARS + 10
