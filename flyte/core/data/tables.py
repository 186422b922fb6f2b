"""Tables on disk between stages: a directory of Parquet parts, written all or nothing and read in batches."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from queue import Queue
from typing import Iterable, Iterator, Sequence, TypeVar

T = TypeVar("T")

import pyarrow as pa
import pyarrow.parquet as pq

from flyte.core.common.errors import DataValidationError, shorten_names
from flyte.core.common.files import HashingFile

PART_PATTERN = "part-{:05d}.parquet"

#: Rows per Parquet row group (and so per batch a reader gets back at most). Large enough that per-batch
#: overhead is small, small enough that one batch of an 8-feature table is a few MiB.
ROW_GROUP_ROWS = 256 * 1024

#: Files with more columns than this are read on one thread: per column chunk, threads cost more than they save.
THREADED_COLUMNS = 1024

#: What one in-memory batch may hold, in bytes of column data; wide tables get fewer rows per batch.
BATCH_BYTES = 32 << 20


#: Row groups a TableWriter may have in flight on its writing thread (queued or being written), besides the one it
#: is gathering: each costs one row group of memory per writer (split has three).
WRITE_AHEAD = 1

#: The fewest rows per batch and row group, whatever the width: each row group costs a footer entry, an encode and a
#: decode call per column chunk, so at 50,000 columns three groups of 83 rows took three times one group of 200.
MIN_BATCH_ROWS = 256


def batch_rows(num_columns: int, bytes_per_value: int = 8) -> int:
    """Rows per batch so that a batch of ``num_columns`` columns stays near BATCH_BYTES (above it only for tables
    wider than BATCH_BYTES / MIN_BATCH_ROWS / 8, about 16,000 columns, which get MIN_BATCH_ROWS rows)."""
    return min(ROW_GROUP_ROWS, max(MIN_BATCH_ROWS, BATCH_BYTES // max(1, num_columns * bytes_per_value)))


def part_files(directory: Path) -> list[Path]:
    """The table's Parquet parts in order (files starting with ``_`` or ``.`` are not data)."""
    directory = Path(directory)
    if directory.is_file():
        return [directory]
    parts = sorted(p for p in directory.iterdir() if p.suffix == ".parquet" and not p.name.startswith(("_", ".")))
    if not parts:
        raise FileNotFoundError(f"{directory}: holds no Parquet parts")
    return parts


def schema(directory: Path) -> pa.Schema:
    """Column names and types, from the first part's footer (no data is read)."""
    return pq.read_schema(part_files(directory)[0])


def num_rows(directory: Path) -> int:
    """Row count, from the parts' footers (no data is read)."""
    return sum(part_rows(p) for p in part_files(directory))


