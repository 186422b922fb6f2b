"""Raw-file readers: a CSV or Parquet source as typed, cleaned record batches whose rows know their line."""

from __future__ import annotations

import bisect
import logging
import re
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flyte.core.data.formats.compression import codec_of, open_bytes
from flyte.core.data.formats.csv_text import CommentBlanker, LineNumbers, check_text, leading_lines_to_skip, null_markers, safe_text
from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError, shorten, shorten_names
from flyte.core.data.labels import is_number_text

log = logging.getLogger(__name__)

#: Rows of CSV parsed per batch, estimated from the first line's length; the block size is clamped
#: between these byte counts so a wide table still gets hundreds of rows per batch and a narrow one
#: does not hold more than a few MiB.
CSV_BLOCK_ROWS = 16384
CSV_BLOCK_MIN, CSV_BLOCK_MAX = 1 << 20, 32 << 20

#: Arrow's message for a value it could not convert, e.g.
#: "In CSV column #1: Row #5: CSV conversion error to double: invalid value 'abc'".
_CONVERSION_ERROR = re.compile(r"column #(\d+): Row #(\d+): CSV conversion error to (\w+): invalid (value '(.*)'|UTF8)", re.S)


class Roles(NamedTuple):
    """Which columns are read, in file order, and what each one is."""

    target: str
    features: list[str]
    categorical: list[str]
    columns: list[str]
    #: a regression target: read as a number like a feature, not as label text
    numeric_target: bool = False


class LineTooLong(Exception):
    """A line did not fit the reader's block; the caller reads again with a larger one."""


def check_unique(names: list[str], what: str, hint: str = "") -> None:
    seen, dupes = set(), []
    for n in names:
        if n in seen:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise DataValidationError(f"{what} repeats column name(s) {shorten(str(sorted(set(dupes))))}", hint=hint)


def roles_for(names: list[str], spec: DatasetSpec, hint: str = "") -> Roles:
    """The target, features and categorical features the spec asks for, each checked against the file's columns.

    hint: advice for a column that is not found (the source's ``header_hint``)."""
    name = spec.source
    if spec.target not in names:
        raise DataValidationError(f"{name}: target column {spec.target!r} not found; columns are {shorten_names(names)}", hint=hint)
    present = set(names)
    for option in ("categorical_columns", "drop_columns", "feature_columns", "allow_predictive_columns"):
        absent = [c for c in getattr(spec, option) if c not in present]
        if absent:
            raise DataValidationError(f"{name}: {option} names column(s) {shorten_names(absent)} not found; columns are {shorten_names(names)}", hint=hint)
    # Sets, not lists: with tens of thousands of columns a list lookup per column is quadratic.
    if spec.feature_columns:
        wanted = set(spec.feature_columns)
        features = [c for c in names if c in wanted]
    else:
        dropped = set(spec.drop_columns)
        features = [c for c in names if c != spec.target and c not in dropped]
    if not features:
        raise DataValidationError(f"{name}: no feature columns besides the target {spec.target!r}")
    feature_set = set(features)
    unused = [c for c in spec.categorical_columns if c not in feature_set]
    if unused:
        raise DataValidationError(f"{name}: categorical column(s) {unused} are not among the features {features}")
    columns = [c for c in names if c in feature_set or c == spec.target]
    return Roles(target=spec.target, features=features, categorical=list(spec.categorical_columns), columns=columns,
                 numeric_target=spec.problem_type == "regression")  # fmt: skip


def headerless_hint(header: list[str]) -> str:
    """Advice when a header row reads like data (half or more of its names are numbers): the file likely has no
    header. Real headers seldom name a column by a number; a headerless file's first row is mostly numbers,
    with a label or a category or two among them."""
    numbers = sum(is_number_text(n) for n in header)
    if numbers and numbers * 2 >= len(header):
        return ('the first line looks like data, not column names: if the file has no header, set "has_header": false '
                'and list the columns in "column_names"')  # fmt: skip
    return ""


def clean_text(column: pa.Array, spec: DatasetSpec) -> pa.Array:
    """A text column with surrounding spaces trimmed (when the spec says so) and missing-value markers as nulls."""
    if spec.trim_whitespace:
        column = pc.utf8_trim_whitespace(column)
    markers = pa.array([m.strip() if spec.trim_whitespace else m for m in spec.missing_markers()], pa.string())
    is_marker = pc.fill_null(pc.is_in(column, value_set=markers), False)
    return pc.if_else(is_marker, pa.scalar(None, pa.string()), column)


