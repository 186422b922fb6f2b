"""The quality gate's Flyte tasks: read the champion's identity, judge the challenger, promote it or keep the champion."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from flytekit import Cache, Deck, FlyteContextManager
from flytekit.types.directory import FlyteDirectory

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError
from flyte.core.gate.gate import GateDecision, GateRules
from flyte.core.registry.registry import Registry
from flyte.core.registry.names import entry_location, resolve_model_name
from flyte.core.evaluation.score import Metrics
from flyte.core.common.validation import require, strict
from flyte.workflows.shared.stage_log import task  # flytekit's task, logging each run's start, end and rows
from flyte.workflows import config
from flyte.workflows.shared.artifacts import Table, local_model, local_table, use_cpus, workdir

log = logging.getLogger(__name__)


@strict
@dataclass
class GateCriteria(GateRules):
    """The gate's settings for one run (see ``flyte.core.gate.gate.GateRules`` for each field's meaning), so
    `--gate '{"min_accuracy": 0.8}'` overrides one and keeps the rest.

    The floors sit under what the default Pima run reaches (accuracy 0.765, ROC AUC 0.839, log loss 0.479 on its 259
    test rows), with room for another seed's split, and high enough to refuse a model that learned nothing (a constant
    guess scores accuracy 0.65 and ROC AUC 0.5 on Pima). 1000 paired-bootstrap resamples put the 2.5% quantile on the
    25th value. At 100 unseen paired rows a 95% interval on an accuracy difference is still about +-0.05 wide for two
    models that disagree on 7% of rows, so fewer rows leave the floors alone to decide.

    bootstrap_budget: the most resamples x test rows the paired bootstrap may cost; past it fewer resamples are
        drawn (never under 200). At 0.3-0.4 microseconds per row per resample, 2e8 is about 85 s: 1000 resamples up
        to 200k test rows. Multiclass costs that per class.
    max_rmse / min_r2: a regression model's floors: no universal RMSE ceiling exists (it is in the target's units),
        so none by default (0); R² at least 0 refuses a model worse than predicting the test rows' mean.
    analytic_rows: from this many test rows on, the intervals are paired normal ones (accuracy from McNemar's
        discordant counts, AUC by DeLong's paired variance) in O(n log n), not a bootstrap that grows with the rows;
        for a regression model, the RMSE difference's normal interval and a binned Wilcoxon test, the champion's
        predictions streamed batch by batch in fixed memory. Below it, bootstrap_budget caps both problem types.
    judge_rows: above this many test rows, the challenger is judged in bounded memory: the floors and the same-rows
        check on every row, streamed as the score task streams them, and the comparison with the champion on a
        seeded sample of about this many test rows (bootstrap_seed). At a million rows the judge stays under the
        light preset's 1 GiB, and the sample still resolves accuracy differences of about a tenth of a percentage
        point (docs/statistics.md).
    """

    min_accuracy: float = 0.70
    min_roc_auc: float = 0.75
    max_log_loss: float = 0.60
    alpha: float = 0.05
    bootstrap_replicates: int = 1000
    bootstrap_seed: int = 7
    require_better: bool = False
    replace_incompatible: bool = False
    min_unseen_rows: int = 100
    bootstrap_budget: int = 200_000_000
    analytic_rows: int = 10_000
    judge_rows: int = 1_000_000
    max_rmse: float = 0.0
    min_r2: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.bootstrap_budget >= 1, f"GateCriteria.bootstrap_budget must be at least 1, got {self.bootstrap_budget}")
        require(self.analytic_rows >= 1, f"GateCriteria.analytic_rows must be at least 1, got {self.analytic_rows}")
        require(self.judge_rows >= 1, f"GateCriteria.judge_rows must be at least 1, got {self.judge_rows}")


class Champion(NamedTuple):
    #: ``<version>@<manifest sha256>`` of the model name's champion, or "" when it has none.
    identity: str
    #: The model name: the registry entry the challenger is judged against and promoted into.
    model_name: str


class Judged(NamedTuple):
    decision: GateDecision
    #: decision.promote again, as a plain output: flytekit 1.16's conditions compare primitives only, and refuse
    #: an attribute of a dataclass output ("Only primitive values can be used in comparison").
    promote: bool


def registry_at(location: str) -> Registry:
    """The registry entry at ``location``, refusing a relative local path inside a pod, where it would vanish with the
    pod. An object store is reached with the storage options flytekit itself uses (a pod's FLYTE_AWS_* endpoint and
    keys, or GCP's settings), so the registry is where the pod's other reads and writes go."""
    ctx = FlyteContextManager.current_context()
    local_run = ctx.execution_state is None or ctx.execution_state.is_local_execution()
    if not local_run and "://" not in location and not location.startswith("/"):
        raise DataValidationError(
            f"model registry {location!r} is a relative path inside a pod: it would be lost when the pod ends",
            hint=f"pass --registry s3://bucket/prefix (the sandbox: {config.NIGHTLY_MODEL_REGISTRY})",
        )
    if not ctx.file_access.is_remote(location):
        return Registry(location)
    from flytekit.core.data_persistence import get_fsspec_storage_options

    protocol = location.split("://", 1)[0]
    return Registry(location, get_fsspec_storage_options(protocol, ctx.file_access.data_config))


@task(
    # Never cached: the champion can change between two runs with the same inputs; this is what tells judge so.
    retries=config.STAGE_RETRIES,
    timeout=config.REGISTRY_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def champion_fingerprint(registry: str, model_name: str, dataset: DatasetSpec) -> Champion:
    """The model name (``model_name``, or one derived from the dataset's file name when empty) and its current
    champion as ``<version>@<manifest sha256>``, or "" when it has none (one small read)."""
    name = resolve_model_name(model_name, dataset.source)
    identity = registry_at(entry_location(registry, name)).champion_identity()
    log.info("registry %s, model %s: champion %s", registry, name, identity or "none")
    return Champion(identity=identity, model_name=name)


@task(
    # Keyed on the champion's identity (an input), so a new champion is a cache miss, and the same pair a hit.
    cache=Cache(version=config.JUDGE_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
    deck_fields=(),
)
def judge(
    model: FlyteDirectory, test: Table, predictions: Table, metrics: Metrics, registry: str, champion: str, criteria: GateCriteria,
    model_name: str,
) -> Judged:  # fmt: skip
    """Floors on the challenger's metrics, then a paired comparison with ``champion`` (model ``model_name``'s) on
    the same test rows."""
    from flyte.core.gate.gate import judge as judge_challenger
    from flyte.core.gate.gate_report import render_gate

    use_cpus(config.LIGHT)
    entry = registry_at(entry_location(registry, model_name))
    result = judge_challenger(
        local_model(model), local_table(test), local_table(predictions), metrics, entry, champion, criteria,
        scratch=workdir(), n_threads=config.LIGHT.cpus, bootstrap_budget=criteria.bootstrap_budget,
        analytic_rows=criteria.analytic_rows, judge_rows=criteria.judge_rows,
    )  # fmt: skip
    Deck("Quality gate", render_gate(result.decision, result.target))
    decision = dataclasses.replace(result.decision, model_name=model_name)
    return Judged(decision=decision, promote=decision.promote)


@task(
    # Not cached: it writes to the registry. Idempotent all the same: the same model twice makes one version.
    retries=config.STAGE_RETRIES,
    timeout=config.REGISTRY_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def promote(model: FlyteDirectory, registry: str, decision: GateDecision) -> GateDecision:
    """Store the model as a new version of ``decision.model_name`` and make it the champion, if the champion is still
    the one judged against (ChampionMoved, never retried, when another promotion changed it first)."""
    entry = entry_location(registry, decision.model_name)
    pointer = registry_at(entry).promote(
        local_model(model), decision.reasons, datetime.now(timezone.utc), expected_champion=decision.champion
    )
    log.info("promoted %s in %s", pointer.version, entry)
    return dataclasses.replace(decision, promoted_version=pointer.version)


@task(
    cache=Cache(version=config.KEEP_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def keep_champion(decision: GateDecision) -> GateDecision:
    """The branch that promotes nothing: the decision, unchanged, as the sub-workflow's output."""
    log.info("gate: not promoted: %s", "; ".join(decision.reasons))
    return decision


@task(
    # Not cached: its Deck is each execution's record of what the gate did, and it costs one small pod.
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
    deck_fields=(),
)
def announce(decision: GateDecision) -> str:
    """The gate's outcome as one line ("promoted: ..." / "kept the champion ...: ..."): the workflow's ``outcome``
    output, shown by the console, and the Deck "Gate outcome"."""
    from flyte.core.gate.gate_report import outcome_line, render_outcome

    line = outcome_line(decision)
    Deck("Gate outcome", render_outcome(line))
    log.info("gate outcome: %s", line)
    return line
