"""Raw-file readers: a CSV or Parquet source as typed record batches, each knowing its first line or row."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Iterator, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flyte.core.dataset import DatasetSpec
from flyte.core.errors import DataValidationError
from flyte.core.tables import batch_rows

#: Rows of CSV parsed per batch, estimated from the first line's length; the block size is clamped
#: between these byte counts so a wide table still gets hundreds of rows per batch and a narrow one
#: does not hold more than a few MiB.
CSV_BLOCK_ROWS = 16384
CSV_BLOCK_MIN, CSV_BLOCK_MAX = 1 << 20, 32 << 20

#: Characters of the data quoted in an error message at most: a binary or one-line file must not flood a terminal.
ECHO_CHARS = 120
#: Bytes at the start of a CSV checked to be UTF-8 text before pyarrow parses it. pyarrow cannot hand a bad
#: row that is not UTF-8 to the bad-row handler (it fails decoding it, prints a stray UnicodeDecodeError,
#: then reports the raw bytes); refusing such a file first gives one clear message instead.
TEXT_CHECK_BYTES = 1 << 16

#: Arrow's message for a value it could not convert, e.g.
#: "In CSV column #1: Row #5: CSV conversion error to double: invalid value 'abc'".
_CONVERSION_ERROR = re.compile(r"column #(\d+): Row #(\d+): CSV conversion error to \w+: invalid value '(.*)'", re.S)


class Roles(NamedTuple):
    target: str
    features: list[str]
    categorical: list[str]


def check_unique(names: list[str], what: str) -> None:
    seen, dupes = set(), []
    for n in names:
        if n in seen:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise DataValidationError(f"{what} repeats column name(s) {sorted(set(dupes))}")


class CsvSource:
    """A CSV read in blocks by pyarrow's streaming reader, single-threaded so every error knows its line."""

    unit = "line"

    def __init__(self, path: Path, spec: DatasetSpec):
        self.path, self.spec, self.name = path, spec, spec.source
        _check_text(path, self.name)
        self.block_size = _block_size(path)
        if spec.has_header:
            self.names = self._header()
            check_unique(self.names, f"{self.name}: header")
        else:
            self.names = list(spec.column_names)
            if not self.names:
                raise DataValidationError(f"{self.name}: has_header is false, so column_names must list the columns")
            check_unique(self.names, f"{self.name}: column_names")

    def _header(self) -> list[str]:
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=self.block_size),
                parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
            )
        except pa.ArrowInvalid as exc:
            raise DataValidationError(f"{self.name}: cannot parse as CSV: {_cut(str(exc))}") from exc
        names = reader.schema.names
        reader.close()
        return names

    def output_schema(self, roles: Roles) -> pa.Schema:
        return pa.schema([(c, self._type(c, roles)) for c in self.names])

    @staticmethod
    def _type(column: str, roles: Roles) -> pa.DataType:
        # Labels and categories stay text whatever they look like; every other column must be a number,
        # so a stray word is reported rather than silently turning the column into text.
        return pa.string() if column == roles.target or column in roles.categorical else pa.float64()

    def batches(self, roles: Roles) -> Iterator[tuple[pa.RecordBatch, int]]:
        bad_rows = []

        def on_bad_row(row) -> str:
            bad_rows.append(row)
            return "skip"

        first = 2 if self.spec.has_header else 1  # file line of the next batch's first row
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(
                    column_names=None if self.spec.has_header else self.names,
                    use_threads=False,
                    block_size=self.block_size,
                ),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad_row),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: self._type(c, roles) for c in self.names}, strings_can_be_null=True
                ),
            )
            for batch in reader:
                self._raise_bad_rows(bad_rows)
                yield batch, first
                first += batch.num_rows
            self._raise_bad_rows(bad_rows)
        except pa.ArrowInvalid as exc:
            raise self._conversion_error(exc) from exc

    def _raise_bad_rows(self, bad_rows: list) -> None:
        if bad_rows:
            row = bad_rows[0]
            line = row.number if row.number and row.number > 0 else "?"
            raise DataValidationError(
                f"{self.name}: line {line} has {row.actual_columns} fields, expected {row.expected_columns}: {_echo(row.text)}"
                + (f" (and {len(bad_rows) - 1} more such lines)" if len(bad_rows) > 1 else "")
            )

    def _conversion_error(self, exc: pa.ArrowInvalid) -> DataValidationError:
        found = _CONVERSION_ERROR.search(str(exc))
        if not found:
            return DataValidationError(f"{self.name}: cannot parse as CSV: {_cut(str(exc))}")
        column, line, value = self.names[int(found[1])], int(found[2]), found[3]
        return DataValidationError(
            f"{self.name}: column {column!r} holds non-numeric value {_echo(value)} at line {line}; "
            f"list it in categorical_columns if it is a category"
        )


