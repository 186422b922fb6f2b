"""The pipeline's Flyte tasks: each converts Flyte types, calls one core function, and returns."""

# XGBoost and pandas are imported inside the fit and predict tasks only: importing them costs time and over
# a hundred MiB, which every other pod (and every cached `pyflyte run`) would otherwise pay.

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from flytekit import Cache, Deck, FlyteContextManager, current_context
from flytekit.exceptions.user import FlyteRecoverableException
from flytekit.types.directory import FlyteDirectory

from flyte.core.common import uris
from flyte.core.data.dataset import DataProfile, DatasetSpec, checked_file, is_local, local_path
from flyte.core.common.errors import SourceChangedError, shorten
from flyte.core.data.fetch import http_head
from flyte.core.data.fingerprint import UNVERIFIABLE, SourceFingerprint, local_fingerprint, remote_fingerprint
from flyte.core.data.leakage import DEFAULT_THRESHOLD
from flyte.core.evaluation.score_stream import ScoreSettings
from flyte.core.publishing.publish import CardSettings
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.evaluation.score import Metrics
from flyte.core.data.split import PART_NAMES, SplitParams, SplitSummary
from flyte.workflows.shared.stage_log import task  # flytekit's task, logging each run's start, end and rows
from flyte.workflows import config
from flyte.workflows.shared.artifacts import (
    HashedModel,
    HashedTable,
    HTMLFile,
    Table,
    as_table,
    hashed_table,
    local_model,
    local_table,
    use_cpus,
    workdir,
    writes_to,
)
from flyte.workflows.shared.sources import check_download_allowed, check_source_allowed, fetch_source, reading

log = logging.getLogger(__name__)


class IngestOutputs(NamedTuple):
    table: HashedTable
    profile: DataProfile


class SplitOutputs(NamedTuple):
    train: Table
    validation: Table
    test: Table
    #: the rule that split the rows and each class's realised rows and shares per part
    summary: SplitSummary


class ScoreOutputs(NamedTuple):
    metrics: Metrics
    report: HTMLFile


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
        result = local_fingerprint(checked_file(local_path(source), source), dataset)
    else:
        result = remote_fingerprint(source, remote_info(source), dataset)
    log.info("fingerprint of %s: %s", source, result.identity)
    return result


def remote_info(source: str) -> dict:
    """What the remote object's store says of it now (validators and size), without reading its bytes."""
    with reading(source, "cannot reach"):
        if uris.is_http(source):
            return http_head(
                source, config.FETCH_CONNECT_TIMEOUT_S, config.FETCH_READ_TIMEOUT_S,
                allow=check_download_allowed, max_redirects=config.FETCH_MAX_REDIRECTS,
            )  # fmt: skip
        return FlyteContextManager.current_context().file_access.get_filesystem_for_path(source).info(source)


def fetch_as_fingerprinted(dataset: DatasetSpec, source: SourceFingerprint) -> Path:
    """The source's bytes as a local file, refusing (recoverably) a remote object that is no longer the one
    ``source`` names: its store's validators are read again after the download, so an object replaced between
    the fingerprint and the end of the download is never cached under the old fingerprint."""
    path = fetch_source(dataset.source)
    if is_local(dataset.source) or UNVERIFIABLE in source.identity:
        return path  # a local file's bytes are checked by ingest itself; an unverifiable one is never reused
    now = remote_fingerprint(dataset.source, remote_info(dataset.source), dataset)
    if UNVERIFIABLE in now.identity:  # the store no longer says what the object is: nothing to compare with
        log.warning("%s: the store reports no validators after the download; it cannot be checked", shorten(dataset.source))
        return path
    with reading(dataset.source, "cannot read"):  # a SourceChangedError becomes recoverable there
        if now.identity != source.identity:
            raise SourceChangedError(f"{shorten(dataset.source)}: the object changed since its fingerprint; nothing was kept",
                                     hint="run again: a new run fingerprints the new object")  # fmt: skip
    return path


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
    from flyte.core.data.ingest import ingest_table

    use_cpus(config.LIGHT)
    with writes_to(workdir("table")):
        try:
            result = ingest_table(
                fetch_as_fingerprinted(dataset, source), dataset, workdir("table"), split=split_params,
                expected_sha256=source.content_sha256,
            )  # fmt: skip
        except SourceChangedError as exc:  # recoverable: Flyte retries, and the retry reads (and hashes) again
            raise FlyteRecoverableException(str(exc)) from exc
    log.info("ingest: table content sha256 %s (downstream cache key)", result.content_sha256)
    return IngestOutputs(table=hashed_table(workdir("table"), result.content_sha256), profile=result.profile)


