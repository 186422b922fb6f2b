"""Stage 3 on a Dask cluster: the same early-stopped XGBoost fit, trained by the workers as one XGBoost collective."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import xgboost as xgb

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile
from flyte.core.artifact.drift import DriftCounter, Reference, counted, empty_reference
from flyte.core.artifact.drift_edges import EDGE_SAMPLE_ROWS, EDGE_SAMPLE_SEED, edges_from_sample
from flyte.core.common.errors import DataValidationError
from flyte.core.training.finish import finish, new_schema
from flyte.core.training.fit import booster_params
from flyte.core.training.hyperparameters import NON_NEGATIVE_OBJECTIVES, Hyperparameters, objective_settings, regression_objective
from flyte.core.data.target import REGRESSION
from flyte.core.artifact.model import ModelSchema, TrainedModel
from flyte.core.data.tables import part_files
from flyte.core.training.worker_fit import deal, list_pieces, start_tracker, train_share

log = logging.getLogger(__name__)


def train_distributed(
    client,
    train: Path | str,
    validation: Path | str,
    profile: DataProfile,
    params: Hyperparameters,
    storage_options: dict | None = None,
) -> TrainedModel:
    """Fit the single-pod fit's model (``fit.train_model``) on a Dask cluster reached through ``client``.

    ``train`` and ``validation`` are table directories of Parquet parts where every worker can read them: a
    local directory for a local cluster, or a blob-store URI read with fsspec ``storage_options``. The driver
    reads only Parquet footers and deals each part's row groups out to the workers (``worker_fit.deal``). Each
    worker reads its row groups itself, one at a time, types them as the single-pod fit does
    (``worker_fit.matrix_rows``: NaN for missing, categories coded over the sorted training categories) and streams
    them into its share of a training and a validation ``QuantileDMatrix`` (the validation one with the training
    bins); the workers then train as one XGBoost collective (``worker_fit.train_share``) with the same parameters
    (``fit.booster_params``) and early stopping on all the validation rows. Each worker trains with as many threads
    as it has (the Dask worker's ``nthreads``), not a thread count chosen here. The categories, the label check and
    the drift reference are computed on the workers too, through Dask frames that are not kept.

    Returns the booster cut at the best round and its ModelSchema, as ``fit.train_model`` does, so
    ``model.save_model`` writes the same model directory.
    """
    import dask.dataframe as dd

    columns = [*profile.feature_columns, profile.target]
    frames = {
        name: _read(dd, table, columns, storage_options) for name, table in (("train", train), ("validation", validation))
    }
    categorical = list(profile.categorical_columns)
    regression = profile.problem_type == REGRESSION
    # A regression target's distinct values are most of its rows: it is checked on the workers as it is typed.
    label = [] if regression else [profile.target]
    seen = {"train": _distinct(frames["train"], [*categorical, *label]), "validation": _distinct(frames["validation"], label)}
    code_of = {text: i for i, text in enumerate(profile.labels)}
    for name, table in (("train", train), ("validation", validation)):
        # Checked here, on the driver, so a bad label is one clear error, not a failed task deep inside XGBoost.
        if not regression:
            _check_labels(seen[name][profile.target], profile.label_kind, code_of, f"{table}: target column {profile.target!r}")
    objective = objective_settings(params, regression, len(profile.labels), _std(profile))
    if regression and regression_objective(params) in NON_NEGATIVE_OBJECTIVES and profile.target_distribution.negatives:
        d = profile.target_distribution
        raise DataValidationError(f"objective {regression_objective(params)!r} needs every target 0 or more: target "
                                  f"{profile.target!r} holds {d.negatives} value(s) below 0, the lowest {d.min:g}")  # fmt: skip
    # Each categorical column's distinct training values, sorted, as fit._categories lists them.
    categories = {c: sorted(str(v) for v in seen["train"][c][0]) for c in categorical}
    schema = new_schema(profile, categories, objective["objective"])
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    log.info(
        "distributed fit: %d train and %d validation partitions x %d features on %d Dask workers",
        frames["train"].npartitions, frames["validation"].npartitions, len(schema.features), len(workers),
    )  # fmt: skip
    # Each worker gets a share of each part's row groups and reads them itself, one at a time, straight into its
    # QuantileDMatrix: no worker keeps input rows beside the quantised matrix, as the single-pod fit keeps none.
    pieces = {name: list_pieces(table, storage_options) for name, table in (("train", train), ("validation", validation))}
    shares = {name: deal(p, len(workers)) for name, p in pieces.items()}
    settings = {**booster_params(params, n_classes=len(schema.labels), n_threads=1, regression=regression), **objective}
    if objective["objective"] == "reg:pseudohubererror":  # as fit.train_model, from the profile's median here
        settings["base_score"] = profile.target_distribution.median
    # Each worker's own thread count (its cpu limit on a cluster, 1 on the local cluster), not the driver's.
    del settings["nthread"]
    booster = _train(client, workers, shares, schema, code_of, settings, params, storage_options)
    booster.feature_names, booster.feature_types = schema.booster_features, schema.booster_types
    booster = finish(booster, schema, params.max_rounds)
    booster.set_param({"nthread": 1})  # the driver's copy predicts nothing; a later load sets its own threads
    # What batch prediction's drift compares to, as fit.train_model writes it, computed on the workers too.
    reference = _reference(frames["train"], schema)
    return TrainedModel(booster=booster, schema=schema, reference=reference)


def _reference(frame, schema: ModelSchema) -> Reference:
    """The training rows' drift reference (``drift.build_reference``'s bins and counts), computed where the rows
    are: each worker samples its partitions for the numeric edges (seeded by partition number, so the same table
    gives the same edges) and counts its rows per bin; only samples of at most EDGE_SAMPLE_ROWS values a feature
    and the per-bin counts reach the driver. The sample differs from the single-pod fit's, so the edges may too."""
    features = schema.features
    numeric = [f for f in features if f not in schema.categories]
    lengths = frame.map_partitions(len, meta=(None, "int64")).compute()
    rows = int(sum(lengths))
    share = min(1.0, EDGE_SAMPLE_ROWS / max(rows, 1))
    edges: dict[str, list[float]] = {}
    if numeric:
        samples = frame[numeric].map_partitions(_partition_sample, numeric, share, meta=(None, object)).compute()
        edges = {f: edges_from_sample(np.concatenate([s[f] for s in samples] or [np.empty(0)])) for f in numeric}
    ref = empty_reference(rows, features, schema.categories, edges)
    totals = {f: 0 for f in features}
    for part in frame[features].map_partitions(_partition_counts, ref, meta=(None, object)).compute():
        totals = {f: totals[f] + part[f] for f in features}
    return counted(ref, totals)


