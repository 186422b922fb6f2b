"""The pipeline's Flyte tasks: each converts Flyte types, calls one core function, and returns."""

# XGBoost and pandas are imported inside the fit and predict tasks only: importing them costs about
# 1.7 s and 200 MB, which every other pod (and every cached `pyflyte run`) would otherwise pay.

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Iterator, NamedTuple, TypeVar
from urllib.parse import urlparse

import pyarrow as pa
from flytekit import Cache, Deck, FlyteContextManager, HashMethod, current_context, task
from flytekit.exceptions.user import FlyteRecoverableException
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset
from flytekit.types.structured.structured_dataset import PARQUET

from flyte.core.dataset import DataProfile, DatasetSpec, is_local, local_path
from flyte.core.errors import ActionableError, DataValidationError, SourceUnavailableError, disk_full, is_disk_full
from flyte.core.fetch import http_download, http_head
from flyte.core.fingerprint import SourceFingerprint, local_fingerprint, remote_fingerprint
from flyte.core.hyperparameters import Hyperparameters
from flyte.core.score import Metrics
from flyte.core.split import PART_NAMES, SplitParams
from flyte.workflows import config

log = logging.getLogger(__name__)

#: Every table between tasks is a StructuredDataset: a directory of Parquet parts.
Table = Annotated[StructuredDataset, PARQUET]


def content_hash(table: StructuredDataset) -> str:
    """The sha256 of the table's Parquet bytes, computed once by ingest as it wrote them."""
    return table._content_sha256  # set by _hashed_table; only ingest's outputs carry this annotation


#: Ingest's output carries a content hash, so downstream cache keys follow the data, not where it is
#: stored: a scheduled run that re-reads unchanged data re-uses the cached split, fit and score.
HashedTable = Annotated[StructuredDataset, PARQUET, HashMethod(content_hash)]
HTMLFile = FlyteFile[TypeVar("html")]


class IngestOutputs(NamedTuple):
    table: HashedTable
    profile: DataProfile


class SplitOutputs(NamedTuple):
    train: Table
    validation: Table
    test: Table


class ScoreOutputs(NamedTuple):
    metrics: Metrics
    report: HTMLFile


def _use_cpus(preset: config.ResourcePreset) -> None:
    # A pod sees every core of its node; Arrow would start that many threads. Use what the limit allows.
    pa.set_cpu_count(preset.cpus)
    pa.set_io_thread_count(preset.cpus)


def _workdir(name: str = "") -> Path:
    """The task's own working directory, or ``name`` inside it."""
    return Path(current_context().working_directory) / name


def _local_table(table: StructuredDataset) -> Path:
    """A local directory (or file) holding the table's Parquet parts; a remote table is downloaded once."""
    ctx = FlyteContextManager.current_context()
    # A task input carries its location in the literal flytekit decoded it from; a value built in
    # Python (a direct call) carries it in ``uri``.
    uri = table._literal_sd.uri if table._literal_sd is not None else table.uri
    if not ctx.file_access.is_remote(uri):
        return Path(uri)
    destination = ctx.file_access.get_random_local_directory()
    ctx.file_access.get_data(uri, destination, is_multipart=True)
    return Path(destination)


def _table(directory: Path) -> StructuredDataset:
    return StructuredDataset(uri=str(directory), file_format=PARQUET)


def _hashed_table(directory: Path, sha256: str) -> StructuredDataset:
    table = _table(directory)
    table._content_sha256 = sha256  # read back by content_hash when flytekit builds the output literal
    return table


def _local_model(model: FlyteDirectory) -> Path:
    return Path(model.download())


@contextmanager
def _writes_to(directory: Path) -> Iterator[None]:
    """Report a full disk while the task writes under ``directory`` as a DiskFullError naming the path."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(directory, exc) from exc
        raise


def check_source_allowed(source: str) -> None:
    """Refuse a source whose scheme (or host, when hosts are listed) config does not allow."""
    parsed = urlparse(source)
    scheme = "" if len(parsed.scheme) == 1 else parsed.scheme  # a Windows drive letter is a path
    if scheme not in config.ALLOWED_SOURCE_SCHEMES:
        raise DataValidationError(
            f"{source}: scheme {scheme!r} is not allowed; allowed: {', '.join(repr(s) for s in config.ALLOWED_SOURCE_SCHEMES)}",
            hint="see ALLOWED_SOURCE_SCHEMES in flyte/workflows/config.py",
        )
    if config.ALLOWED_SOURCE_HOSTS and parsed.netloc and scheme not in ("file", "bundled"):
        if parsed.hostname not in config.ALLOWED_SOURCE_HOSTS:
            raise DataValidationError(f"{source}: host {parsed.hostname!r} is not in ALLOWED_SOURCE_HOSTS")


@contextmanager
def _reading(source: str, failure: str) -> Iterator[None]:
    """Sort a failure to read ``source`` for Flyte: a passing one (SourceUnavailableError) becomes
    recoverable, so the task's retries (config.INGEST_RETRIES) apply; the core's error stays the cause,
    so the command line still finds its message and hint. Any other data-layer error is a user error."""
    try:
        yield
    except SourceUnavailableError as exc:
        raise FlyteRecoverableException(str(exc)) from exc
    except ActionableError:
        raise
    except Exception as exc:  # the data layer raises several types; all mean the same to the user
        raise DataValidationError(f"{source}: {failure}: {exc}") from exc


def fetch_source(source: str) -> Path:
    """A local file holding the source's bytes: local sources as they are; http(s) ones downloaded with the
    timeouts in config; others (s3, gs, ...) through flytekit's data layer, with the pod's or laptop's
    credentials.

    Raises FlyteRecoverableException when a retry may succeed (a 5xx or 429 answer, a reset connection, a
    timeout), so Flyte retries the task; DataValidationError when it cannot (a 404, a 403, a bad URL).
    """
    check_source_allowed(source)
    if is_local(source):
        return local_path(source)
    ctx = FlyteContextManager.current_context()
    name = Path(urlparse(source).path).name or "dataset"
    destination = Path(ctx.file_access.get_random_local_path(name))
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _reading(source, "cannot fetch"):
        if urlparse(source).scheme in ("http", "https"):
            return http_download(source, destination, config.FETCH_CONNECT_TIMEOUT_S, config.FETCH_READ_TIMEOUT_S)
        ctx.file_access.get_data(source, str(destination))
    return destination


@task(
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    retries=config.INGEST_RETRIES,
    timeout=config.FINGERPRINT_TIMEOUT,
)
def fingerprint(dataset: DatasetSpec) -> SourceFingerprint:
    """What the source is now (uncached, so it runs every time): a local file's sha256, or a remote
    object's ETag / generation / Last-Modified from its store, read without downloading it."""
    source = dataset.source
    check_source_allowed(source)
    if is_local(source):
        path = local_path(source)
        if not path.is_file():
            raise DataValidationError(f"{source}: {'is a directory, not a file' if path.is_dir() else 'file not found'} ({path})")
        result = local_fingerprint(path, dataset)
    else:
        with _reading(source, "cannot reach"):
            if urlparse(source).scheme in ("http", "https"):
                info = http_head(source, config.FETCH_CONNECT_TIMEOUT_S, config.FETCH_READ_TIMEOUT_S)
            else:
                info = FlyteContextManager.current_context().file_access.get_filesystem_for_path(source).info(source)
        result = remote_fingerprint(source, info, dataset)
    log.info("fingerprint of %s: %s", source, result.identity)
    return result


