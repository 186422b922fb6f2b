"""The search's tasks run by flytekit: sample, and select_best with its Deck and typed outputs."""

from __future__ import annotations

from pathlib import Path

from flytekit import current_context

from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import CrossValidation, SearchSpace, TrialResult, sample_trials
from flyte.workflows.tuning.tasks import sample, select_best


def test_sample_returns_the_trials_and_the_folds():
    space = SearchSpace(trials=4, folds=3, seed=9)
    out = sample(space=space, base=Hyperparameters(max_rounds=30))
    assert out.trials == sample_trials(space, Hyperparameters(max_rounds=30))
    assert out.cv == CrossValidation(folds=3, seed=9)


def test_select_best_returns_typed_results_and_publishes_the_deck():
    space = SearchSpace(trials=3, folds=3)
    trials = sample_trials(space, Hyperparameters())
    results = [
        TrialResult(index=t.index, hyperparameters=t.hyperparameters, mean_log_loss=loss, fold_log_loss=[loss] * 3)
        for t, loss in zip(trials, (0.52, 0.47, 0.47))
    ]
    out = select_best(results=list(reversed(results)), space=space)
    assert out.best == trials[1].hyperparameters  # the tie at 0.47 goes to the lower index
    assert [r.index for r in out.cv_results] == [0, 1, 2]  # by index, whatever order they came in
    assert "1 ★" in Path(out.report.download()).read_text()
    assert "Hyperparameter search" in [d.name for d in current_context().decks]
