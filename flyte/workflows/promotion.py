"""The quality gate as a reusable sub-workflow: judge a challenger, then promote it or keep the champion."""

from __future__ import annotations

from flytekit import conditional, workflow
from flytekit.types.directory import FlyteDirectory

from flyte.core.gate import GateDecision
from flyte.core.score import Metrics
from flyte.workflows.artifacts import Table
from flyte.workflows.gate_tasks import GateCriteria, champion_fingerprint, judge, keep_champion, promote


@workflow
def gate_and_promote(
    model: FlyteDirectory, test: Table, predictions: Table, metrics: Metrics, registry: str, criteria: GateCriteria
) -> GateDecision:
    """Judge ``model`` (its ``predictions`` and ``metrics`` on ``test``) against the champion in ``registry``;
    promote it only when the decision says so.

    registry: a local directory, or an s3:// / gs:// prefix; criteria: the floors and comparison settings.
    """
    champion = champion_fingerprint(registry=registry)
    judged = judge(
        model=model, test=test, predictions=predictions, metrics=metrics, registry=registry, champion=champion, criteria=criteria
    )
    return (
        conditional("promotion")
        .if_(judged.promote.is_true())
        .then(promote(model=model, registry=registry, decision=judged.decision))
        .else_()
        .then(keep_champion(decision=judged.decision))
    )
