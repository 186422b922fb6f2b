"""Tests for flyte.core.tuning.trials_report: the search's Deck page."""

from __future__ import annotations

import re

from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.tuning.search import TUNABLE, SearchSpace, TrialResult, best_trial, sample_trials
from flyte.core.tuning.trials_report import render_trials


def results(n=7):
    space = SearchSpace(trials=n, folds=3)
    out = []
    for trial in sample_trials(space, Hyperparameters()):
        loss = 0.5 + 0.01 * ((trial.index * 5) % n)
        out.append(TrialResult(index=trial.index, hyperparameters=trial.hyperparameters, mean_log_loss=loss,
                               std_log_loss=0.01, fold_log_loss=[loss] * 3, fold_accuracy=[0.7] * 3,
                               fold_roc_auc=[0.8] * 3, rounds=[40] * 3))  # fmt: skip
    return space, out


def test_page_has_a_chart_per_hyperparameter_and_a_row_per_trial_with_the_best_marked():
    space, trials = results()
    best = best_trial(trials)
    html = render_trials(trials, best, space)
    assert html.count("<svg") == len(TUNABLE)
    for name in TUNABLE:
        assert f'aria-label="{name}"' in html
    assert html.count("<tr") == len(trials) + 1  # header + one per trial
    assert html.count('fill="#dc2626"') == len(TUNABLE)  # the best dot, once per chart
    first_row = re.search(r"<tbody><tr[^>]*><td>([^<]*)</td>", html)[1]
    assert first_row == f"{best.index} ★"  # best first, starred
    assert "learning_rate (log scale)" in html and "max_depth (log scale)" not in html


def test_page_is_self_contained():
    space, trials = results(3)
    html = render_trials(trials, best_trial(trials), space)
    assert "<script" not in html and "http://" not in html and "https://" not in html and "@import" not in html


def test_a_fixed_dimension_and_a_single_trial_still_draw():
    space = SearchSpace(trials=1, folds=3, learning_rate={"low": 0.1, "high": 0.1})
    trial = TrialResult(index=0, hyperparameters=Hyperparameters(), mean_log_loss=0.5, fold_log_loss=[0.5])
    html = render_trials([trial], trial, space)
    assert "nan" not in html.lower() and "—" in html  # no fold accuracy given: a dash, not "nan"
    assert html.count("<circle") == len(TUNABLE)
