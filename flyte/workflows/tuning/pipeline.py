"""The tuning workflow and its launch plans: a cross-validated hyperparameter search, then the training stages."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flytekit import CronSchedule, LaunchPlan, workflow
from flytekit.types.directory import FlyteDirectory

from flyte.core.data.dataset import DatasetSpec, pima_spec
from flyte.core.gate.gate import GateDecision
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.evaluation.score import Metrics
from flyte.core.tuning.search import SearchSpace, TrialResult
from flyte.core.data.split import SplitParams
from flyte.workflows import config
from flyte.workflows.gate.tasks import GateCriteria
from flyte.workflows.shared.artifacts import HTMLFile
from flyte.workflows.shared.notifications import nightly_notifications
from flyte.workflows.training.tasks import fingerprint, fit, ingest, split
from flyte.workflows.shared.snapshot import UNVERSIONED
from flyte.workflows.training.pipeline import evaluate_publish_gate
from flyte.workflows.tuning.tasks import map_trials, sample, select_best


class TuningOutputs(NamedTuple):
    best_hyperparameters: Hyperparameters
    cv_results: list[TrialResult]
    model: FlyteDirectory
    metrics: Metrics
    decision: GateDecision
    report: HTMLFile
    trials_report: HTMLFile
    #: the gate's outcome in one line, as in training_pipeline
    outcome: str


@workflow
def tuning_pipeline(
    dataset: DatasetSpec = pima_spec(),
    split_params: SplitParams = SplitParams(),
    hyperparameters: Hyperparameters = Hyperparameters(),
    search: SearchSpace = SearchSpace(),
    data_as_of: datetime = UNVERSIONED,
    registry: str = config.MODEL_REGISTRY,
    gate: GateCriteria = GateCriteria(),
    model_name: str = "",
) -> TuningOutputs:
    """Ingest and split as training_pipeline does, search hyperparameters by cross-validation on the train and
    validation rows, refit the best on train (early-stopped on validation), then predict, score, publish and gate as training does.

    dataset, split_params, data_as_of: as in training_pipeline.
    hyperparameters: the base: every setting the search does not vary (max_rounds, seed, ...), and trial 0
        when ``search.include_base``.
    search: where each tunable hyperparameter is searched, the trial count, the seed and the folds.
    registry, gate, model_name: as in training_pipeline: the tuned model is promoted only if it passes the same gate.
    """
    source = fingerprint(dataset=dataset)
    ingested = ingest(dataset=dataset, source=source, split_params=split_params, data_as_of=data_as_of)
    parts = split(table=ingested.table, profile=ingested.profile, params=split_params)
    sampled = sample(space=search, base=hyperparameters)
    # The test part is not bound here: no trial can read it.
    results = map_trials(train=parts.train, validation=parts.validation, profile=ingested.profile, cv=sampled.cv)(
        trial=sampled.trials
    )
    chosen = select_best(results=results, space=search)
    model = fit(train=parts.train, validation=parts.validation, profile=ingested.profile, hyperparameters=chosen.best)
    trained = evaluate_publish_gate(model, parts, ingested, dataset, split_params, chosen.best, registry, gate, model_name)
    return TuningOutputs(
        best_hyperparameters=chosen.best, cv_results=chosen.cv_results, model=trained.model, metrics=trained.metrics,
        decision=trained.decision, report=trained.report, trials_report=chosen.report, outcome=trained.outcome,
    )  # fmt: skip


#: The default launch plan: the workflow's own defaults (20 trials, 5 folds), launched by hand.
tuning_pipeline_lp = LaunchPlan.get_or_create(tuning_pipeline)

#: Searches every night: the kickoff time becomes data_as_of, as in training_pipeline_nightly. A night whose data
#: did not change re-uses the cached split, every cached trial, the selection and the refit.
nightly_tuning_lp = LaunchPlan.get_or_create(
    tuning_pipeline,
    name="tuning_pipeline_nightly",
    default_inputs={"registry": config.NIGHTLY_MODEL_REGISTRY, "model_name": config.NIGHTLY_MODEL_NAME},
    schedule=CronSchedule(schedule=config.TUNING_NIGHTLY_CRON, kickoff_time_input_arg="data_as_of"),
    notifications=nightly_notifications(),
)
