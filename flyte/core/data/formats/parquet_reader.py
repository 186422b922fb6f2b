"""Parquet files as typed, cleaned record batches: row group by row group, each row knowing its number."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError, shorten
from flyte.core.data.formats.csv_reader import Roles, check_unique, clean_batch, clean_text
from flyte.core.data.tables import batch_rows

log = logging.getLogger(__name__)

class ParquetSource:
    """A Parquet file read row group by row group; text in a numeric column is converted or refused."""

    unit = "row"

    def __init__(self, path: Path, spec: DatasetSpec):
        self.name, self.spec = spec.source, spec
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataValidationError(f"{self.name}: cannot read as Parquet: {shorten(str(exc))}") from exc
        self.source_schema = self.file.schema_arrow
        self.fields = {f.name: f for f in self.source_schema}
        self.header_hint = ""  # a Parquet file's column names are its schema's, never a row of data
        check_unique(self.source_schema.names, f"{self.name}: columns")
        self.index_columns = pandas_index_columns(self.source_schema, spec)
        dropped = set(self.index_columns)
        self.names = [n for n in self.source_schema.names if n not in dropped]
        if self.index_columns:
            log.info("%s: dropped pandas index column(s) %s: the file's pandas metadata says they are its "
                     "index, not data", self.name, self.index_columns)  # fmt: skip

    def where(self, row: int) -> str:
        return f"row {row + 1}"

    def output_schema(self, roles: Roles) -> pa.Schema:
        """The columns read, as typed in the table; a column of a type that cannot be a feature or a label
        (a list, a struct, a map, bytes, a date) is refused, naming it and its type."""
        for column in roles.columns:
            kind = _value_type(self.fields[column].type)
            if not _readable(kind):
                role = "the target" if column == roles.target else "a feature"
                raise DataValidationError(
                    f"{self.name}: column {column!r} is of Parquet type {shorten(str(kind), 60)}, which cannot be {role}: "
                    f"numbers, booleans or text only",
                    hint="choose another target" if column == roles.target else f"leave it out: \"drop_columns\": [{column!r}]",
                )
        return pa.schema([(c, self._type(self.fields[c], roles)) for c in roles.columns])

    @staticmethod
    def _type(f: pa.Field, roles: Roles) -> pa.DataType:
        t = _value_type(f.type)
        if f.name == roles.target and roles.numeric_target:
            return pa.float64()
        if f.name == roles.target:
            return pa.string() if pa.types.is_large_string(t) or pa.types.is_string(t) or pa.types.is_null(t) else t
        return pa.string() if f.name in roles.categorical else pa.float64()

    def batches(self, roles: Roles) -> Iterator[tuple[pa.RecordBatch, int]]:
        schema, first = self.output_schema(roles), 0
        try:
            # Row group by row group: the file's own unit, and ParquetFile.iter_batches grew without bound here.
            for group in range(self.file.metadata.num_row_groups):
                table = self.file.read_row_group(group, columns=roles.columns)
                for batch in table.to_batches(max_chunksize=batch_rows(len(roles.columns))):
                    # By position: the group was read with exactly these columns in this order, and a lookup
                    # by name scans the schema, which made wide tables quadratic.
                    columns = [self._cast(batch.column(i), f, first) for i, f in enumerate(schema)]
                    yield clean_batch(pa.RecordBatch.from_arrays(columns, schema=schema), schema, self.spec), first
                    first += batch.num_rows
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise DataValidationError(f"{self.name}: cannot read as Parquet: {shorten(str(exc))}") from exc

    def _cast(self, column: pa.Array, f: pa.Field, first: int) -> pa.Array:
        if column.type == f.type:
            return column
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and not pa.types.is_string(f.type):
            column = clean_text(pc.cast(column, pa.string()), self.spec)  # numbers stored as text: trim, markers to null
        try:
            return pc.cast(column, f.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            for i, v in enumerate(column.to_pylist()):
                if v is not None and _not_a_number(v):
                    raise DataValidationError(
                        f"{self.name}: column {f.name!r} holds non-numeric value {shorten(str(v))!r} at row {first + i + 1}; "
                        + ("a regression target must be a number" if f.name == self.spec.target
                           else "list it in categorical_columns if it is a category")
                    ) from None
            raise


def pandas_index_columns(schema: pa.Schema, spec: DatasetSpec) -> list[str]:
    """The stored columns a pandas-written file records as its index (``__index_level_0__`` after a filter, or
    a named index), which are row labels, not data; one the spec names (target, features, categories) is kept."""
    try:
        metadata = schema.pandas_metadata or {}
    except ValueError:  # metadata that is not JSON: no index is known, nothing is dropped
        return []
    recorded = metadata.get("index_columns", []) if isinstance(metadata, dict) else []
    named = {spec.target, *spec.feature_columns, *spec.categorical_columns}
    names = set(schema.names)
    # A RangeIndex is recorded as a dict and stored as no column at all.
    return [c for c in recorded if isinstance(c, str) and c in names and c not in named]


def _value_type(t: pa.DataType) -> pa.DataType:
    """A dictionary-encoded column's value type; any other type as it is."""
    return t.value_type if pa.types.is_dictionary(t) else t


def _readable(t: pa.DataType) -> bool:
    """Whether a column of type ``t`` converts to a feature (a number or a category) or a label."""
    checks = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean,
              pa.types.is_string, pa.types.is_large_string, pa.types.is_null)  # fmt: skip
    return any(check(t) for check in checks)


def _not_a_number(value) -> bool:
    try:
        float(value)
        return False
    except (TypeError, ValueError):
        return True
