"""Batch prediction on a Dask cluster: each worker predicts the row groups it reads and writes its own Parquet parts."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa

from flyte.core.common.errors import DataValidationError
from flyte.core.artifact.model import TrainedModel
from flyte.core.evaluation.predict import predict_batch, predictions_schema
from flyte.core.data.tables import part_files

log = logging.getLogger(__name__)

#: Output parts are named by partition number, zero-padded so their names sort in row order (as ``part_files`` reads).
PART_NAME = "part-{:06d}.parquet"


def predict_distributed(
    client, model: TrainedModel, table: Path | str, destination: Path | str, passthrough: list[str],
    storage_options: dict | None = None,
) -> int:  # fmt: skip
    """Predict every row of ``table`` (a directory of Parquet parts) on the workers of ``client`` and write the
    predictions table ``destination``, with the same columns and rows, in the same order, as ``predict.predict_table``.

    Each worker reads its row groups itself (one per partition) and writes one part per partition: no row passes
    through the driver, which ships the booster (UBJSON bytes, not a pickle of the object) and counts the rows. A local
    ``destination`` is written into a staging directory renamed into place, so a failure leaves nothing; a remote one
    (the task's fresh output prefix) is only referenced once every part is written. Returns the row count.
    """
    import dask.dataframe as dd

    schema = model.schema
    local = storage_options is None
    where = [str(p) for p in part_files(Path(table))] if local else str(table)
    frame = dd.read_parquet(
        where, columns=None, split_row_groups=True, dtype_backend="pyarrow", storage_options=storage_options
    )
    absent = [c for c in [*schema.features, *passthrough] if c not in frame.columns]
    if absent:
        raise DataValidationError(f"{table}: no column(s) {absent}; the table has {list(frame.columns)}")
    out_schema = _output_schema(model, frame, passthrough, table)
    booster = bytes(model.booster.save_raw("ubj"))
    meta = out_schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
    predicted = frame[[*dict.fromkeys([*schema.features, *passthrough])]].map_partitions(
        _predict_partition, booster, schema, passthrough, out_schema, meta=meta
    )
    target = destination
    if local:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
        target = tempfile.mkdtemp(prefix=f".{Path(destination).name}-", dir=Path(destination).parent)
    try:
        predicted.to_parquet(
            str(target), schema=out_schema, write_index=False, name_function=PART_NAME.format,
            storage_options=storage_options, write_metadata_file=False,
        )  # fmt: skip
        rows = int(sum(frame.map_partitions(len, meta=(None, "int64")).compute()))
        if local:
            os.replace(target, destination)
    except BaseException:
        if local:
            shutil.rmtree(target, ignore_errors=True)
        raise
    log.info("predicted %d rows on %d partitions into %s", rows, frame.npartitions, destination)
    return rows


def _output_schema(model: TrainedModel, frame, passthrough: list[str], table) -> pa.Schema:
    """Passthrough columns first (typed as read), then the predicted label and the probabilities."""
    out = predictions_schema(model)
    clash = [c for c in passthrough if c in out.names]
    if clash:
        raise DataValidationError(f"{table}: passthrough column(s) {clash} collide with the prediction columns")
    read = pa.Schema.from_pandas(frame._meta[passthrough], preserve_index=False) if passthrough else pa.schema([])
    return pa.schema([*read, *out])


_BOOSTERS: dict[int, object] = {}  # one loaded booster per worker process, keyed by the bytes' identity


def _predict_partition(frame: pd.DataFrame, booster: bytes, schema, passthrough: list[str], out_schema: pa.Schema) -> pd.DataFrame:
    """Runs on a worker: one partition through the single-pod predict (``predict.predict_batch``), passthrough first."""
    import xgboost as xgb

    key = hash(booster)
    if key not in _BOOSTERS:
        loaded = xgb.Booster(params={"nthread": 1})
        loaded.load_model(bytearray(booster))
        _BOOSTERS.clear()  # a worker keeps the current model only
        _BOOSTERS[key] = loaded
    model = TrainedModel(booster=_BOOSTERS[key], schema=schema)
    batch = pa.Table.from_pandas(frame, preserve_index=False)
    predicted = predict_batch(model, batch)
    arrays = [batch.column(c).cast(out_schema.field(c).type) for c in passthrough] + list(predicted.columns)
    return pa.Table.from_arrays(arrays, schema=out_schema).to_pandas(types_mapper=pd.ArrowDtype)
