"""The pipeline's Flyte tasks: each converts Flyte types, calls one core function, and returns."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Annotated, NamedTuple, TypeVar
from urllib.parse import urlparse

import pandas as pd
from flytekit import Cache, Deck, FlyteContextManager, HashMethod, current_context, task
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset
from flytekit.types.structured.structured_dataset import PARQUET

from flyte.core.errors import DataValidationError
from flyte.core.fit import Hyperparameters, train_model
from flyte.core.ingest import DataProfile, DatasetSpec, is_local, load_dataset, local_path
from flyte.core.model import TrainedModel, load_model, save_model
from flyte.core.predict import predict_table, probabilities
from flyte.core.report import render_report
from flyte.core.score import Metrics, score_predictions
from flyte.core.split import SplitParams, split_dataset
from flyte.workflows import config

#: Every table between tasks is a StructuredDataset stored as Parquet.
Table = Annotated[StructuredDataset, PARQUET]


def content_hash(table: StructuredDataset) -> str:
    """sha256 of a table's columns, dtypes and values: equal tables hash equal wherever they are stored."""
    df = table.dataframe
    digest = hashlib.sha256(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


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


def _frame(table: StructuredDataset) -> pd.DataFrame:
    return table.open(pd.DataFrame).all()


def _table(df: pd.DataFrame) -> StructuredDataset:
    return StructuredDataset(dataframe=df)


def _model(directory: FlyteDirectory) -> TrainedModel:
    return load_model(Path(directory.download()))


def fetch_source(source: str) -> Path:
    """A local file holding the source's bytes: local sources as they are, remote ones downloaded
    through flytekit's data layer (http(s), s3, gs, ... with the credentials the pod or laptop has)."""
    if is_local(source):
        return local_path(source)
    ctx = FlyteContextManager.current_context()
    name = Path(urlparse(source).path).name or "dataset"
    destination = ctx.file_access.get_random_local_path(name)
    try:
        ctx.file_access.get_data(source, destination)
    except Exception as exc:  # the data layer raises several types; all mean the same to the user
        raise DataValidationError(f"{source}: cannot fetch: {exc}") from exc
    return Path(destination)


@task(
    cache=Cache(version=config.INGEST_CACHE_VERSION),
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def ingest(dataset: DatasetSpec, data_as_of: datetime) -> IngestOutputs:
    """Read and validate the dataset. ``data_as_of`` only keys the cache: a new value reads afresh."""
    df, profile = load_dataset(fetch_source(dataset.source), dataset)
    return IngestOutputs(table=_table(df), profile=profile)


@task(
    cache=Cache(version=config.SPLIT_CACHE_VERSION),
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def split(table: Table, profile: DataProfile, params: SplitParams) -> SplitOutputs:
    """Stratified train / validation / test split."""
    parts = split_dataset(_frame(table), profile.target, params)
    return SplitOutputs(*(_table(part) for part in parts))


@task(
    cache=Cache(version=config.FIT_CACHE_VERSION),
    requests=config.TRAIN.requests,
    limits=config.TRAIN.limits,
)
def fit(train: Table, validation: Table, profile: DataProfile, hyperparameters: Hyperparameters) -> FlyteDirectory:
    """Fit XGBoost with early stopping; the model directory holds model.ubj and schema.json."""
    model = train_model(
        _frame(train),
        _frame(validation),
        target=profile.target,
        categorical_columns=profile.categorical_columns,
        params=hyperparameters,
        n_threads=config.FIT_CPU,
    )
    return FlyteDirectory(str(save_model(model, Path(current_context().working_directory) / "model")))


@task(
    cache=Cache(version=config.PREDICT_CACHE_VERSION),
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def predict(model: FlyteDirectory, table: Table) -> Table:
    """Predicted label and class probabilities for every row of ``table``."""
    return _table(predict_table(_model(model), _frame(table)))


@task(
    cache=Cache(version=config.SCORE_CACHE_VERSION),
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
)
def score(model: FlyteDirectory, test: Table, predictions: Table, profile: DataProfile) -> ScoreOutputs:
    """Metrics on the test rows, plus the report as a Deck and as an HTML file output."""
    trained = _model(model)
    truth, predicted = _frame(test)[profile.target], _frame(predictions)
    labels = trained.schema.labels
    metrics = score_predictions(truth, predicted, labels)
    html = render_report(
        metrics, truth.tolist(), probabilities(predicted, labels), labels, trained.feature_importance(), profile
    )
    Deck("Model report", html)
    path = Path(current_context().working_directory) / "report.html"
    path.write_text(html, encoding="utf-8")
    return ScoreOutputs(metrics=metrics, report=HTMLFile(str(path)))