@task(
    # The dataset's location is left out of the key: the fingerprint already holds what the bytes are and
    # how they are read, so the same bytes at another path are a cache hit, and an edited file is a miss.
    cache=Cache(version=config.INGEST_CACHE_VERSION, ignored_inputs=("dataset",)),
    retries=config.INGEST_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def ingest(dataset: DatasetSpec, source: SourceFingerprint, split_params: SplitParams, data_as_of: datetime) -> IngestOutputs:
    """Read and validate the dataset, refusing data ``split_params`` could not split.

    ``source`` (the fingerprint) and ``data_as_of`` key the cache: a changed source or a new snapshot time reads afresh.
    """
    from flyte.core.ingest import ingest_table

    _use_cpus(config.LIGHT)
    with _writes_to(_workdir("table")):
        result = ingest_table(
            fetch_source(dataset.source), dataset, _workdir("table"), split=split_params, known_sha256=source.content_sha256
        )
    log.info("ingest: table content sha256 %s (downstream cache key)", result.content_sha256)
    return IngestOutputs(table=_hashed_table(_workdir("table"), result.content_sha256), profile=result.profile)


@task(
    cache=Cache(version=config.SPLIT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def split(table: Table, profile: DataProfile, params: SplitParams) -> SplitOutputs:
    """Exact stratified train / validation / test split."""
    from flyte.core.split import split_table

    _use_cpus(config.LIGHT)
    destinations = {name: _workdir(name) for name in PART_NAMES}
    with _writes_to(_workdir()):
        split_table(_local_table(table), profile, params, destinations)
    return SplitOutputs(*(_table(destinations[name]) for name in PART_NAMES))


@task(
    cache=Cache(version=config.FIT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.FIT_TIMEOUT,
    requests=config.TRAIN.requests,
    limits=config.TRAIN.limits,
)
def fit(train: Table, validation: Table, profile: DataProfile, hyperparameters: Hyperparameters) -> FlyteDirectory:
    """Fit XGBoost with early stopping; the model directory holds model.ubj, schema.json and manifest.json (their sha256)."""
    from flyte.core.fit import train_model
    from flyte.core.model import save_model

    _use_cpus(config.TRAIN)
    with _writes_to(_workdir()):
        model = train_model(
            _local_table(train),
            _local_table(validation),
            profile,
            hyperparameters,
            n_threads=config.TRAIN.cpus,
            memory_budget=config.TRAIN.memory_mib << 20,
            scratch=Path(current_context().working_directory),
        )
        return FlyteDirectory(str(save_model(model, _workdir("model"))))


@task(
    cache=Cache(version=config.PREDICT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def predict(model: FlyteDirectory, table: Table) -> Table:
    """Predicted label and class probabilities for every row of ``table``."""
    from flyte.core.model import load_model
    from flyte.core.predict import predict_table

    _use_cpus(config.LIGHT)
    destination = _workdir("predictions")
    with _writes_to(destination):
        predict_table(load_model(_local_model(model), n_threads=config.LIGHT.cpus), _local_table(table), destination)
    return _table(destination)


@task(
    cache=Cache(version=config.SCORE_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
    # Only our report: flytekit's default pages (dependencies, source, ...) run pip on every execution.
    deck_fields=(),
)
def score(model: FlyteDirectory, test: Table, predictions: Table, profile: DataProfile) -> ScoreOutputs:
    """Metrics on the test rows, plus the report as a Deck and as an HTML file output."""
    from flyte.core.evaluate import evaluate
    from flyte.core.schema import read_schema

    _use_cpus(config.LIGHT)
    result = evaluate(_local_table(test), _local_table(predictions), read_schema(_local_model(model)), profile)
    Deck("Model report", result.report_html)
    path = _workdir("report.html")
    with _writes_to(path):
        path.write_text(result.report_html, encoding="utf-8")
    return ScoreOutputs(metrics=result.metrics, report=HTMLFile(str(path)))
