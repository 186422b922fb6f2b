"""The quality gate as a reusable sub-workflow: judge a challenger, then promote it or keep the champion."""

from __future__ import annotations

from flytekit import conditional, workflow
from flytekit.types.directory import FlyteDirectory

from flyte.core.data.dataset import DatasetSpec
from flyte.core.gate.gate import GateDecision
from flyte.core.evaluation.score import Metrics
from flyte.workflows.shared.artifacts import Table
from flyte.workflows.gate.tasks import GateCriteria, champion_fingerprint, judge, keep_champion, promote


@workflow
def gate_and_promote(
    model: FlyteDirectory, test: Table, predictions: Table, metrics: Metrics, registry: str, criteria: GateCriteria,
    model_name: str, dataset: DatasetSpec,
) -> GateDecision:  # fmt: skip
    """Judge ``model`` (its ``predictions`` and ``metrics`` on ``test``) against the champion of ``model_name`` in
    ``registry``; promote it only when the decision says so.

    registry: a local directory, or an s3:// / gs:// prefix; criteria: the floors and comparison settings.
    model_name: the registry entry (empty: derived from ``dataset``'s file name); the decision names it.
    """
    champion = champion_fingerprint(registry=registry, model_name=model_name, dataset=dataset)
    judged = judge(
        model=model, test=test, predictions=predictions, metrics=metrics, registry=registry, champion=champion.identity,
        criteria=criteria, model_name=champion.model_name,
    )  # fmt: skip
    return (
        conditional("promotion")
        .if_(judged.promote.is_true())
        .then(promote(model=model, registry=registry, decision=judged.decision))
        .else_()
        .then(keep_champion(decision=judged.decision))
    )