class CsvSource:
    """A CSV (or a gzip, bz2, zstd or lz4 compressed one) read in blocks by pyarrow's streaming reader,
    single-threaded so every error knows its record.

    Arrow skips empty lines (and comment lines, which CommentBlanker empties) and numbers the records it
    reads; lines of only spaces are skipped by the bad-row handler. LineNumbers turns a record number into
    the physical line it starts on, so messages name lines as an editor shows them, even after a quoted
    field that holds a newline. The records skipped are remembered to map a data row back to its record.
    """

    unit = "line"

    def __init__(self, path: Path, spec: DatasetSpec, block_size: int | None = None):
        self.path, self.spec, self.name = path, spec, spec.source
        self.block_size = block_size or _block_size(path)
        check_text(path, spec)
        # Comment and blank lines between skip_rows and the header are skipped by Arrow too (the
        # header must be the first line it sees); Arrow counts skipped lines, so numbering holds.
        self.skip = spec.skip_rows + leading_lines_to_skip(path, spec)
        self.skipped: list[int] = []  # records past the header that gave no row (blank or all-missing), sorted
        self.lines = LineNumbers(path, spec, self.skip)
        if spec.has_header:
            # Arrow reads by the header's own texts; the spec and the table use them trimmed (", " separators).
            self.raw_names = self._header()
            self.names = [n.strip() for n in self.raw_names] if spec.trim_whitespace else list(self.raw_names)
            self.header_hint = headerless_hint(self.names)
            check_unique(self.names, f"{self.name}: header", self.header_hint)
        else:
            self.raw_names = self.names = list(spec.column_names)
            self.header_hint = ""
            check_unique(self.names, f"{self.name}: column_names")
        self.first_data_record = self.skip + (2 if spec.has_header else 1)

    def _open(self, handler, column_types=None, include=None):
        if self.spec.comment_prefix:
            source = CommentBlanker(self.path, self.spec.comment_prefix, self.spec.encoding)
        else:  # Arrow would take a compressed file's codec from its name; the content says it here
            source = pa.input_stream(str(self.path), compression=codec_of(self.path) or None)
        try:
            return pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(
                    column_names=None if self.spec.has_header else self.names, use_threads=False,
                    block_size=self.block_size, skip_rows=self.skip, encoding=self.spec.encoding,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.spec.delimiter, invalid_row_handler=handler, ignore_empty_lines=True,
                    newlines_in_values=True,  # a quoted field may hold a newline, even across a block's edge
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types or {}, include_columns=include or [],
                    null_values=null_markers(self.spec), strings_can_be_null=True,
                ),
            )  # fmt: skip
        except pa.ArrowInvalid as exc:
            raise self._error(exc) from exc

    def _header(self) -> list[str]:
        reader = self._open(lambda row: "skip")
        names = reader.schema.names
        reader.close()
        return names

    def output_schema(self, roles: Roles) -> pa.Schema:
        return pa.schema([(c, self._type(c, roles)) for c in roles.columns])

    @staticmethod
    def _type(column: str, roles: Roles) -> pa.DataType:
        # Labels and categories stay text whatever they look like; every other column must be a number,
        # so a stray word is reported rather than silently turning the column into text.
        if column == roles.target:
            return pa.float64() if roles.numeric_target else pa.string()
        return pa.string() if column in roles.categorical else pa.float64()

    def where(self, row: int) -> str:
        """``line N`` for the data row at index ``row`` (0-based, counting every row read so far)."""
        record = self.first_data_record + row
        for skipped in list(self.skipped):
            if skipped <= record:
                record += 1
            else:
                break
        return f"line {self.lines.line_of(record)}"

    def batches(self, roles: Roles) -> Iterator[tuple[pa.RecordBatch, int]]:
        """Typed, cleaned batches with the index of their first data row; blank and comment lines dropped."""
        bad_rows: list[tuple] = []

        def on_bad_row(row) -> str:
            text = safe_text(row)
            if text.strip():
                bad_rows.append((row.number, row.actual_columns, row.expected_columns, text))
            elif row.number and row.number > 0:  # a line of only spaces: blank, so never a record
                bisect.insort(self.skipped, row.number)
            return "skip"

        schema, first, arrow_row = self.output_schema(roles), 0, 0
        position = {n: i for i, n in enumerate(self.names)}  # not names.index per column: quadratic when wide
        raw_columns = [self.raw_names[position[c]] for c in roles.columns]
        types = {raw: schema.field(c).type for raw, c in zip(raw_columns, roles.columns)}
        reader = self._open(on_bad_row, types, raw_columns)
        try:
            for batch in reader:
                self._raise_bad_rows(bad_rows)
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)  # the trimmed header names
                read = batch.num_rows
                batch = self._drop_blank_rows(batch, arrow_row, roles.target)
                arrow_row += read
                yield clean_batch(batch, schema, self.spec), first
                first += batch.num_rows
            self._raise_bad_rows(bad_rows)
        except pa.ArrowInvalid as exc:
            raise self._error(exc) from exc

    def _drop_blank_rows(self, batch: pa.RecordBatch, arrow_first: int, target: str) -> pa.RecordBatch:
        """Rows whose every field is missing (``,,``) hold nothing: drop them, remembering their records."""
        # Without a target (batch prediction's unlabelled rows) the first column stands in: a blank row is null everywhere.
        candidates = pc.is_null(batch.column(target) if target else batch.column(0))
        if not pc.any(candidates).as_py():  # the usual case: every row has a label, so none is blank
            return batch
        blank = candidates
        for column in batch.columns:  # only when some label is missing: check the other columns too
            blank = pc.and_(blank, pc.is_null(column))
        if not pc.any(blank).as_py():
            return batch
        for index in np.flatnonzero(blank.to_numpy(zero_copy_only=False)):
            bisect.insort(self.skipped, self.first_data_record + arrow_first + int(index))
        return batch.filter(pc.invert(blank))

    def _raise_bad_rows(self, bad_rows: list) -> None:
        if bad_rows:
            number, actual, expected, text = bad_rows[0]
            line = self.lines.line_of(number) if number and number > 0 else "?"
            raise DataValidationError(
                f"{self.name}: line {line} has {actual} fields, expected {expected}: {shorten(text)!r}"
                + (f" (and {len(bad_rows) - 1} more such lines)" if len(bad_rows) > 1 else "")
                + ("; is the delimiter right?" if actual == 1 and expected > 1 else "")
            )

    def _error(self, exc: pa.ArrowInvalid) -> Exception:
        message = str(exc)
        if "straddling" in message or "block size" in message:
            return LineTooLong(message)
        found = _CONVERSION_ERROR.search(message)
        if not found:
            return DataValidationError(f"{self.name}: cannot parse as CSV: {shorten(message)}")
        index = int(found[1])
        column, line = self.names[index] if index < len(self.names) else f"#{index}", self.lines.line_of(int(found[2]))
        if found[4] == "UTF8":
            return DataValidationError(
                f"{self.name}: column {column!r} holds text that is not valid {self.spec.encoding} at line {line}; "
                f"set the dataset's encoding (for example latin-1 or cp1252)"
            )
        value = found[5]
        if column == self.spec.target:  # only a regression target is read as a number
            return DataValidationError(
                f"{self.name}: regression target {column!r} holds non-numeric value {shorten(value)!r} at line {line}; "
                "a regression target must be a number (add the text to extra_missing_values if it means missing)"
            )
        hint = "list it in categorical_columns if it is a category"
        if value.strip() in (m.strip() for m in self.spec.missing_markers()):
            hint = "it is a missing-value marker with extra spaces: set trim_whitespace"
        elif value.strip():
            hint += ", or add it to extra_missing_values if it means missing"
        return DataValidationError(
            f"{self.name}: column {column!r} holds non-numeric value {shorten(value)!r} at line {line}; {hint}"
        )


def clean_batch(batch: pa.RecordBatch, schema: pa.Schema, spec: DatasetSpec) -> pa.RecordBatch:
    """The batch with its text columns cleaned by ``clean_text``; numbers are already typed."""
    columns = [
        clean_text(batch.column(i), spec) if pa.types.is_string(f.type) else batch.column(i) for i, f in enumerate(schema)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _block_size(path: Path) -> int:
    with open_bytes(path) as fh:
        first_line = len(fh.readline())
    return int(min(CSV_BLOCK_MAX, max(CSV_BLOCK_MIN, first_line * CSV_BLOCK_ROWS)))
