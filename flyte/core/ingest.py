"""Stage 1: stream a raw CSV or Parquet file into a validated Parquet table, profiling it batch by batch."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core import labels as lbl
from flyte.core.dataset import (  # noqa: F401  (re-exported: the spec and profile are ingest's interface)
    BUNDLED_SCHEME,
    DATA_DIR,
    PIMA_COLUMNS,
    DataProfile,
    DatasetSpec,
    is_local,
    local_path,
    resolve_format,
)
from flyte.core.errors import DataValidationError
from flyte.core.readers import CsvSource, ParquetSource, Roles
from flyte.core.tables import TableWriter, file_sha256, prefetch

log = logging.getLogger(__name__)

class IngestResult(NamedTuple):
    profile: DataProfile
    content_sha256: str  # sha256 of the written Parquet bytes: equal tables hash equal wherever they live


def ingest_table(path: Path, spec: DatasetSpec, destination: Path) -> IngestResult:
    """Read ``path`` (a local copy of ``spec.source``) batch by batch, validate every batch, and write the
    table as Parquet into the new directory ``destination``.

    Memory holds about one batch, whatever the file's size. Raises DataValidationError naming the source,
    column, line or value for any unusable input; then ``destination`` is never created. The source file
    is only read, never changed.
    """
    path, name = Path(path), spec.source
    if not path.is_file():
        raise DataValidationError(f"{name}: file not found ({path})")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{name}: file is empty")
    source = CsvSource(path, spec) if resolve_format(spec, path) == "csv" else ParquetSource(path, spec)
    roles = _roles(source.names, spec)
    # The source's sha256 is computed on the other core while this one parses (hashlib releases the GIL).
    hasher = _BackgroundSha256(path)
    profile = _ProfileBuilder(spec, roles, count_nan=isinstance(source, ParquetSource))
    try:
        with TableWriter(destination, source.output_schema(roles)) as writer:
            for batch, first in prefetch(source.batches(roles)):
                _check_batch(batch, roles, source, first)
                profile.add(batch)
                writer.write(batch)
            result = profile.finish(name)
            content = writer.commit()
    finally:
        result_sha = hasher.result()
    result.sha256 = result_sha
    log.info("ingested %s: %d rows x %d columns, classes %s", name, result.rows, result.columns, result.class_counts)
    return IngestResult(profile=result, content_sha256=content)


def _roles(columns: list[str], spec: DatasetSpec) -> Roles:
    name = spec.source
    if spec.target not in columns:
        raise DataValidationError(f"{name}: target column {spec.target!r} not found; columns are {columns}")
    missing_cats = [c for c in spec.categorical_columns if c not in columns]
    if missing_cats:
        raise DataValidationError(f"{name}: categorical column(s) {missing_cats} not found; columns are {columns}")
    if spec.target in spec.categorical_columns:
        raise DataValidationError(f"{name}: target {spec.target!r} cannot also be a categorical feature")
    features = [c for c in columns if c != spec.target]
    if not features:
        raise DataValidationError(f"{name}: no feature columns besides the target {spec.target!r}")
    return Roles(target=spec.target, features=features, categorical=list(spec.categorical_columns))


def _check_batch(batch: pa.RecordBatch, roles: Roles, source, first: int) -> None:
    """Refuse infinite numbers and missing labels, naming the column and the line (or row)."""
    name, unit = source.name, source.unit
    for column in roles.features:
        if column in roles.categorical:
            continue
        values = batch.column(column)
        lo_hi = pc.min_max(values)
        lo, hi = lo_hi["min"].as_py(), lo_hi["max"].as_py()
        if (lo is not None and np.isinf(lo)) or (hi is not None and np.isinf(hi)):
            at = int(np.flatnonzero(np.isinf(values.to_numpy(zero_copy_only=False)))[0])
            raise DataValidationError(
                f"{name}: column {column!r} holds infinite value {values[at].as_py()!r} at {unit} {first + at}"
            )
    target = batch.column(roles.target)
    missing = _missing_labels(target)
    if missing is not None:
        where = [int(i) + first for i in np.flatnonzero(missing)[:5]]
        more = " and more" if int(missing.sum()) > len(where) else ""
        raise DataValidationError(f"{name}: target column {roles.target!r} has missing label(s) at {unit}(s) {where}{more}")


def _missing_labels(target: pa.Array) -> np.ndarray | None:
    """A row mask of missing labels (null, NaN, or blank text), or None when there are none."""
    if pa.types.is_string(target.type) or pa.types.is_large_string(target.type):
        blank = pc.equal(pc.utf8_trim_whitespace(target), "")
        missing = pc.or_kleene(pc.is_null(target), pc.fill_null(blank, False))
    elif pa.types.is_floating(target.type):
        missing = pc.is_null(target, nan_is_null=True)
    else:
        missing = pc.is_null(target)
    if not pc.any(missing).as_py():
        return None
    return missing.to_numpy(zero_copy_only=False)


class _ProfileBuilder:
    """Accumulates the profile batch by batch: counts only, so its memory does not grow with the rows."""

    def __init__(self, spec: DatasetSpec, roles: Roles, count_nan: bool):
        self.spec, self.roles, self.count_nan = spec, roles, count_nan
        self.rows = 0
        self.missing: dict[str, int] = {}
        self.raw_counts: dict = {}
        self.schema: pa.Schema | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        self.schema = batch.schema
        self.rows += batch.num_rows
        for i, column in enumerate(batch.schema.names):
            values = batch.column(i)
            n = values.null_count
            if self.count_nan and pa.types.is_floating(values.type):
                n += pc.sum(pc.is_nan(values)).as_py() or 0
            self.missing[column] = self.missing.get(column, 0) + n
        for item in pc.value_counts(batch.column(self.roles.target)).to_pylist():
            self.raw_counts[item["values"]] = self.raw_counts.get(item["values"], 0) + item["counts"]

    def finish(self, name: str) -> DataProfile:
        if self.rows == 0:
            raise DataValidationError(f"{name}: has no data rows")
        try:
            kind = lbl.infer_kind(list(self.raw_counts))
        except DataValidationError as exc:
            raise DataValidationError(f"{name}: target column {self.roles.target!r}: {exc}") from None
        counts: dict[str, int] = {}
        typed: dict[str, object] = {}
        for raw, n in self.raw_counts.items():
            text = lbl.text(raw, kind)
            counts[text] = counts.get(text, 0) + n
            typed[text] = lbl.typed(raw, kind)
        if len(counts) < 2:
            raise DataValidationError(
                f"{name}: target column {self.roles.target!r} has a single class {next(iter(counts))!r}; "
                "a classifier needs two or more"
            )
        order = sorted(counts, key=lambda t: lbl.sort_key(typed[t]))
        return DataProfile(
            source=self.spec.source,
            rows=self.rows,
            columns=len(self.schema),
            target=self.roles.target,
            feature_columns=list(self.roles.features),
            categorical_columns=list(self.roles.categorical),
            dtypes={f.name: str(f.type) for f in self.schema},
            missing={c: int(self.missing.get(c, 0)) for c in self.schema.names},
            class_counts={t: counts[t] for t in order},
            labels=order,
            label_kind=kind,
        )


class _BackgroundSha256:
    """sha256 of a file computed on a thread, so hashing the source overlaps with parsing it."""

    def __init__(self, path: Path):
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = file_sha256(path)
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest or ""
