"""The batch prediction workflow and its launch plans: a trained model and new rows in, checked predictions out."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Optional

from flytekit import CronSchedule, LaunchPlan, workflow
from flytekit.types.file import CSVFile

from flyte.core.data.dataset import PIMA_MODEL, DatasetSpec, pima_new_rows_spec
from flyte.core.artifact.drift import DriftSettings, DriftSummary
from flyte.core.batch.intake import BatchOptions
from flyte.core.evaluation.score import Metrics
from flyte.workflows import config
from flyte.workflows.shared.artifacts import HTMLFile, Table
from flyte.workflows.batch.tasks import batch_report, check_rows, fetch_model, model_fingerprint, predict_rows
from flyte.workflows.shared.notifications import nightly_notifications
from flyte.workflows.training.tasks import fingerprint
from flyte.workflows.shared.snapshot import UNVERSIONED


class BatchOutputs(NamedTuple):
    predictions: Table
    report: HTMLFile
    drift: DriftSummary
    metrics: Optional[Metrics]
    csv: Optional[CSVFile]


@workflow
def batch_predict(
    model: str = PIMA_MODEL,
    dataset: DatasetSpec = pima_new_rows_spec(),
    options: BatchOptions = BatchOptions(),
    data_as_of: datetime = UNVERSIONED,
    model_name: str = "",
    drift: DriftSettings = DriftSettings(),
) -> BatchOutputs:
    """Score new rows with a trained model: check them against its schema, predict, measure drift, report.

    model: the model directory: a local path, file://, s3://, gs://, http(s):// or bundled:// URI, e.g. the ``model``
        output of a training execution (default: the bundled Pima model); or a model registry's location with
        ``model_name``, to score with that name's current champion.
    dataset: the new rows and how to read them; with a target, the run also scores (metrics), without one it
        only predicts (default: 100 bundled Pima rows with a patient_id column and no target).
    options: passthrough columns copied into the predictions (an ID) and whether to export a CSV copy.
    data_as_of: the data snapshot time; a new value reads the rows again instead of serving the cached check.
        The nightly schedule sets it to the kickoff time.
    model_name: with a registry as ``model``, the model name whose champion scores (each name has its own);
        empty when ``model`` is a model directory or already one name's entry (``<registry>/<name>``).
    drift: when a feature's drift is flagged: the PSI threshold, the fewest new rows and the significance level.
    """
    return score_rows(model, dataset, options, data_as_of, predict_rows, model_name, drift)


def score_rows(model, dataset, options, data_as_of, predict, model_name, drift) -> BatchOutputs:
    """Batch prediction's stages, with ``predict`` the predict task (``predict_rows``, or its Dask twin in
    batch_prediction_distributed.py); called while a workflow is compiled, so the tasks become its nodes."""
    model_id = model_fingerprint(model=model, model_name=model_name)
    model_dir = fetch_model(model=model_id.uri, manifest_sha256=model_id.manifest_sha256)
    source = fingerprint(dataset=dataset)
    checked = check_rows(dataset=dataset, source=source, model=model_dir, options=options, data_as_of=data_as_of, drift=drift)
    predicted = predict(model=model_dir, table=checked.table, options=options)
    reported = batch_report(
        model=model_dir, table=checked.table, predictions=predicted.predictions, checks=checked.checks, drift=checked.drift
    )
    return BatchOutputs(
        predictions=predicted.predictions, report=reported.report, drift=checked.drift, metrics=reported.metrics,
        csv=predicted.csv,
    )  # fmt: skip

#: The default launch plan: the workflow's own defaults, launched by hand from the console or CLI.
batch_predict_lp = LaunchPlan.get_or_create(batch_predict)

#: Scores every night with the champion the nightly training promoted (config.NIGHTLY_MODEL_REGISTRY: the first
#: night's training promotes one before 03:00); the rows are the bundled ones until you set your own. The kickoff
#: time becomes data_as_of, so each night re-reads the rows rather than reusing yesterday's cached check.
batch_predict_nightly_lp = LaunchPlan.get_or_create(
    batch_predict,
    name="batch_predict_nightly",
    default_inputs={"model": config.NIGHTLY_MODEL_REGISTRY, "model_name": config.NIGHTLY_MODEL_NAME},
    schedule=CronSchedule(schedule=config.BATCH_NIGHTLY_CRON, kickoff_time_input_arg="data_as_of"),
    notifications=nightly_notifications(),
)
