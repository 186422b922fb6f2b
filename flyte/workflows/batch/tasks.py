"""Batch prediction's Flyte tasks: each converts Flyte types, calls one core function, and returns."""

# XGBoost is imported inside the predict task only (as in tasks.py): the other pods need not load it.

from __future__ import annotations

import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Optional

from flytekit import Cache, Deck
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import CSVFile

from flyte.core.data.dataset import DatasetSpec, is_local, local_path
from flyte.core.artifact.drift import DriftSettings, DriftSummary
from flyte.core.common.errors import DataValidationError
from flyte.core.data.fingerprint import SourceFingerprint
from flyte.core.batch.intake import BatchOptions, CheckSummary
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.batch.model_source import manifest_digest
from flyte.core.common.uris import child
from flyte.core.evaluation.score import Metrics
from flyte.workflows.shared.stage_log import task  # flytekit's task, logging each run's start, end and rows
from flyte.workflows import config
from flyte.workflows.shared.artifacts import HashedTable, HTMLFile, Table, as_table, hashed_table, local_model, local_table, use_cpus, workdir, writes_to
from flyte.workflows.shared.sources import check_source_allowed, download, fetch_source

log = logging.getLogger(__name__)

#: How a user finds the model names a registry holds.
LIST_COMMAND = "python -m flyte.core.registry list REGISTRY"


class ModelFingerprint(NamedTuple):
    uri: str
    manifest_sha256: str


class CheckOutputs(NamedTuple):
    table: HashedTable
    checks: CheckSummary
    drift: DriftSummary


class PredictOutputs(NamedTuple):
    predictions: Table
    csv: Optional[CSVFile]


class ReportOutputs(NamedTuple):
    report: HTMLFile
    metrics: Optional[Metrics]


def get_file(uri: str, destination: Path) -> None:
    """Copy one file of a model directory to ``destination``: local paths copied, http(s) downloaded with the
    timeouts in config, s3/gs through flytekit's data layer. Passing failures become recoverable (retried)."""
    check_source_allowed(uri)
    if is_local(uri):
        path = local_path(uri)
        if not path.is_file():
            raise DataValidationError(f"{uri}: file not found ({path})", hint="point the model input at a model directory written by fit")
        shutil.copyfile(path, destination)
        return
    download(uri, destination)


@task(
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    retries=config.MODEL_FETCH_RETRIES,
    timeout=config.FINGERPRINT_TIMEOUT,
)
def model_fingerprint(model: str, model_name: str = "") -> ModelFingerprint:
    """What the model at ``model`` is now (uncached, so it runs every time): the sha256 of its manifest.json, the
    only file read. The manifest holds every other file's sha256, so its digest names the whole model.

    With ``model_name``, ``model`` is a model registry (flyte/core/registry/registry.py) and the model is that name's
    current champion, whose manifest must be the one its pointer names. Without it, ``model`` may still be one
    name's entry in a registry (``<registry>/<name>``, holding champion.json), meaning its champion likewise."""
    from flyte.core.registry.registry import POINTER, champion_uri, parse_pointer
    from flyte.core.registry.names import entry_location

    if model_name:
        model = entry_location(model, model_name)
    pointer_path, expected = workdir(POINTER), ""
    with writes_to(pointer_path):
        try:
            get_file(child(model, POINTER), pointer_path)
        except DataValidationError:  # no champion.json there: a model directory (a failing fetch is retried)
            if model_name:
                raise DataValidationError(
                    f"{model}: no champion for the model name {model_name!r}", hint=f"list the names: {LIST_COMMAND}"
                ) from None
            pointer_path = None
    if pointer_path is not None:
        pointer = parse_pointer(pointer_path.read_bytes(), child(model, POINTER))
        log.info("model %s is a registry: its champion is version %s", model, pointer.version)
        model, expected = champion_uri(model, pointer), pointer.manifest_sha256
    path = workdir(MANIFEST_FILE)
    with writes_to(path):
        get_file(child(model, MANIFEST_FILE), path)
    digest = manifest_digest(path.read_bytes(), model)
    if expected and digest != expected:
        raise DataValidationError(
            f"{child(model, MANIFEST_FILE)}: sha256 {digest[:12]}... is not the {expected[:12]}... its registry's "
            f"champion pointer names; the version was changed after it was promoted",
            hint="roll back to a sound version: python -m flyte.core.registry rollback REGISTRY NAME VERSION",
        )
    log.info("model %s: manifest sha256 %s", model, digest)
    return ModelFingerprint(uri=model, manifest_sha256=digest)


