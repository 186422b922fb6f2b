"""The search's Flyte tasks: sample the trials, cross-validate one trial (mapped), and select the best."""

# XGBoost is imported inside the trial task only, as in the training tasks: the other pods need not load it.

from __future__ import annotations

import functools
import logging
from typing import NamedTuple

from flytekit import Cache, Deck

from flyte.core.data.dataset import DataProfile
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import CrossValidation, SearchSpace, Trial, TrialResult
from flyte.workflows.shared.stage_log import task  # flytekit's task, logging each run's start, end and rows
from flyte.workflows import config
from flyte.workflows.shared.flytekit_compat import PerElementCachedMapTask
from flyte.workflows.shared.artifacts import HTMLFile, Table, local_table, use_cpus, workdir, writes_to

log = logging.getLogger(__name__)


class SampleOutputs(NamedTuple):
    trials: list[Trial]
    cv: CrossValidation


class SelectOutputs(NamedTuple):
    best: Hyperparameters
    cv_results: list[TrialResult]
    report: HTMLFile


@task(
    cache=Cache(version=config.SAMPLE_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
)
def sample(space: SearchSpace, base: Hyperparameters) -> SampleOutputs:
    """The search's trials (trial i depends only on the space, the base and i) and how they are cross-validated."""
    from flyte.core.tuning.search import sample_trials

    trials = sample_trials(space, base)
    log.info("sampled %d trials (seed %d, base included: %s), %d folds", len(trials), space.seed, space.include_base, space.folds)
    return SampleOutputs(trials=trials, cv=CrossValidation(folds=space.folds, seed=space.seed))


@task(
    cache=Cache(version=config.TRIAL_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.TRIAL_TIMEOUT,
    requests=config.TRAIN.requests,
    limits=config.TRAIN.limits,
)
def cross_validate_trial(trial: Trial, train: Table, validation: Table, profile: DataProfile, cv: CrossValidation) -> TrialResult:
    """One trial's stratified k-fold cross-validation over the train and validation rows (never the test rows)."""
    from flyte.core.tuning.cross_validation import cross_validate

    use_cpus(config.TRAIN)
    result = cross_validate(local_table(train), local_table(validation), profile, trial, cv, n_threads=config.TRAIN.cpus)
    log.info("trial %d: mean CV log loss %.4f (std %.4f) over %d folds", trial.index, result.mean_log_loss, result.std_log_loss, cv.folds)
    return result


@task(
    cache=Cache(version=config.SELECT_CACHE_VERSION),
    retries=config.STAGE_RETRIES,
    timeout=config.LIGHT_TIMEOUT,
    requests=config.LIGHT.requests,
    limits=config.LIGHT.limits,
    enable_deck=True,
    deck_fields=(),  # only our page: flytekit's default ones run pip on every execution
)
def select_best(results: list[TrialResult], space: SearchSpace) -> SelectOutputs:
    """The trial with the lowest mean CV log loss (ties: lower index), the results table, and the search's Deck."""
    from flyte.core.tuning.search import best_trial
    from flyte.core.tuning.trials_report import render_trials

    best = best_trial(results)
    html = render_trials(results, best, space)
    Deck("Hyperparameter search", html)
    path = workdir("trials.html")
    with writes_to(path):
        path.write_text(html, encoding="utf-8")
    log.info("best of %d trials: %d, mean CV log loss %.4f", len(results), best.index, best.mean_log_loss)
    return SelectOutputs(best=best.hyperparameters, cv_results=sorted(results, key=lambda r: r.index), report=HTMLFile(str(path)))


def map_trials(train, validation, profile, cv) -> PerElementCachedMapTask:
    """The trial task mapped over a list of trials, the tables, profile and folds bound to every element."""
    bound = functools.partial(cross_validate_trial, train=train, validation=validation, profile=profile, cv=cv)
    return PerElementCachedMapTask(bound, concurrency=config.TRIAL_CONCURRENCY)
