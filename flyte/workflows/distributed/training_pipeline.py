"""The training workflow with its fit on a Dask cluster, and its launch plans: for tables past one pod's memory."""

from __future__ import annotations

from datetime import datetime

from flytekit import CronSchedule, LaunchPlan, workflow

from flyte.core.data.dataset import DatasetSpec, pima_spec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.split import SplitParams
from flyte.workflows import config
from flyte.workflows.distributed.tasks import fit_distributed
from flyte.workflows.gate.tasks import GateCriteria
from flyte.workflows.shared.notifications import nightly_notifications
from flyte.workflows.training.tasks import fingerprint, ingest, split
from flyte.workflows.shared.snapshot import UNVERSIONED
from flyte.workflows.training.pipeline import TrainingOutputs, evaluate_publish_gate


@workflow
def training_pipeline_distributed(
    dataset: DatasetSpec = pima_spec(),
    split_params: SplitParams = SplitParams(),
    hyperparameters: Hyperparameters = Hyperparameters(),
    data_as_of: datetime = UNVERSIONED,
    registry: str = config.MODEL_REGISTRY,
    gate: GateCriteria = GateCriteria(),
    model_name: str = "",
) -> TrainingOutputs:
    """training_pipeline with the fit on a Dask cluster: same inputs, same outputs, same model directory.

    Ingest, split, predict, score, publish and the gate are training_pipeline's own (so their cached results are
    shared with it); only the fit differs: fit_distributed, whose workers read the split's Parquet parts themselves.
    """
    source = fingerprint(dataset=dataset)
    ingested = ingest(dataset=dataset, source=source, split_params=split_params, data_as_of=data_as_of)
    parts = split(table=ingested.table, profile=ingested.profile, params=split_params)
    model = fit_distributed(
        train=parts.train, validation=parts.validation, profile=ingested.profile, hyperparameters=hyperparameters
    )
    return evaluate_publish_gate(model, parts, ingested, dataset, split_params, hyperparameters, registry, gate, model_name)


#: Launched by hand, with the workflow's defaults.
training_pipeline_distributed_lp = LaunchPlan.get_or_create(training_pipeline_distributed)

#: The nightly retrain on the Dask cluster; the kickoff time becomes data_as_of, as in training_pipeline_nightly.
#: Registration leaves it inactive (config.PAUSED_SCHEDULES): activate it instead of (not beside) the single-pod nightly.
nightly_training_distributed_lp = LaunchPlan.get_or_create(
    training_pipeline_distributed,
    name="training_pipeline_distributed_nightly",
    default_inputs={"registry": config.NIGHTLY_MODEL_REGISTRY, "model_name": config.NIGHTLY_MODEL_NAME},
    schedule=CronSchedule(schedule=config.NIGHTLY_CRON, kickoff_time_input_arg="data_as_of"),
    notifications=nightly_notifications(),
)
