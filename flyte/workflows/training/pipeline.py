"""The training workflow and its launch plans: raw table in, scored XGBoost model out."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flytekit import CronSchedule, LaunchPlan, workflow
from flytekit.types.directory import FlyteDirectory

from flyte.core.data.dataset import DatasetSpec, pima_spec
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.gate.gate import GateDecision
from flyte.core.evaluation.score import Metrics
from flyte.core.data.split import SplitParams
from flyte.workflows import config
from flyte.workflows.gate.tasks import GateCriteria, announce
from flyte.workflows.shared.artifacts import HTMLFile
from flyte.workflows.shared.notifications import nightly_notifications
from flyte.workflows.shared.snapshot import UNVERSIONED
from flyte.workflows.gate.pipeline import gate_and_promote
from flyte.workflows.training.tasks import fingerprint, fit, ingest, predict, publish, score, split

class TrainingOutputs(NamedTuple):
    model: FlyteDirectory
    metrics: Metrics
    decision: GateDecision
    report: HTMLFile
    #: the gate's outcome in one line ("promoted: ..." / "kept the champion ...: ..."), as the console shows it
    outcome: str


@workflow
def training_pipeline(
    dataset: DatasetSpec = pima_spec(),
    split_params: SplitParams = SplitParams(),
    hyperparameters: Hyperparameters = Hyperparameters(),
    data_as_of: datetime = UNVERSIONED,
    registry: str = config.MODEL_REGISTRY,
    gate: GateCriteria = GateCriteria(),
    model_name: str = "",
) -> TrainingOutputs:
    """Ingest, split, fit, predict on the test rows, score, publish the model with its card, and gate: promote the
    published model if it earns it.

    dataset: where the table is and how to read it (default: the bundled Pima diabetes data).
    split_params: test and validation fractions and the split seed.
    hyperparameters: XGBoost settings, including its seed.
    data_as_of: the data snapshot time; a new value makes ingest read the source again instead of
        serving its cached result. The nightly schedule sets it to the kickoff time.
    registry: where promoted models are kept (a directory, or an s3:// / gs:// prefix).
    gate: the floors and the champion comparison's settings (docs/gate-and-registry.md).
    model_name: the name the model is judged and promoted under: each name has its own versions and champion in
        the registry. Empty: derived from the dataset's file name (``pima-indians-diabetes`` for the default); the
        decision output names it.
    """
    source = fingerprint(dataset=dataset)
    ingested = ingest(dataset=dataset, source=source, split_params=split_params, data_as_of=data_as_of)
    parts = split(table=ingested.table, profile=ingested.profile, params=split_params)
    model = fit(
        train=parts.train, validation=parts.validation, profile=ingested.profile, hyperparameters=hyperparameters
    )
    return evaluate_publish_gate(model, parts, ingested, dataset, split_params, hyperparameters, registry, gate, model_name)


def evaluate_publish_gate(
    model, parts, ingested, dataset, split_params, hyperparameters, registry, gate, model_name
) -> TrainingOutputs:
    """The stages after a fit, shared by every training workflow (called while a workflow is compiled, so its
    tasks become that workflow's nodes): predict and score on the test rows, publish the model with its card and
    full manifest, and gate the published directory, which is what a registry version must carry."""
    predictions = predict(model=model, table=parts.test)
    scored = score(model=model, test=parts.test, predictions=predictions, profile=ingested.profile)
    published = publish(
        model=model, test=parts.test, predictions=predictions, metrics=scored.metrics, profile=ingested.profile,
        dataset=dataset, split_params=split_params, hyperparameters=hyperparameters, card_template=config.MODEL_CARD_TEMPLATE,
        split_summary=parts.summary,
    )  # fmt: skip
    decision = gate_and_promote(
        model=published, test=parts.test, predictions=predictions, metrics=scored.metrics, registry=registry, criteria=gate,
        model_name=model_name, dataset=dataset,
    )
    outcome = announce(decision=decision)
    return TrainingOutputs(model=published, metrics=scored.metrics, decision=decision, report=scored.report, outcome=outcome)

#: The default launch plan: the workflow's own defaults, launched by hand from the console or CLI.
training_pipeline_lp = LaunchPlan.get_or_create(training_pipeline)

#: Retrains, gates and promotes every night. Every input has a default; the kickoff time becomes data_as_of, so each
#: night is its own run that re-reads the source rather than reusing yesterday's cached ingest. Its registry is
#: an object store: a pod's local files vanish with it.
nightly_training_lp = LaunchPlan.get_or_create(
    training_pipeline,
    name="training_pipeline_nightly",
    default_inputs={"registry": config.NIGHTLY_MODEL_REGISTRY, "model_name": config.NIGHTLY_MODEL_NAME},
    schedule=CronSchedule(schedule=config.NIGHTLY_CRON, kickoff_time_input_arg="data_as_of"),
    notifications=nightly_notifications(),
)
