"""Stage 4: batch prediction of labels and class probabilities (or a regression's number), streamed from one table to another."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import pyarrow as pa

from flyte.core.common.errors import DataValidationError, shorten_names
from flyte.core.data.tables import TableWriter, iter_batches, prefetch, schema

if TYPE_CHECKING:  # the model module loads XGBoost; readers of predictions tables (score) need not
    from flyte.core.artifact.model import TrainedModel

log = logging.getLogger(__name__)

PREDICTED_COLUMN = "predicted_label"
#: A regression model's one output column: the predicted target, float64, in the target's units.
PREDICTION_COLUMN = "prediction"
PROBABILITY_PREFIX = "probability_"


def probability_column(label) -> str:
    """Name of the column holding the probability of ``label``."""
    return f"{PROBABILITY_PREFIX}{label}"


def predictions_schema(model: TrainedModel) -> pa.Schema:
    """The predictions table: the label in its original type, then one float64 probability per class; for a
    regression model, the ``prediction`` column alone."""
    if model.schema.regression:
        return pa.schema([pa.field(PREDICTION_COLUMN, pa.float64())])
    label_type = pa.array(model.schema.labels).type
    fields = [pa.field(PREDICTED_COLUMN, label_type)]
    fields += [pa.field(probability_column(t), pa.float64()) for t in model.schema.label_texts]
    return pa.schema(fields)


def predict_batch(model: TrainedModel, batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch:
    """One output row per input row: the most probable label, then each class's probability (regression: the prediction)."""
    if model.schema.regression:
        return pa.RecordBatch.from_arrays([pa.array(model.predict_values(batch))], schema=predictions_schema(model))
    proba = model.predict_proba(batch)
    out_schema = predictions_schema(model)
    predicted = pa.array(model.schema.labels, type=out_schema.field(0).type).take(pa.array(proba.argmax(axis=1)))
    columns = [predicted, *(pa.array(proba[:, i]) for i in range(proba.shape[1]))]
    return pa.RecordBatch.from_arrays(columns, schema=out_schema)


def predict_table(model: TrainedModel, table: Path, destination: Path, passthrough: Sequence[str] = ()) -> int:
    """Write predictions for every row of ``table`` into the new table ``destination``, batch by batch.

    ``passthrough`` names columns of ``table`` copied first into each output row (an ID), in row order.
    Memory holds a batch at a time; returns the number of rows predicted.
    """
    names = schema(table).names
    present = set(names)  # a set: a list lookup per feature is quadratic in a wide table
    absent = [c for c in passthrough if c not in present]
    if absent:
        raise DataValidationError(f"{table}: no passthrough column(s) {shorten_names(absent)}; the table has {shorten_names(names)}")
    columns = [c for c in model.schema.features if c in present]
    columns += [c for c in passthrough if c not in columns]
    out_schema = predictions_schema(model)
    kept = [schema(table).field(c) for c in passthrough]
    clash = [f.name for f in kept if f.name in out_schema.names]
    if clash:
        raise DataValidationError(f"{table}: passthrough column(s) {clash} collide with the prediction columns")
    out_schema = pa.schema([*kept, *out_schema])
    with TableWriter(destination, out_schema) as writer:
        for batch in prefetch(iter_batches(table, columns=columns)):
            predicted = predict_batch(model, batch)
            arrays = [batch.column(c) for c in passthrough] + predicted.columns
            writer.write(pa.RecordBatch.from_arrays(arrays, schema=out_schema))
        writer.commit()
    log.info("predicted %d rows", writer.rows)
    return writer.rows