@task(
    # The model's location is left out of the key: the manifest's digest says what the model is, so the same
    # model at another URI is a cache hit and a changed model a miss.
    cache=Cache(version=config.MODEL_FETCH_CACHE_VERSION, ignored_inputs=("model",)),
    retries=config.MODEL_FETCH_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def fetch_model(model: str, manifest_sha256: str) -> FlyteDirectory:
    """Fetch exactly the files the model's manifest lists, each checked against its sha256, into a model directory."""
    from flyte.core.batch.model_source import fetch_model as fetch

    destination = workdir("model")
    with writes_to(workdir()):
        fetch(model, manifest_sha256, destination, get_file)
    return FlyteDirectory(str(destination))


@task(
    cache=Cache(version=config.CHECK_ROWS_CACHE_VERSION, ignored_inputs=("dataset",)),  # keyed on the fingerprint, as ingest
    retries=config.INGEST_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def check_rows(
    dataset: DatasetSpec, source: SourceFingerprint, model: FlyteDirectory, options: BatchOptions, data_as_of: datetime,
    drift: DriftSettings = DriftSettings(),
) -> CheckOutputs:
    """Read the new rows, check them against the model's schema, count their drift, and keep the columns needed.

    ``source`` (the fingerprint) and ``data_as_of`` key the cache: changed rows or a new snapshot time read afresh.
    ``drift``: when a feature's drift is flagged (DriftSettings).
    """
    from flyte.core.batch.intake import check_rows_for_model

    use_cpus(config.LIGHT)
    destination = workdir("rows")
    with writes_to(destination):
        checks, drift, sha = check_rows_for_model(
            fetch_source(dataset.source), dataset, local_model(model), options, destination, drift.psi_threshold,
            drift.min_rows, drift.alpha,
        )
    return CheckOutputs(table=hashed_table(destination, sha), checks=checks, drift=drift)


@task(
    cache=Cache(version=config.BATCH_PREDICT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def predict_rows(model: FlyteDirectory, table: Table, options: BatchOptions) -> PredictOutputs:
    """The predictions table (passthrough columns, predicted label, one probability per class), and its CSV copy
    when ``options.export_csv``."""
    from flyte.core.batch.batch import predict_rows as predict
    from flyte.core.artifact.model import load_model

    use_cpus(config.LIGHT)
    destination, csv = workdir("predictions"), workdir("predictions.csv") if options.export_csv else None
    with writes_to(workdir()):
        predict(load_model(local_model(model), n_threads=config.LIGHT.cpus), local_table(table), destination, options, csv)
    return PredictOutputs(predictions=as_table(destination), csv=CSVFile(str(csv)) if csv else None)


@task(
    cache=Cache(version=config.BATCH_REPORT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.BATCH_REPORT.requests,
    limits=config.BATCH_REPORT.limits,
    enable_deck=True,
    deck_fields=(),  # only our report: flytekit's default pages run pip on every execution
)
def batch_report(model: FlyteDirectory, table: Table, predictions: Table, checks: CheckSummary, drift: DriftSummary) -> ReportOutputs:
    """The batch report (schema check, drift, and with true labels the training report's metrics) as a Deck and a file."""
    from flyte.core.batch.batch_report import report_batch
    from flyte.core.artifact.manifest import read_manifest
    from flyte.core.artifact.schema import read_schema

    use_cpus(config.BATCH_REPORT)
    directory = local_model(model)
    result = report_batch(local_table(table), local_table(predictions), read_schema(directory), checks, drift,
                          training_split=read_manifest(directory, []).split)  # fmt: skip
    Deck("Batch report", result.report_html)
    path = workdir("batch_report.html")
    with writes_to(path):
        path.write_text(result.report_html, encoding="utf-8")
    return ReportOutputs(report=HTMLFile(str(path)), metrics=result.metrics)
