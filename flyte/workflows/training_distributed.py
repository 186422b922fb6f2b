"""The training workflow with its fit on a Dask cluster, and its launch plans: for tables past one pod's memory."""

from __future__ import annotations

from datetime import datetime

from flytekit import CronSchedule, LaunchPlan, workflow

from flyte.core.dataset import DatasetSpec, pima_spec
from flyte.core.hyperparameters import Hyperparameters
from flyte.core.split import SplitParams
from flyte.workflows import config
from flyte.workflows.distributed_tasks import fit_distributed
from flyte.workflows.tasks import fingerprint, ingest, predict, score, split
from flyte.workflows.training import UNVERSIONED, TrainingOutputs


@workflow
def training_pipeline_distributed(
    dataset: DatasetSpec = pima_spec(),
    split_params: SplitParams = SplitParams(),
    hyperparameters: Hyperparameters = Hyperparameters(),
    data_as_of: datetime = UNVERSIONED,
) -> TrainingOutputs:
    """training_pipeline with the fit on a Dask cluster: same inputs, same outputs, same model directory.

    Ingest, split, predict and score are training_pipeline's own tasks (so their cached results are shared
    with it); only the fit differs: fit_distributed, whose workers read the split's Parquet parts themselves.
    """
    source = fingerprint(dataset=dataset)
    ingested = ingest(dataset=dataset, source=source, split_params=split_params, data_as_of=data_as_of)
    parts = split(table=ingested.table, profile=ingested.profile, params=split_params)
    model = fit_distributed(
        train=parts.train, validation=parts.validation, profile=ingested.profile, hyperparameters=hyperparameters
    )
    predictions = predict(model=model, table=parts.test)
    scored = score(model=model, test=parts.test, predictions=predictions, profile=ingested.profile)
    return TrainingOutputs(model=model, metrics=scored.metrics, report=scored.report)


#: Launched by hand, with the workflow's defaults.
training_pipeline_distributed_lp = LaunchPlan.get_or_create(training_pipeline_distributed)

#: The nightly retrain on the Dask cluster; the kickoff time becomes data_as_of, as in training_pipeline_nightly.
#: Registered inactive like every launch plan; activate it instead of (not beside) the single-pod nightly plan.
nightly_training_distributed_lp = LaunchPlan.get_or_create(
    training_pipeline_distributed,
    name="training_pipeline_distributed_nightly",
    schedule=CronSchedule(schedule=config.NIGHTLY_CRON, kickoff_time_input_arg="data_as_of"),
)
