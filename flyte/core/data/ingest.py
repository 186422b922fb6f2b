"""Stage 1: stream a raw CSV or Parquet file into a validated Parquet table, profiling it batch by batch."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.data.dataset import DataProfile, DatasetSpec, checked_file, resolve_format
from flyte.core.common.errors import DataValidationError, SourceChangedError
from flyte.core.data.profile import ProfileBuilder
from flyte.core.data.formats.parquet_reader import ParquetSource
from flyte.core.common.progress import Progress
from flyte.core.data.formats.csv_reader import CsvSource, LineTooLong, Roles, roles_for
from flyte.core.data.split import SplitParams
from flyte.core.common.files import file_sha256
from flyte.core.data.tables import TableWriter, prefetch

log = logging.getLogger(__name__)

class IngestResult(NamedTuple):
    profile: DataProfile
    content_sha256: str  # sha256 of the written Parquet bytes: equal tables hash equal wherever they live


def ingest_table(
    path: Path, spec: DatasetSpec, destination: Path, split: SplitParams | None = None, expected_sha256: str = ""
) -> IngestResult:
    """Read ``path`` (a local copy of ``spec.source``) batch by batch, validate every batch, and write the
    table as Parquet into the new directory ``destination``.

    Memory holds about one batch, whatever the file's size. Raises DataValidationError naming the source,
    column, line or value for any unusable input, including classes ``split`` could not split; then
    ``destination`` is never created. The source file is only read, never changed.

    The bytes read are always hashed (sha256, on another core while this one parses), and the file's size,
    modification time and inode are compared before and after. ``expected_sha256`` is the sha256 the caller
    keyed its cache on (the fingerprint's), or "" when it has none: if the file read differs from it, or the
    file changed during the read, SourceChangedError is raised and ``destination`` is removed, so no result
    computed from other bytes can be stored under that key.
    """
    path, name = Path(path), spec.source
    if not spec.target:
        raise DataValidationError(
            f"{name}: DatasetSpec.target is required for training: the column to predict",
            hint="set the dataset's target; a spec without one is for batch prediction only",
        )
    checked_file(path, name)
    csv = resolve_format(spec, path) == "csv"
    # The source's sha256 is computed on the other core while this one parses (hashlib releases the GIL).
    before = _identity(path)
    hasher = _BackgroundSha256(path)
    try:
        block = None
        for _ in range(4):  # a line longer than the block: read again with a block 8 times larger
            source = CsvSource(path, spec, block) if csv else ParquetSource(path, spec)
            try:
                profile, content = _ingest(source, spec, destination, split)
                break
            except LineTooLong:
                block = source.block_size * 8
        else:
            raise DataValidationError(f"{name}: a line is longer than {block // 8 >> 20} MiB; is the delimiter right?")
    finally:
        profile_sha = hasher.result()
    _check_unchanged(path, name, destination, before, profile_sha, expected_sha256)
    profile.sha256 = profile_sha
    profile.table_sha256 = content
    log.info("ingested %s: %d rows x %d columns, %s", name, profile.rows, profile.columns,
             f"classes {profile.class_counts}" if profile.class_counts else f"target {profile.target_distribution}")  # fmt: skip
    if profile.dropped_index_columns:
        log.info("%s: left out pandas index column(s) %s (the file's metadata records them as its index, not data)",
                 name, profile.dropped_index_columns)  # fmt: skip
    return IngestResult(profile=profile, content_sha256=content)


def _ingest(source, spec: DatasetSpec, destination: Path, split: SplitParams | None) -> tuple[DataProfile, str]:
    roles = roles_for(source.names, spec, source.header_hint)
    profile = ProfileBuilder(spec, roles, count_nan=isinstance(source, ParquetSource), where=source.where)
    with TableWriter(destination, source.output_schema(roles)) as writer:
        progress = Progress(log)
        for batch, first in prefetch(source.batches(roles)):
            _check_batch(batch, roles, source, first)
            profile.add(batch, first)
            writer.write(batch)
            progress.report("read %s rows so far", f"{first + batch.num_rows:,}")
        result = profile.finish(split)
        result.dropped_index_columns = list(getattr(source, "index_columns", []))
        content = writer.commit()
    return result, content


def _check_batch(batch: pa.RecordBatch, roles: Roles, source, first: int) -> None:
    """Refuse infinite numbers and missing labels, naming the column and the line (or row)."""
    name = source.name
    numeric = _numeric_positions(batch.schema, roles)
    # One numpy pass over all numeric columns: a compute call per column costs ~70 us, minutes at 50k columns.
    for start in range(0, len(numeric), 4096):
        chunk = numeric[start : start + 4096]
        values = np.column_stack([batch.column(i).to_numpy(zero_copy_only=False) for i in chunk])
        infinite = np.isinf(values)
        if infinite.any():
            j = int(np.flatnonzero(infinite.any(axis=0))[0])
            at = int(np.flatnonzero(infinite[:, j])[0])
            raise DataValidationError(
                f"{name}: column {batch.schema.field(chunk[j]).name!r} holds infinite value {float(values[at, j])!r} "
                f"at {source.where(first + at)}"
            )
    target = batch.column(roles.target)
    missing = _missing_labels(target)
    if missing is not None:
        where = [source.where(int(i) + first) for i in np.flatnonzero(missing)[:5]]
        more = " and more" if int(missing.sum()) > len(where) else ""
        what = "value(s)" if roles.numeric_target else "label(s)"
        raise DataValidationError(f"{name}: target column {roles.target!r} has missing {what} at {', '.join(where)}{more}")


def _numeric_positions(schema: pa.Schema, roles: Roles) -> list[int]:
    """Positions of the numeric feature columns in ``schema`` (sets, so a wide table stays linear)."""
    features, categorical = set(roles.features), set(roles.categorical)
    if roles.numeric_target:  # a regression target must be finite too
        features.add(roles.target)
    return [i for i, f in enumerate(schema) if f.name in features and f.name not in categorical]


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


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def _check_unchanged(path: Path, name: str, destination: Path, before, digest: str, expected: str) -> None:
    """Refuse (removing ``destination``) a read whose bytes are not the ones the caller's cache key names."""
    changed = _identity(path) != before
    if not changed and (not expected or digest == expected):
        return
    shutil.rmtree(destination, ignore_errors=True)
    what = "changed while it was read" if changed else f"changed since its fingerprint (sha256 {expected[:12]}..., now {digest[:12]}...)"
    raise SourceChangedError(f"{name}: the file {what}; nothing was kept", hint="run again once it has stopped changing: a new run fingerprints the new bytes")


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
        if self._thread.ident is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest or ""
