"""Tests for compressed CSV: every codec Arrow streams, told by content, read as the plain file would be."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from flyte.core.data.formats import csv_reader as readers

from flyte.core.data import tables
from flyte.core.data.formats.compression import codec_of, open_bytes
from flyte.core.common.errors import DataValidationError
from flyte.core.data.ingest import DatasetSpec, ingest_table
from tests.data_factory import read_frame

CODECS = ["gzip", "bz2", "zstd", "lz4"]
SUFFIX = {"gzip": ".gz", "bz2": ".bz2", "zstd": ".zst", "lz4": ".lz4"}


def compress(data: bytes, codec: str, path: Path) -> Path:
    """``data`` written to ``path`` through pyarrow's own compressing stream."""
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(data)
    return path


def numbered(rows: int) -> bytes:
    return ("a,b,y\n" + "".join(f"{i},{2 * i},{i % 2}\n" for i in range(rows))).encode()


def ingest(path: Path, **options):
    spec = DatasetSpec(**{"source": str(path), "target": "y", "min_rows_per_class": 1, **options})
    result = ingest_table(path, spec, path.parent / f"{path.name}-table")
    return read_frame(path.parent / f"{path.name}-table"), result.profile


@pytest.mark.parametrize("codec", CODECS)
def test_each_codec_reads_as_the_plain_file(tmp_path, codec):
    plain = tmp_path / "plain.csv"
    plain.write_bytes(numbered(50))
    packed = compress(numbered(50), codec, tmp_path / f"data.csv{SUFFIX[codec]}")
    assert codec_of(packed) == codec and codec_of(plain) == ""
    expected, expected_profile = ingest(plain)
    frame, profile = ingest(packed)
    assert frame.equals(expected)
    assert profile.class_counts == expected_profile.class_counts == {"0": 25, "1": 25}
    assert profile.table_sha256 == expected_profile.table_sha256  # the same table, whatever the file's packing


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_the_codec_is_told_by_content_not_by_name(tmp_path, codec):
    disguised = compress(numbered(20), codec, tmp_path / "data.csv")
    frame, profile = ingest(disguised)
    assert profile.rows == 20 and frame["b"].tolist()[-1] == 38.0


@pytest.mark.parametrize("codec", CODECS)
def test_errors_in_a_compressed_file_name_the_line_of_its_text(tmp_path, codec):
    text = numbered(30).replace(b"\n7,14,1\n", b"\n7,oops,1\n")
    packed = compress(text, codec, tmp_path / f"data.csv{SUFFIX[codec]}")
    with pytest.raises(DataValidationError, match=r"column 'b' holds non-numeric value 'oops' at line 9;"):
        ingest(packed)


def test_a_compressed_file_streams_in_many_blocks_with_comments(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK_MIN", 4096)
    monkeypatch.setattr(readers, "CSV_BLOCK_MAX", 4096)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 100)
    text = b"# exported\n" + numbered(3000) + b"# the end\n"
    frame, profile = ingest(compress(text, "gzip", tmp_path / "big.csv.gz"), comment_prefix="#")
    assert profile.rows == 3000 and frame["a"].tolist() == [float(i) for i in range(3000)]


def test_binary_inside_the_compression_is_still_refused(tmp_path):
    packed = tmp_path / "data.csv.gz"
    packed.write_bytes(gzip.compress(b"a,b,y\n\x00\x01\x02binary\n"))
    with pytest.raises(DataValidationError, match=r"data\.csv\.gz: line 2 holds binary data \(a NUL byte\)"):
        ingest(packed)


def test_a_truncated_file_is_a_one_line_error(tmp_path):
    whole = gzip.compress(numbered(5000))
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataValidationError, match=r"cut\.csv\.gz: ") as info:
        ingest(cut)
    assert "\n" not in info.value.message and len(info.value.message) < 400


def test_open_bytes_decompresses_and_reads_lines(tmp_path):
    packed = compress(b"first\nsecond\n", "bz2", tmp_path / "x.bz2")
    with open_bytes(packed) as fh:
        assert fh.readline() == b"first\n" and list(fh) == [b"second\n"]


def test_plain_text_named_like_a_compressed_file_is_read_as_text(tmp_path):
    """Arrow alone would take the codec from the name and fail; the content says it is plain."""
    path = tmp_path / "data.csv.gz"
    path.write_bytes(numbered(12))
    assert codec_of(path) == ""
    assert ingest(path)[1].rows == 12