@task(
    cache=Cache(version=config.SPLIT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def split(table: Table, profile: DataProfile, params: SplitParams) -> SplitOutputs:
    """Train / validation / test split by each row's seeded hash, stratified in expectation; its summary
    reports the rule and the realised class shares."""
    from flyte.core.data.split import split_table

    use_cpus(config.LIGHT)
    destinations = {name: workdir(name) for name in PART_NAMES}
    with writes_to(workdir()):
        summary = split_table(local_table(table), profile, params, destinations)
    return SplitOutputs(*(as_table(destinations[name]) for name in PART_NAMES), summary=summary)


@task(
    cache=Cache(version=config.FIT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.FIT_TIMEOUT,
    requests=config.TRAIN.requests,
    limits=config.TRAIN.limits,
)
def fit(
    train: Table, validation: Table, profile: DataProfile, hyperparameters: Hyperparameters,
    leak_threshold: float = DEFAULT_THRESHOLD,
) -> HashedModel:  # fmt: skip
    """Fit XGBoost with early stopping; the model directory holds model.ubj, schema.json and manifest.json (their sha256).

    leak_threshold: a feature whose leak score (0 to 1: how far it alone determines the target on the training rows,
        flyte/core/data/leakage.py) passes it refuses the fit, unless the dataset spec allows it."""
    from flyte.core.training.fit import train_model
    from flyte.core.artifact.model import save_model

    use_cpus(config.TRAIN)
    with writes_to(workdir()):
        model = train_model(
            local_table(train),
            local_table(validation),
            profile,
            hyperparameters,
            n_threads=config.TRAIN.cpus,
            memory_budget=config.TRAIN.memory_mib << 20,
            scratch=workdir(),
            leak_threshold=leak_threshold,
        )
        return FlyteDirectory(str(save_model(model, workdir("model"))))


@task(
    cache=Cache(version=config.PREDICT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def predict(model: FlyteDirectory, table: Table) -> Table:
    """Predicted label and class probabilities for every row of ``table``."""
    from flyte.core.artifact.model import load_model
    from flyte.core.evaluation.predict import predict_table

    use_cpus(config.LIGHT)
    destination = workdir("predictions")
    with writes_to(destination):
        predict_table(load_model(local_model(model), n_threads=config.LIGHT.cpus), local_table(table), destination)
    return as_table(destination)


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
def score(
    model: FlyteDirectory, test: Table, predictions: Table, profile: DataProfile, settings: ScoreSettings = ScoreSettings()
) -> ScoreOutputs:
    """Metrics on the test rows, plus the report as a Deck and as an HTML file output. ``settings``: from how many
    test rows on they are streamed, with histogram AUCs (ScoreSettings)."""
    from flyte.core.evaluation.evaluate import evaluate
    from flyte.core.artifact.schema import read_schema

    use_cpus(config.LIGHT)
    result = evaluate(local_table(test), local_table(predictions), read_schema(local_model(model)), profile, settings)
    Deck("Model report", result.report_html)
    path = workdir("report.html")
    with writes_to(path):
        path.write_text(result.report_html, encoding="utf-8")
    return ScoreOutputs(metrics=result.metrics, report=HTMLFile(str(path)))


@task(
    cache=Cache(version=config.PUBLISH_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
    deck_fields=(),  # only the card: flytekit's default pages run pip on every execution
)
def publish(
    model: FlyteDirectory,
    test: Table,
    predictions: Table,
    metrics: Metrics,
    profile: DataProfile,
    dataset: DatasetSpec,
    split_params: SplitParams,
    hyperparameters: Hyperparameters,
    card_template: str,
    split_summary: SplitSummary,
    card: CardSettings = CardSettings(),
) -> FlyteDirectory:
    """The published model directory: the fit's files (verified), model_card.html and the full manifest; the card
    is also the Deck "Model card". ``card_template`` is the intended-use text (config.MODEL_CARD_TEMPLATE);
    ``split_summary``: the split's rule and class shares, recorded in the manifest for the gate; ``card``: how the
    card's intervals and calibration curve are computed (CardSettings)."""
    from flyte.core.artifact.provenance import LOCAL_EXECUTION
    from flyte.core.publishing.publish import publish_model

    use_cpus(config.LIGHT)
    run = current_context().execution_id
    # A local run (pyflyte run without --remote, a direct call) is execution local:local:local.
    execution = LOCAL_EXECUTION if run.project == run.domain == "local" else f"{run.project}:{run.domain}:{run.name}"
    destination = workdir("published")
    with writes_to(destination):
        result = publish_model(
            local_model(model), destination, local_table(test), local_table(predictions), metrics, profile,
            dataset, split_params, hyperparameters, card_template, execution, card, split=split_summary,
        )  # fmt: skip
    Deck("Model card", result.card_html)
    log.info("publish: %s (execution %s)", sorted(result.manifest.files), execution)
    return FlyteDirectory(str(result.directory))
