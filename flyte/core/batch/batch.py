"""Batch prediction's scoring stage: the predictions table with its passthrough columns, and an optional CSV copy."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.csv as pacsv

from flyte.core.batch.intake import BatchOptions
from flyte.core.evaluation.predict import predict_table
from flyte.core.data.tables import iter_batches, schema

if TYPE_CHECKING:
    from flyte.core.artifact.model import TrainedModel

log = logging.getLogger(__name__)


def predict_rows(model: TrainedModel, table: Path, destination: Path, options: BatchOptions, csv: Path | None = None) -> int:
    """Predict every row of the checked table ``table`` into the new table ``destination`` (passthrough columns
    first, then the predicted label and one probability per class) and, when ``csv`` is given, write the same
    rows there as CSV. Both stream batch by batch; returns the row count."""
    rows = predict_table(model, table, destination, passthrough=options.passthrough_columns)
    if csv is not None:
        export_csv(destination, csv)
    return rows


def export_csv(table: Path, path: Path) -> Path:
    """Write ``table`` as one CSV file with a header at ``path``, batch by batch, all or nothing."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path}: already exists; refusing to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        with pacsv.CSVWriter(staging, schema(table)) as writer:
            for batch in iter_batches(table):
                writer.write_batch(batch)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    log.info("exported %s as CSV to %s", table, path)
    return path
