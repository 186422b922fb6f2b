"""The Dask-backed tasks: the fit, and batch prediction, whose workers read the tables' Parquet parts themselves."""

from __future__ import annotations

import logging

from flytekit import Cache, FlyteContextManager
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import CSVFile
from flytekit.types.structured import StructuredDataset
from flytekitplugins.dask import Dask, Scheduler, WorkerGroup

from flyte.core.common import uris
from flyte.core.data.dataset import DataProfile
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.batch.intake import BatchOptions
from flyte.workflows.shared.stage_log import task  # flytekit's task, logging each run's start, end and rows
from flyte.workflows import config
from flyte.workflows.shared.artifacts import HashedModel, Table, as_table, local_model, local_table, table_uri, use_cpus, workdir, writes_to
from flyte.workflows.batch.tasks import PredictOutputs
from flyte.workflows.distributed.cluster import dask_client

log = logging.getLogger(__name__)


def table_location(table: StructuredDataset) -> tuple[str, dict | None]:
    """Where the table's Parquet parts are, without downloading them, and the fsspec storage options that
    read a remote store (None for a local directory): the workers read the parts themselves."""
    uri = table_uri(table)
    ctx = FlyteContextManager.current_context()
    if not ctx.file_access.is_remote(uri):
        return uri, None
    from flytekit.core.data_persistence import get_fsspec_storage_options

    # The same options flytekit itself reads the store with (endpoint and keys from the pod's FLYTE_AWS_* or
    # GCP settings); they travel to the workers inside the task graph.
    protocol = uris.scheme(uri)
    return uri, get_fsspec_storage_options(protocol, ctx.file_access.data_config)


#: The Dask cluster every task here runs on: one scheduler and DASK_WORKERS workers, presets from config.
DASK_CLUSTER = Dask(
    scheduler=Scheduler(requests=config.DASK_SCHEDULER.requests, limits=config.DASK_SCHEDULER.limits),
    workers=WorkerGroup(
        number_of_workers=config.DASK_WORKERS, requests=config.DASK_WORKER.requests, limits=config.DASK_WORKER.limits
    ),
)


@task(
    task_config=DASK_CLUSTER,
    cache=Cache(version=config.DASK_FIT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.DASK_FIT_TIMEOUT,
    requests=config.DASK_DRIVER.requests,
    limits=config.DASK_DRIVER.limits,
)
def fit_distributed(train: Table, validation: Table, profile: DataProfile, hyperparameters: Hyperparameters) -> HashedModel:
    """Fit XGBoost with early stopping on a Dask cluster; the same model directory as ``tasks.fit`` writes.

    On a Flyte cluster with the Dask plugin this pod is the DaskJob's driver and the plugin's workers do the
    reading and training; elsewhere a LocalCluster is started inside this task (flyte/workflows/distributed/cluster.py).
    """
    from flyte.core.training.distributed_fit import train_distributed
    from flyte.core.artifact.model import save_model

    use_cpus(config.DASK_DRIVER)
    (train_at, options), (validation_at, _) = table_location(train), table_location(validation)
    log.info("fit_distributed: train %s, validation %s", train_at, validation_at)
    with writes_to(workdir()), dask_client(workdir("dask")) as client:
        model = train_distributed(client, train_at, validation_at, profile, hyperparameters, storage_options=options)
        return FlyteDirectory(str(save_model(model, workdir("model"))))


@task(
    task_config=DASK_CLUSTER,
    cache=Cache(version=config.DASK_PREDICT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.DASK_FIT_TIMEOUT,
    requests=config.DASK_DRIVER.requests,
    limits=config.DASK_DRIVER.limits,
)
def predict_rows_distributed(model: FlyteDirectory, table: Table, options: BatchOptions) -> PredictOutputs:
    """batch_tasks.predict_rows on a Dask cluster: the workers read the checked rows' parts and write the predictions'
    parts straight to the task's output location; the same table, row for row. A CSV copy, when asked for, is
    streamed by this driver from the written parts, batch by batch."""
    from flyte.core.batch.batch import export_csv
    from flyte.core.batch.distributed_predict import predict_distributed
    from flyte.core.artifact.model import load_model

    use_cpus(config.DASK_DRIVER)
    trained = load_model(local_model(model), n_threads=1)  # verified against its manifest before it is shipped
    table_at, storage = table_location(table)
    # The workers write where the output will live: the blob store on a cluster, a local directory in a local run.
    destination = FlyteContextManager.current_context().file_access.get_random_remote_directory()
    log.info("predict_rows_distributed: %s into %s", table_at, destination)
    with writes_to(workdir()), dask_client(workdir("dask")) as client:
        predict_distributed(client, trained, table_at, destination, options.passthrough_columns, storage_options=storage)
    predictions = as_table(destination)
    csv = None
    if options.export_csv:
        with writes_to(workdir()):
            csv = CSVFile(str(export_csv(local_table(predictions), workdir("predictions.csv"))))
    return PredictOutputs(predictions=predictions, csv=csv)