def _partition_sample(frame: pd.DataFrame, numeric: list[str], share: float, partition_info=None) -> pd.Series:
    """Runs on a worker: a seeded share of one partition's non-missing numeric values (all of them when share is 1)."""
    rng = np.random.default_rng([EDGE_SAMPLE_SEED, (partition_info or {}).get("number", 0)])
    keep = rng.random(len(frame)) < share if share < 1 else np.ones(len(frame), dtype=bool)
    out = {}
    for f in numeric:
        values = frame[f].to_numpy(dtype=np.float64, na_value=np.nan)[keep]
        out[f] = values[~np.isnan(values)]
    return pd.Series([out], dtype=object)


def _partition_counts(frame: pd.DataFrame, ref: Reference) -> pd.Series:
    """Runs on a worker: one partition's rows counted per reference bin, by the single-pod fit's DriftCounter."""
    counter = DriftCounter(ref)
    counter.add(pa.Table.from_pandas(frame, preserve_index=False))
    return pd.Series([counter.counts], dtype=object)


def _read(dd, table: Path | str, columns: list[str], storage_options: dict | None):
    """The table as a Dask frame, one partition per Parquet row group (a few MiB each: ``tables.ROW_GROUP_ROWS``),
    so partitions spread over the workers; the driver reads the footers only."""
    # A local table is listed as the single-pod fit lists it; a remote directory by fsspec, which reads the
    # same *.parquet parts (names starting with _ or . are not data there either).
    where = [str(p) for p in part_files(Path(table))] if storage_options is None else str(table)
    frame = dd.read_parquet(
        where, columns=columns, split_row_groups=True, dtype_backend="pyarrow", storage_options=storage_options
    )
    absent = [c for c in columns if c not in frame.columns]
    if absent:  # read_parquet would fail later, on a worker, with a less helpful message
        raise DataValidationError(f"{table}: no column(s) {absent}; the table has {list(frame.columns)}")
    return frame


def _distinct(frame, columns: list[str]) -> dict[str, tuple[set, int]]:
    """Each column's distinct non-missing values and its count of missing ones, computed on the workers (per
    partition, then their union), so only the few distinct values travel to the driver."""
    found: dict[str, tuple[set, int]] = {c: (set(), 0) for c in columns}
    for part in frame[columns].map_partitions(_partition_distinct, columns, meta=(None, object)).compute():
        for c, (values, missing) in part.items():
            found[c] = (found[c][0] | set(values), found[c][1] + missing)
    return found


def _partition_distinct(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Runs on a worker: one partition's distinct values and missing count per column, as a one-row series."""
    summary = {c: (list(frame[c].dropna().unique()), int(frame[c].isna().sum())) for c in columns}
    return pd.Series([summary], dtype=object)


def _check_labels(seen: tuple[set, int], kind: str, code_of: dict[str, int], where: str) -> None:
    """Refuse missing labels and labels outside the profile, as ``labels.codes`` does in the single-pod fit."""
    values, missing = seen
    if missing:
        raise DataValidationError(f"{where}: {missing} missing label(s)")
    lbl.codes(pa.array(sorted(values, key=lbl.sort_key)), kind, code_of, where=where)


def _train(client, workers: list[str], shares: dict, schema: ModelSchema, code_of: dict[str, int], settings: dict,
           params: Hyperparameters, storage_options: dict | None) -> xgb.Booster:  # fmt: skip
    """Run ``worker_fit.train_share`` on every worker of ``workers`` at once (``workers[i]`` gets rank ``i`` and share
    ``i``), around a collective tracker on the scheduler; the model from the first worker that held rows."""
    from distributed import comm

    try:
        host = comm.get_address_host(client.scheduler.address).strip("/:")
    except Exception:  # an address with no host part (in-process transports): let XGBoost pick one
        host = None
    tracker = client.run_on_scheduler(start_tracker, len(workers), host)
    futures = [
        client.submit(
            train_share, rank, tracker, shares["train"][rank], shares["validation"][rank], schema, code_of, settings,
            params.max_bin, params.max_rounds, params.early_stopping_rounds, storage_options,
            workers=[address], allow_other_workers=False, pure=False, key=f"xgboost-train-{uuid.uuid4().hex}-{rank}",
        )  # fmt: skip
        for rank, address in enumerate(workers)
    ]
    models = [m for m in client.gather(futures) if m is not None]
    booster = xgb.Booster()
    booster.load_model(bytearray(models[0]))
    return booster


def _std(profile: DataProfile) -> float:
    return profile.target_distribution.std if profile.target_distribution else 1.0
