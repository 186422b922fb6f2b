"""How tasks hand data to Flyte and back: Parquet tables, model directories and files, as local paths."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, TypeVar

import pyarrow as pa
from flytekit import FlyteContextManager, HashMethod, current_context
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset
from flytekit.types.structured.structured_dataset import PARQUET

from flyte.core.common.errors import disk_full, is_disk_full
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.common.files import file_sha256
from flyte.workflows import config
from flyte.workflows.shared.flytekit_compat import mark_content_hash, marked_content_hash
from flyte.workflows.shared.stage_log import note_rows

#: Every table between tasks is a StructuredDataset: a directory of Parquet parts.
Table = Annotated[StructuredDataset, PARQUET]


def content_hash(table: StructuredDataset) -> str:
    """The sha256 of the table's Parquet bytes, computed once by ingest as it wrote them."""
    return marked_content_hash(table)  # set by hashed_table; only ingest's outputs carry this annotation


#: Ingest's output carries a content hash, so downstream cache keys follow the data, not where it is
#: stored: a scheduled run that re-reads unchanged data re-uses the cached split, fit and score.
HashedTable = Annotated[StructuredDataset, PARQUET, HashMethod(content_hash)]
HTMLFile = FlyteFile[TypeVar("html")]


def model_hash(model: FlyteDirectory) -> str:
    """The sha256 of the model directory's manifest.json, which holds the sha256 of every other file in it: the
    same booster, schema and reference hash the same at any path."""
    return file_sha256(Path(model.path) / MANIFEST_FILE)


#: Fit's output carries its content's hash, so the stages after it (predict, score, publish, the gate) are keyed
#: on what the model is, not where it was written: a refit that makes the same bytes is a cache hit downstream.
HashedModel = Annotated[FlyteDirectory, HashMethod(model_hash)]


def use_cpus(preset: config.ResourcePreset) -> None:
    """Size Arrow's thread pools to the preset's cpu limit."""
    # A pod sees every core of its node; Arrow would start that many threads. Use what the limit allows.
    pa.set_cpu_count(preset.cpus)
    pa.set_io_thread_count(preset.cpus)


def workdir(name: str = "") -> Path:
    """The task's own working directory, or ``name`` inside it."""
    return Path(current_context().working_directory) / name


def local_table(table: StructuredDataset) -> Path:
    """A local directory (or file) holding the table's Parquet parts; a remote table is downloaded once."""
    ctx = FlyteContextManager.current_context()
    uri = table_uri(table)
    if ctx.file_access.is_remote(uri):
        local = Path(ctx.file_access.get_random_local_directory())
        ctx.file_access.get_data(uri, str(local), is_multipart=True)
    else:
        local = Path(uri)
    note_rows(local, written=False)
    return local


def table_uri(table: StructuredDataset) -> str:
    """Where the table's Parquet parts are. A task input carries its location in the literal flytekit decoded it
    from; a value built in Python (a direct call) carries it in ``uri``."""
    return table.literal.uri if table.literal is not None else table.uri


def as_table(directory: Path) -> StructuredDataset:
    note_rows(directory, written=True)
    return StructuredDataset(uri=str(directory), file_format=PARQUET)


def hashed_table(directory: Path, sha256: str) -> StructuredDataset:
    return mark_content_hash(as_table(directory), sha256)  # read back by content_hash when flytekit builds the output literal


def local_model(model: FlyteDirectory) -> Path:
    return Path(model.download())


@contextmanager
def writes_to(directory: Path) -> Iterator[None]:
    """Report a full disk while the task writes under ``directory`` as a DiskFullError naming the path."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(directory, exc) from exc
        raise
