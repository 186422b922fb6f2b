"""Tests for flyte.core.data.tables: all-or-nothing table writes, batched reads, and the prefetching reader."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data import tables
from flyte.core.common.errors import DataValidationError
from flyte.core.data.tables import TableWriter, iter_batches, num_rows, part_files, prefetch, read_columns

SCHEMA = pa.schema([("x", pa.float64()), ("label", pa.string())])


def batch(start: int, rows: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([float(i) for i in range(start, start + rows)]), pa.array(["a", "b"] * (rows // 2))], schema=SCHEMA
    )


def test_committed_table_reads_back_in_order_and_in_batches(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=100) as writer:
        for start in range(0, 1000, 50):
            writer.write(batch(start, 50))
        digest = writer.commit()
    assert len(digest) == 64 and num_rows(tmp_path / "t") == 1000
    batches = list(iter_batches(tmp_path / "t", columns=["x"], rows=100))
    assert [b.num_rows for b in batches] == [100] * 10 and batches[0].schema.names == ["x"]
    assert read_columns(tmp_path / "t", ["x"]).column(0).to_pylist() == [float(i) for i in range(1000)]


def test_an_error_inside_the_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="batch 37"):
        with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=10) as writer:
            for i in range(100):
                if i == 37:
                    raise RuntimeError("batch 37")
                writer.write(batch(i * 10, 10))
    assert list(tmp_path.iterdir()) == []


class _FailingWriter:
    """A ParquetWriter whose third row group fails as a full disk would, on the writing thread."""

    def __init__(self, real):
        self.real, self.groups = real, 0

    def write_table(self, table, row_group_size=None):
        self.groups += 1
        if self.groups == 3:
            raise OSError(28, "No space left on device")
        self.real.write_table(table, row_group_size)

    def close(self):
        self.real.close()


@pytest.mark.parametrize("fails_at", ["write", "commit"])
def test_a_failed_write_on_the_writing_thread_is_raised_to_the_caller_and_leaves_nothing(tmp_path, fails_at):
    batches = 200 if fails_at == "write" else 3  # either a later write sees the failure, or the commit does
    with pytest.raises(OSError, match="No space left"):
        with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=10) as writer:
            writer._writer = _FailingWriter(writer._writer)
            for i in range(batches):
                writer.write(batch(i * 10, 10))
            writer.commit()
    assert list(tmp_path.iterdir()) == []


def test_many_row_groups_keep_their_order_through_the_writing_thread(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=4) as writer:
        for start in range(0, 4000, 2):
            writer.write(batch(start, 2))
        writer.commit()
    assert read_columns(tmp_path / "t", ["x"]).column(0).to_pylist() == [float(i) for i in range(4000)]


def test_leaving_without_commit_publishes_nothing(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA) as writer:
        writer.write(batch(0, 10))
    assert list(tmp_path.iterdir()) == []


def test_equal_content_gives_equal_digests(tmp_path):
    digests = []
    for name in ("one", "two"):
        with TableWriter(tmp_path / name, SCHEMA) as writer:
            writer.write(batch(0, 20))
            digests.append(writer.commit())
    assert digests[0] == digests[1]


def test_the_digest_is_of_the_bytes_on_disk_over_many_row_groups(tmp_path):
    """The digest is taken as Arrow writes, not read back: it must still be the committed file's sha256."""
    from flyte.core.common.files import file_sha256

    with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=7) as writer:
        for start in range(0, 100, 10):
            writer.write(batch(start, 10))
        digest = writer.commit()
    assert digest == file_sha256(part_files(tmp_path / "t")[0])
    assert pq.ParquetFile(part_files(tmp_path / "t")[0]).metadata.num_row_groups > 10


def test_text_columns_read_as_dictionaries_hold_the_same_values(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA, row_group_rows=6) as writer:
        writer.write(batch(0, 20))
        writer.commit()
    plain = list(iter_batches(tmp_path / "t"))
    coded = list(iter_batches(tmp_path / "t", dictionary=["label", "x"]))  # x is a number: read as it is
    assert [b.num_rows for b in coded] == [b.num_rows for b in plain] and len(coded) > 1
    assert all(pa.types.is_dictionary(b.schema.field("label").type) for b in coded)
    assert all(b.schema.field("x").type == pa.float64() for b in coded)
    assert [v for b in coded for v in b.column(1).to_pylist()] == [v for b in plain for v in b.column(1).to_pylist()]


def test_hidden_files_are_not_parts(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA) as writer:
        writer.write(batch(0, 10))
        writer.commit()
    (tmp_path / "t" / "_SUCCESS").write_text("")
    assert [p.name for p in part_files(tmp_path / "t")] == ["part-00000.parquet"]
    with pytest.raises(FileNotFoundError, match="holds no Parquet parts"):
        part_files(tmp_path)


def test_batch_rows_shrink_for_wide_tables():
    assert tables.batch_rows(8) == tables.ROW_GROUP_ROWS
    assert tables.batch_rows(10_000) * 10_000 * 8 <= tables.BATCH_BYTES
    # Never below MIN_BATCH_ROWS: a row group's cost per column chunk outweighs the bytes it saves.
    assert tables.batch_rows(50_000) == tables.MIN_BATCH_ROWS
    assert tables.batch_rows(50_000) * 50_000 * 8 > tables.BATCH_BYTES


def test_prefetch_yields_everything_and_reraises_in_the_caller():
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))

    def failing():
        yield 1
        raise ValueError("in the producer")

    with pytest.raises(ValueError, match="in the producer"):
        list(prefetch(failing()))


def test_prefetch_stops_its_producer_when_the_consumer_stops():
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    for item in prefetch(endless(), depth=2):
        if item == 3:
            break
    assert len(produced) <= 3 + 4  # the consumer's items, the queue, and one in hand


def test_asking_for_a_column_the_table_lacks_is_refused(tmp_path):
    with TableWriter(tmp_path / "t", SCHEMA) as writer:
        writer.write(batch(0, 10))
        writer.commit()
    with pytest.raises(DataValidationError, match=r"no column\(s\) \['target'\]; the table has \['x', 'label'\]"):
        list(iter_batches(tmp_path / "t", columns=["target"]))
    with pytest.raises(DataValidationError, match=r"no column\(s\) \['target'\]"):
        read_columns(tmp_path / "t", ["x", "target"])


def test_a_schema_parquet_cannot_hold_leaves_nothing(tmp_path):
    unwritable = pa.schema([("a", pa.struct([]))])  # Arrow cannot write a struct with no fields to Parquet
    with pytest.raises(pa.ArrowNotImplementedError, match="no child field"):
        TableWriter(tmp_path / "t", unwritable)
    assert list(tmp_path.iterdir()) == []
