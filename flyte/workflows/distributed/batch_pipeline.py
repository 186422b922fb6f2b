"""Batch prediction with its predict stage on a Dask cluster, and its launch plan: for batches past one pod."""

from __future__ import annotations

from datetime import datetime

from flytekit import LaunchPlan, workflow

from flyte.core.data.dataset import PIMA_MODEL, DatasetSpec, pima_new_rows_spec
from flyte.core.artifact.drift import DriftSettings
from flyte.core.batch.intake import BatchOptions
from flyte.workflows.batch.pipeline import BatchOutputs, score_rows
from flyte.workflows.distributed.tasks import predict_rows_distributed
from flyte.workflows.shared.snapshot import UNVERSIONED


@workflow
def batch_predict_distributed(
    model: str = PIMA_MODEL,
    dataset: DatasetSpec = pima_new_rows_spec(),
    options: BatchOptions = BatchOptions(),
    data_as_of: datetime = UNVERSIONED,
    model_name: str = "",
    drift: DriftSettings = DriftSettings(),
) -> BatchOutputs:
    """batch_predict with the predictions made by a Dask cluster's workers: same inputs, same outputs, same table.

    The model fingerprint and fetch, the check and the report are batch_predict's own tasks (their cached results
    are shared with it); only the predict stage differs: predict_rows_distributed, whose workers read the checked
    rows' Parquet parts and write the predictions' parts themselves.
    """
    return score_rows(model, dataset, options, data_as_of, predict_rows_distributed, model_name, drift)


#: Launched by hand, with the workflow's defaults; no schedule: the nightly scoring is batch_predict_nightly.
batch_predict_distributed_lp = LaunchPlan.get_or_create(batch_predict_distributed)