def part_rows(part: Path) -> int:
    """The part's row count from its footer, parsed once per version of the file (about 0.4 s at 50,000 columns;
    only the count is kept: a wide footer takes about 180 MB in memory)."""
    st = os.stat(part)
    return _part_rows(str(part), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _part_rows(path: str, inode: int, size: int, mtime_ns: int) -> int:
    return pq.read_metadata(path).num_rows


def iter_batches(directory: Path, columns: Sequence[str] | None = None, rows: int | None = None,
                 dictionary: Sequence[str] = ()) -> Iterator[pa.RecordBatch]:  # fmt: skip
    """Stream the table's rows in file order, at most ``rows`` at a time, reading only ``columns``.

    ``dictionary``: text columns to read as Arrow dictionaries, as Parquet stores them (a row group's distinct
    values once, then an index per row): for labels turned into class codes, six times cheaper than reading every
    row's text and encoding it again. Columns of other types in it are read as they are.

    Reads one row group at a time, so memory stays at about one row group (bounded by the writer) whatever
    the table's size. ``ParquetFile.iter_batches`` is not used: its memory grew with every batch here
    (pyarrow 26; apache/arrow#39808 reports the same for Dataset.to_batches).
    """
    for part in part_files(directory):
        pf = pq.ParquetFile(part, read_dictionary=list(dictionary) or None)
        # schema_arrow is rebuilt from the footer on every access (about 0.5 s at 50k columns): read it once.
        names = pf.schema_arrow.names
        position = {name: i for i, name in enumerate(names)}
        absent = [c for c in columns or () if c not in position]
        if absent:  # pyarrow would silently return no column for a name it does not know
            raise DataValidationError(f"{directory}: no column(s) {shorten_names(absent)}; the table has {shorten_names(names)}")
        size = rows or batch_rows(len(columns) if columns is not None else len(names))
        # Most of a wide file's columns: read them all and pick by position, as pyarrow's lookup of many names costs
        # more than the read. Threads only for narrow files: at thousands of tiny column chunks they cost twice the CPU.
        wanted = None if columns is None or 2 * len(columns) < len(names) else [position[c] for c in columns]
        threads = len(names) <= THREADED_COLUMNS
        for group in range(pf.metadata.num_row_groups):
            if wanted is not None:
                table = pf.read_row_group(group, use_threads=threads).select(wanted)
            else:
                table = pf.read_row_group(group, columns=list(columns) if columns is not None else None, use_threads=threads)
            yield from table.to_batches(max_chunksize=size)
            del table
        pf.close()


def read_columns(directory: Path, columns: Sequence[str]) -> pa.Table:
    """The named columns of every row, and nothing else (for a target or probability columns)."""
    names = schema(directory).names
    present = set(names)
    absent = [c for c in columns if c not in present]
    if absent:
        raise DataValidationError(f"{directory}: no column(s) {shorten_names(absent)}; the table has {shorten_names(names)}")
    return pa.concat_tables(pq.read_table(p, columns=list(columns)) for p in part_files(directory))


def _listed(names: list[str], most: int = 20) -> str:
    """The column names for a message, or their count when there are too many to list in one line."""
    return str(names) if len(names) <= most else f"{len(names)} columns"


class TableWriter:
    """Writes record batches to a new table directory, publishing it only when closed without error.

    Batches go to a hidden staging directory beside the destination; ``commit`` renames it into place.
    Leaving the ``with`` block by an exception deletes the staging directory, so a failure half-way
    through leaves no partial table behind.
    """

    def __init__(self, directory: Path, schema: pa.Schema, row_group_rows: int | None = None):
        self.directory = Path(directory)
        if self.directory.exists():
            raise FileExistsError(f"{self.directory}: already exists; refusing to overwrite a table")
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        # Row groups are what readers hold at once, so a wide table gets fewer rows per group.
        self.row_group_rows = row_group_rows or batch_rows(len(schema))
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}-", dir=self.directory.parent))
        self._part = self._staging / PART_PATTERN.format(0)
        # Dictionary-encode only text (labels, categories): trying it on high-cardinality numbers made
        # writes three times slower for no saving. Snappy is cheap and saves space on real data.
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        # The bytes are hashed as Arrow writes them (a Parquet file is written front to back, never revisited), on
        # the writing thread: commit then needs no second read of the whole part.
        self._sink = HashingFile(self._part)
        try:
            self._writer = pq.ParquetWriter(self._sink, schema, compression="snappy", use_dictionary=text)
        except BaseException:  # a schema Parquet cannot hold: nothing may stay behind
            self._sink.close()
            shutil.rmtree(self._staging, ignore_errors=True)
            raise
        # Row groups are encoded and written on a thread of their own (Arrow releases the GIL while it encodes), so
        # the caller's work on its next batch (parsing, hashing, predicting) overlaps with writing this one.
        self._queue: Queue = Queue()
        self._in_flight = threading.Semaphore(WRITE_AHEAD)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=f"write-{self.directory.name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (table := self._queue.get()) is not None:
            try:
                if self._failure is None:  # after a failure, keep taking tables so the caller never waits for a slot
                    self._writer.write_table(table, self.row_group_rows)
            except BaseException as exc:  # raised in the caller's thread by its next write or commit
                self._failure = exc
            finally:
                del table  # not held while waiting for the next one: at most WRITE_AHEAD row groups are alive here
                self._in_flight.release()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _finish_writes(self) -> None:
        """Wait until every queued row group is written (the thread then ends)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def write(self, batch: pa.RecordBatch) -> None:
        """Queue a batch; whole row groups are written as soon as enough rows have arrived."""
        if batch.num_rows:
            self._pending.append(batch)
            self._pending_rows += batch.num_rows
            self.rows += batch.num_rows
            if self._pending_rows >= self.row_group_rows:
                self._flush()

    def _flush(self) -> None:
        # Small batches (a narrow CSV block) are gathered into one row group rather than one group each.
        self._raise_failure()
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            self._pending, self._pending_rows = [], 0
            self._in_flight.acquire()  # wait for the thread to finish the previous row group: memory stays bounded
            self._queue.put(table)

    def commit(self) -> str:
        """Close the part, move the table into place and return the sha256 of its Parquet bytes."""
        self._flush()
        self._finish_writes()
        self._raise_failure()
        self._writer.close()
        self._sink.close()
        os.replace(self._staging, self.directory)
        return self._sink.hexdigest()

    def abort(self) -> None:
        """Discard what was written, unless it was already committed (then there is nothing to discard)."""
        if not self._staging.exists():
            return
        try:
            self._finish_writes()
            self._writer.close()
        finally:
            self._sink.close()
            shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.abort()  # an exception, or a caller that never committed: publish nothing


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` while a thread produces the next ``depth`` of them.

    Arrow parses and decodes without holding the GIL, so reading the next batch overlaps with whatever
    the caller does to this one. An error in the producer is raised here, in the caller's thread.
    """
    queue: Queue = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((item, None))
            queue.put((done, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put((done, exc))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue, then let it finish
            while not queue.empty():
                queue.get_nowait()
            thread.join(timeout=0.05)