def _cut(text: str) -> str:
    return text if len(text) <= ECHO_CHARS else text[:ECHO_CHARS] + "…"


def _echo(text: str) -> str:
    """Data quoted in a message: as a Python literal (control characters escaped), at most ECHO_CHARS long."""
    return repr(_cut(text))


def _check_text(path: Path, name: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(TEXT_CHECK_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
        bad = head.find(b"\x00")
    except UnicodeDecodeError as exc:
        bad = exc.start
    if bad >= 0:
        raise DataValidationError(
            f"{name}: not a UTF-8 text file (byte 0x{head[bad]:02x} at offset {bad}), so not a CSV",
            hint="if it is a Parquet file, set file_format to parquet; if it is text in another encoding, save it as UTF-8",
        )


def _block_size(path: Path) -> int:
    with open(path, "rb") as fh:
        first_line = len(fh.readline())
    return int(min(CSV_BLOCK_MAX, max(CSV_BLOCK_MIN, first_line * CSV_BLOCK_ROWS)))


class ParquetSource:
    """A Parquet file read row group by row group; text in a numeric column is converted or refused."""

    unit = "row"

    def __init__(self, path: Path, spec: DatasetSpec):
        self.name = spec.source
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataValidationError(f"{self.name}: cannot read as Parquet: {exc}") from exc
        self.source_schema = self.file.schema_arrow
        self.names = self.source_schema.names
        check_unique(self.names, f"{self.name}: columns")

    def output_schema(self, roles: Roles) -> pa.Schema:
        return pa.schema([(f.name, self._type(f, roles)) for f in self.source_schema])

    @staticmethod
    def _type(f: pa.Field, roles: Roles) -> pa.DataType:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if f.name == roles.target:
            return pa.string() if pa.types.is_large_string(t) else t
        return pa.string() if f.name in roles.categorical else pa.float64()

    def batches(self, roles: Roles) -> Iterator[tuple[pa.RecordBatch, int]]:
        schema, first = self.output_schema(roles), 1
        try:
            # Row group by row group: the file's own unit, and ParquetFile.iter_batches grew without bound here.
            for group in range(self.file.metadata.num_row_groups):
                for batch in self.file.read_row_group(group).to_batches(max_chunksize=batch_rows(len(self.names))):
                    columns = [self._cast(batch.column(i), f, first) for i, f in enumerate(schema)]
                    yield pa.RecordBatch.from_arrays(columns, schema=schema), first
                    first += batch.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataValidationError(f"{self.name}: cannot read as Parquet: {exc}") from exc

    def _cast(self, column: pa.Array, f: pa.Field, first: int) -> pa.Array:
        if column.type == f.type:
            return column
        try:
            return pc.cast(column, f.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = column.to_pylist()
            for i, v in enumerate(values):
                if v is not None and _not_a_number(v):
                    raise DataValidationError(
                        f"{self.name}: column {f.name!r} holds non-numeric value {v!r} at row {first + i}; "
                        f"list it in categorical_columns if it is a category"
                    ) from None
            raise


def _not_a_number(value) -> bool:
    try:
        float(value)
        return False
    except (TypeError, ValueError):
        return True
